//! Ciphertext objects of several instances, over `object_store`: an
//! S3-compatible bucket, or a directory (fsynced writes) that several
//! instances mount. Objects are written whole (multipart, in bounded
//! memory) and become visible only when complete; they are named by
//! random [`FileName`]s under `b/` (blobs) and `p/` (parts of unfinished
//! uploads), never by an id.
//!
//! Nothing here relies on conditional writes (Garage ignores `If-Match`):
//! every object name is fresh, and the record store decides everything.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig, WriteMultipart,
};
use tokio_util::sync::CancellationToken;

use crate::body::{stream_into, Cut, Received, Sink};
use crate::config::{ObjectStorage, S3Settings};
use crate::error::ApiError;
use crate::ids::FileName;
use crate::store::StoreError;

/// Bytes per multipart part (S3's minimum is 5 MiB but for the last), and
/// parts in flight per object: memory per upload is bounded by about
/// `PART * (PARTS_IN_FLIGHT + 1)`.
const PART: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// The object store.
pub struct Objects {
    store: Arc<dyn ObjectStore>,
}

/// Any object-store failure but "not found" means the storage is
/// unreachable or refusing: the client may try again.
fn unavailable(e: object_store::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl Objects {
    /// Opens the configured storage.
    pub fn open(storage: &ObjectStorage) -> Result<Self, StoreError> {
        let store: Arc<dyn ObjectStore> = match storage {
            ObjectStorage::Dir(dir) => {
                std::fs::create_dir_all(dir)?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(dir)
                        .map_err(unavailable)?
                        .with_fsync(true),
                )
            }
            ObjectStorage::S3(s3) => {
                let bucket = s3_store(s3)?;
                match &s3.prefix {
                    Some(p) => Arc::new(PrefixStore::new(bucket, p.as_str())),
                    None => Arc::new(bucket),
                }
            }
        };
        Ok(Self { store })
    }

    /// Where a blob's ciphertext lives.
    pub fn blob(name: &FileName) -> Path {
        Path::from(format!("b/{name}"))
    }

    /// Where one part of an unfinished upload lives.
    pub fn part(name: &FileName) -> Path {
        Path::from(format!("p/{name}"))
    }

    /// Streams `body` into a new object at `path` (bytes past `limit -
    /// already` refused). The object is completed with what arrived when
    /// the body ended, or, with `keep_partial`, when it was cut short by
    /// the client; otherwise (and when nothing arrived, the store failed
    /// or the write was cancelled) nothing is left behind.
    pub async fn write(
        &self,
        path: &Path,
        body: Body,
        already: u64,
        limit: u64,
        cancel: Option<&CancellationToken>,
        keep_partial: bool,
    ) -> Result<Received, ApiError> {
        let upload = self.store.put_multipart(path).await.map_err(unavailable)?;
        let mut sink = ObjectSink(WriteMultipart::new_with_chunk_size(upload, PART));
        let received = match stream_into(body, &mut sink, already, limit, cancel).await {
            Ok(r) => r,
            Err(e) => {
                let _ = sink.0.abort().await;
                return Err(e);
            }
        };
        let keep = match received.outcome {
            Ok(()) => true,
            Err(Cut::Cancelled) => false,
            Err(Cut::Interrupted | Cut::TooLarge) => keep_partial,
        };
        if keep && received.written > 0 {
            sink.0.finish().await.map_err(unavailable)?;
        } else {
            let _ = sink.0.abort().await;
        }
        Ok(received)
    }

    /// Writes an empty object (a zero-byte blob; S3 refuses a multipart
    /// upload without parts).
    pub async fn put_empty(&self, path: &Path) -> Result<(), StoreError> {
        self.store
            .put(path, object_store::PutPayload::default())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Copies `parts` in order into one new object at `to`, streaming;
    /// returns its size.
    pub async fn concatenate(&self, parts: &[Path], to: &Path) -> Result<u64, StoreError> {
        let upload = self.store.put_multipart(to).await.map_err(unavailable)?;
        let mut out = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut size = 0u64;
        for part in parts {
            let copied = async {
                let mut stream = self.store.get(part).await?.into_stream();
                while let Some(chunk) = stream.try_next().await? {
                    out.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                    size += chunk.len() as u64;
                    out.put(chunk);
                }
                Ok::<_, object_store::Error>(())
            }
            .await;
            if let Err(e) = copied {
                let _ = out.abort().await;
                return Err(unavailable(e));
            }
        }
        out.finish().await.map_err(unavailable)?;
        Ok(size)
    }

    /// The object's bytes as a stream, once the store has answered; `None`
    /// if there is no such object.
    pub async fn read(
        &self,
        path: &Path,
    ) -> Result<Option<BoxStream<'static, std::io::Result<Bytes>>>, StoreError> {
        match self.store.get(path).await {
            Ok(got) => Ok(Some(
                got.into_stream().map_err(std::io::Error::other).boxed(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Deletes an object; one that is already gone is fine.
    pub async fn delete(&self, path: &Path) -> Result<(), StoreError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Every object older than `age` (blobs and parts), by name.
    pub async fn older_than(&self, age: Duration) -> Result<Vec<Path>, StoreError> {
        let cutoff = chrono_cutoff(age);
        self.store
            .list(None)
            .try_filter(|m| std::future::ready(m.last_modified < cutoff))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(unavailable)
    }

    /// The random name of an object at `path`, if it is one of ours.
    pub fn name_of(path: &Path) -> Option<FileName> {
        let s = path.as_ref();
        let name = s.strip_prefix("b/").or_else(|| s.strip_prefix("p/"))?;
        FileName::parse(name)
    }
}

fn chrono_cutoff(age: Duration) -> chrono::DateTime<chrono::Utc> {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    chrono::Utc::now()
        .checked_sub_signed(age)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// A multipart object fed by a body, with at most [`PARTS_IN_FLIGHT`]
/// parts uploading at once.
struct ObjectSink(WriteMultipart);

impl Sink for ObjectSink {
    async fn put(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        self.0
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(unavailable)?;
        self.0.put(chunk);
        Ok(())
    }
    async fn flush(&mut self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// An S3 client: credentials from `AWS_*` variables, short timeouts and
/// few retries so an unreachable store answers `503` in seconds, not
/// minutes.
fn s3_store(s3: &S3Settings) -> Result<object_store::aws::AmazonS3, StoreError> {
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
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(300))
                .with_allow_http(
                    s3.endpoint
                        .as_deref()
                        .is_some_and(|e| e.starts_with("http://")),
                ),
        );
    if let Some(r) = &s3.region {
        b = b.with_region(r);
    }
    if let Some(e) = &s3.endpoint {
        b = b.with_endpoint(e);
    }
    let store = b.build().map_err(unavailable)?;
    Ok(store)
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({})", self.store)
    }
}
