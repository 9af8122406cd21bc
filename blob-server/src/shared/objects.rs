//! Ciphertext objects of several instances, over `object_store`: an
//! S3-compatible bucket, or a directory (fsynced writes) that several
//! instances mount. Objects are written whole (multipart, in bounded
//! memory) and become visible only when complete; they are named by
//! random [`FileName`]s under `b/` (blobs) and `p/` (parts of unfinished
//! uploads), never by an id.
//!
//! Nothing here relies on conditional writes (Garage ignores `If-Match`):
//! every object name is fresh, and the record store decides everything.
//!
//! Every call is bounded in time (a hung store is "unavailable", not a
//! hang), except the body of a download, which only has to keep moving.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutPayload, RetryConfig,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::body::{stream_into, Cut, Received, Sink};
use crate::config::{ObjectStorage, S3Settings};
use crate::error::ApiError;
use crate::ids::FileName;
use crate::store::StoreError;

/// Bytes per multipart part (S3's minimum but for the last one). A body
/// is spooled to an unlinked file in `DATA/spool` until a part is full, so
/// a slow upload holds a file, not memory; a part is in memory only while
/// it is sent, at most [`PARTS_IN_FLIGHT`] per upload and
/// [`PARTS_AT_ONCE`] per instance (about 160 MiB in all).
const PART: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;
const PARTS_AT_ONCE: usize = 32;
/// How long a full part may wait for its turn before the upload is `503`.
const PART_WAIT: Duration = Duration::from_secs(60);
/// A call that does not answer in this time is "unavailable".
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// One part (5 MiB) may take this long to upload (0.7 Mbit/s).
const PART_TIMEOUT: Duration = Duration::from_secs(60);
/// Completing a multipart upload makes the store assemble the object,
/// which takes time with its size (moto: about 15 s per GiB; AWS answers
/// large ones slowly too).
const COMPLETE_TIMEOUT: Duration = Duration::from_secs(300);
/// A read whose store sends nothing for this long is cut.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The object naming the store a deployment's records belong to.
const MARKER: &str = "veil-store-id";

/// The object store.
pub struct Objects {
    /// Reads, lists, deletes: a client that gives up after
    /// [`READ_TIMEOUT`] without a response.
    store: Arc<dyn ObjectStore>,
    /// Multipart writes: no client-side read timeout (completing a large
    /// object takes the store a while); each call has its own deadline.
    writes: Arc<dyn ObjectStore>,
    parts: Arc<Semaphore>,
    spool: std::path::PathBuf,
}

/// An object-store failure, for the log: without URLs (they name objects
/// and buckets). Any failure but "not found" means the storage is
/// unreachable or refusing: the client may try again.
fn unavailable(e: &object_store::Error) -> StoreError {
    StoreError::Unavailable(without_urls(&e.to_string()))
}

fn without_urls(s: &str) -> String {
    s.split(' ')
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a store call with a deadline.
async fn timed<T>(
    limit: Duration,
    call: impl Future<Output = object_store::Result<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, call).await {
        Ok(r) => r.map_err(|e| unavailable(&e)),
        Err(_) => Err(StoreError::Unavailable(
            "the object store did not answer in time".into(),
        )),
    }
}

impl Objects {
    /// Opens the configured storage; bodies are spooled under `spool`
    /// (emptied here: what a crash left is of no use).
    pub fn open(storage: &ObjectStorage, spool: &std::path::Path) -> Result<Self, StoreError> {
        let (store, writes): (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>) = match storage {
            ObjectStorage::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                let local: Arc<dyn ObjectStore> = Arc::new(
                    LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| unavailable(&e))?
                        .with_fsync(true),
                );
                (local.clone(), local)
            }
            ObjectStorage::S3(s3) => (
                with_prefix(s3_store(s3, Some(READ_TIMEOUT))?, s3.prefix.as_deref()),
                with_prefix(s3_store(s3, None)?, s3.prefix.as_deref()),
            ),
        };
        if spool.exists() {
            std::fs::remove_dir_all(spool)?;
        }
        std::fs::create_dir_all(spool)?;
        Ok(Self {
            store,
            writes,
            parts: Arc::new(Semaphore::new(PARTS_AT_ONCE)),
            spool: spool.to_owned(),
        })
    }

    /// Where a blob's ciphertext lives.
    pub fn blob(name: &FileName) -> Path {
        Path::from(format!("b/{name}"))
    }

    /// Where one part of an unfinished upload lives.
    pub fn part(name: &FileName) -> Path {
        Path::from(format!("p/{name}"))
    }

    /// The random name of an object at `path`, if it is one of ours.
    pub fn name_of(path: &Path) -> Option<FileName> {
        let s = path.as_ref();
        let name = s.strip_prefix("b/").or_else(|| s.strip_prefix("p/"))?;
        FileName::parse(name)
    }

    /// Streams `body` into a new object at `path` (bytes past `limit -
    /// already` refused). The object is completed with what arrived when
    /// the body ended, or, with `keep_partial`, when it was cut short by
    /// the client; otherwise (and when nothing arrived, the store failed
    /// or the write was cancelled) nothing is left behind (an upload the
    /// process dies in the middle of is the bucket's lifecycle rule's).
    pub async fn write(
        &self,
        path: &Path,
        body: Body,
        already: u64,
        limit: u64,
        cancel: Option<&CancellationToken>,
        keep_partial: bool,
    ) -> Result<Received, ApiError> {
        let mut sink = self.writer(path).await?;
        let received = match stream_into(body, &mut sink, already, limit, cancel).await {
            Ok(r) => r,
            Err(e) => {
                sink.abort();
                return Err(e);
            }
        };
        let keep = match received.outcome {
            Ok(()) => true,
            Err(Cut::Cancelled) => false,
            Err(Cut::Interrupted | Cut::TooLarge) => keep_partial,
        };
        if keep && received.written > 0 {
            sink.finish().await?;
        } else {
            sink.abort();
        }
        Ok(received)
    }

    /// A multipart writer for `path`, spooling to a fresh unlinked file.
    async fn writer(&self, path: &Path) -> Result<PartWriter, StoreError> {
        let spool_path = self.spool.join(FileName::generate()?.to_string());
        let spool = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&spool_path)
            .await?;
        tokio::fs::remove_file(&spool_path).await?;
        let upload = timed(CALL_TIMEOUT, self.writes.put_multipart(path)).await?;
        Ok(PartWriter {
            upload: Some(upload),
            spool,
            spooled: 0,
            tasks: JoinSet::new(),
            parts: self.parts.clone(),
        })
    }

    /// Writes an empty object (a zero-byte blob; S3 refuses a multipart
    /// upload without parts).
    pub async fn put_empty(&self, path: &Path) -> Result<(), StoreError> {
        timed(CALL_TIMEOUT, self.writes.put(path, PutPayload::default())).await?;
        Ok(())
    }

    /// Copies `parts` in order into one new object at `to`, streaming;
    /// returns its size.
    pub async fn concatenate(&self, parts: &[Path], to: &Path) -> Result<u64, StoreError> {
        let mut out = self.writer(to).await?;
        let mut size = 0u64;
        for part in parts {
            let copied = async {
                let Some(mut stream) = self.read(part, None).await? else {
                    return Err(StoreError::Unavailable("a recorded part is missing".into()));
                };
                while let Some(chunk) = stream
                    .try_next()
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("reading a part: {e}")))?
                {
                    size += chunk.len() as u64;
                    out.add(&chunk).await?;
                }
                Ok(())
            }
            .await;
            if let Err(e) = copied {
                out.abort();
                return Err(e);
            }
        }
        out.finish().await?;
        Ok(size)
    }

    /// The object's bytes (or `range` of them) as a stream, once the store
    /// has answered; `None` if there is no such object.
    pub async fn read(
        &self,
        path: &Path,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Option<BoxStream<'static, std::io::Result<Bytes>>>, StoreError> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        match tokio::time::timeout(CALL_TIMEOUT, self.store.get_opts(path, opts)).await {
            Ok(Ok(got)) => {
                let stream = got
                    .into_stream()
                    .map_err(|e| std::io::Error::other(without_urls(&e.to_string())));
                // Each chunk within READ_TIMEOUT (a hung NFS mount, too).
                let stream = futures_util::stream::unfold(stream.boxed(), |mut s| async move {
                    match tokio::time::timeout(READ_TIMEOUT, s.next()).await {
                        Ok(Some(item)) => Some((item, s)),
                        Ok(None) => None,
                        Err(_) => Some((
                            Err(std::io::Error::other("the object store stopped sending")),
                            futures_util::stream::empty().boxed(),
                        )),
                    }
                });
                Ok(Some(stream.boxed()))
            }
            Ok(Err(object_store::Error::NotFound { .. })) => Ok(None),
            Ok(Err(e)) => Err(unavailable(&e)),
            Err(_) => Err(StoreError::Unavailable(
                "the object store did not answer in time".into(),
            )),
        }
    }

    /// Deletes an object; one that is already gone is fine.
    pub async fn delete(&self, path: &Path) -> Result<(), StoreError> {
        match tokio::time::timeout(CALL_TIMEOUT, self.store.delete(path)).await {
            Ok(Ok(()) | Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(e)) => Err(unavailable(&e)),
            Err(_) => Err(StoreError::Unavailable(
                "the object store did not answer in time".into(),
            )),
        }
    }

    /// Every blob and part object, as a stream (the orphan scan reads it
    /// in batches); nothing else in the store is listed.
    pub fn list(&self) -> BoxStream<'static, Result<ObjectMeta, StoreError>> {
        let blobs = self.store.list(Some(&Path::from("b")));
        let parts = self.store.list(Some(&Path::from("p")));
        blobs.chain(parts).map_err(|e| unavailable(&e)).boxed()
    }

    /// The store id written in this store, if any.
    pub async fn marker(&self) -> Result<Option<String>, StoreError> {
        let path = Path::from(MARKER);
        let got = match tokio::time::timeout(CALL_TIMEOUT, self.store.get(&path)).await {
            Ok(Ok(got)) => got,
            Ok(Err(object_store::Error::NotFound { .. })) => return Ok(None),
            Ok(Err(e)) => return Err(unavailable(&e)),
            Err(_) => {
                return Err(StoreError::Unavailable(
                    "the object store did not answer in time".into(),
                ))
            }
        };
        let bytes = timed(CALL_TIMEOUT, got.bytes()).await?;
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Writes the store id.
    pub async fn put_marker(&self, id: &str) -> Result<(), StoreError> {
        let payload = PutPayload::from(Bytes::copy_from_slice(id.as_bytes()));
        timed(CALL_TIMEOUT, self.writes.put(&Path::from(MARKER), payload)).await?;
        Ok(())
    }
}

/// A multipart object being written: chunks go to the spool file until a
/// part is full; the part is then read back and sent in the background
/// (its memory held only while it is sent). Dropped unfinished (a request
/// cancelled), it aborts the upload.
struct PartWriter {
    upload: Option<Box<dyn MultipartUpload>>,
    spool: tokio::fs::File,
    spooled: usize,
    tasks: JoinSet<object_store::Result<()>>,
    parts: Arc<Semaphore>,
}

impl PartWriter {
    async fn add(&mut self, mut bytes: &[u8]) -> Result<(), StoreError> {
        while !bytes.is_empty() {
            let room = PART.saturating_sub(self.spooled);
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.spool.write_all(now).await?;
            self.spooled += now.len();
            bytes = rest;
            if self.spooled >= PART {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Sends the spooled bytes as the next part, once this upload has room
    /// and the instance a turn.
    async fn send_part(&mut self) -> Result<(), StoreError> {
        self.wait_until_in_flight(PARTS_IN_FLIGHT - 1).await?;
        let turn = tokio::time::timeout(PART_WAIT, self.parts.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("too many parts waiting to be sent".into()))?
            .map_err(|_| StoreError::Unavailable("the part queue is closed".into()))?;
        let mut part = BytesMut::zeroed(self.spooled);
        self.spool.seek(std::io::SeekFrom::Start(0)).await?;
        self.spool.read_exact(&mut part).await?;
        self.spool.set_len(0).await?;
        self.spool.seek(std::io::SeekFrom::Start(0)).await?;
        self.spooled = 0;
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("the upload was aborted".into()))?;
        let put = upload.put_part(PutPayload::from(part.freeze()));
        self.tasks.spawn(async move {
            let _turn = turn;
            tokio::time::timeout(PART_TIMEOUT, put)
                .await
                .unwrap_or_else(|_| {
                    Err(object_store::Error::Generic {
                        store: "veil",
                        source: "a part did not upload in time".into(),
                    })
                })
        });
        Ok(())
    }

    async fn wait_until_in_flight(&mut self, most: usize) -> Result<(), StoreError> {
        while self.tasks.len() > most {
            match self.tasks.join_next().await {
                Some(Ok(Ok(()))) | None => {}
                Some(Ok(Err(e))) => return Err(unavailable(&e)),
                Some(Err(e)) => return Err(StoreError::Unavailable(e.to_string())),
            }
        }
        Ok(())
    }

    /// Uploads the last part and completes the object (or aborts it).
    async fn finish(mut self) -> Result<(), StoreError> {
        let done = async {
            if self.spooled > 0 {
                self.send_part().await?;
            }
            self.wait_until_in_flight(0).await?;
            let upload = self
                .upload
                .as_mut()
                .ok_or_else(|| StoreError::Unavailable("the upload was aborted".into()))?;
            timed(COMPLETE_TIMEOUT, upload.complete()).await?;
            self.upload = None;
            Ok(())
        }
        .await;
        if done.is_err() {
            self.abort();
        }
        done
    }

    /// Abandons the object: nothing becomes visible. The store is told in
    /// the background (an answer never waits on it).
    fn abort(&mut self) {
        self.tasks.abort_all();
        if let Some(mut upload) = self.upload.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    if let Err(e) = timed(CALL_TIMEOUT, upload.abort()).await {
                        tracing::warn!(error = %e, "aborting a multipart upload failed; the bucket's lifecycle rule removes it");
                    }
                });
            }
        }
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        self.abort();
    }
}

impl Sink for PartWriter {
    async fn put(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        Ok(self.add(&chunk).await?)
    }
    async fn flush(&mut self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// `store` under `prefix`, if any.
fn with_prefix(store: object_store::aws::AmazonS3, prefix: Option<&str>) -> Arc<dyn ObjectStore> {
    match prefix {
        Some(p) => Arc::new(PrefixStore::new(store, p)),
        None => Arc::new(store),
    }
}

/// An S3 client: credentials from `AWS_*` variables; connections give up
/// after 5 s, two quick retries, so an unreachable store answers `503` in
/// seconds; with `read_timeout`, a response must begin within it.
fn s3_store(
    s3: &S3Settings,
    read_timeout: Option<Duration>,
) -> Result<object_store::aws::AmazonS3, StoreError> {
    let mut client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout_disabled()
        .with_allow_http(
            s3.endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://")),
        );
    client = match read_timeout {
        Some(t) => client.with_read_timeout(t),
        None => client.with_read_timeout_disabled(),
    };
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&s3.bucket)
        .with_virtual_hosted_style_request(!s3.path_style)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        })
        .with_client_options(client);
    if let Some(r) = &s3.region {
        b = b.with_region(r);
    }
    if let Some(e) = &s3.endpoint {
        b = b.with_endpoint(e);
    }
    b.build().map_err(|e| unavailable(&e))
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({})", self.store)
    }
}
