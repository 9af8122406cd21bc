//! The one face handlers see of the two storage engines: [`Store`] (sled
//! and local files, one instance, the default) and [`Shared`] (PostgreSQL
//! and an object store, several instances). Both keep the same promises
//! (docs/API.md, "Storage"); what differs is where "now" comes from: the
//! server's clock for the local engine, the database's for the shared one,
//! so instances agree on expiry.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use axum::body::Body;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::blocking::blocking;
use crate::body::{stream_to_file, Cut, TempGuard};
use crate::error::ApiError;
use crate::ids::{Digest32, Slot};
use crate::record::{BlobRecord, UploadRecord};
use crate::shared::Shared;
use crate::store::{Claim, Store};

mod moderation;

/// Where blobs and records live.
#[derive(Clone)]
pub enum Engine {
    /// sled + files in the data directory.
    Local(Arc<Store>),
    /// PostgreSQL + an object store.
    Shared(Arc<Shared>),
}

impl From<Store> for Engine {
    fn from(s: Store) -> Self {
        Self::Local(Arc::new(s))
    }
}

impl From<Shared> for Engine {
    fn from(s: Shared) -> Self {
        Self::Shared(Arc::new(s))
    }
}

/// A new blob's retention, before its size and file are known.
pub struct NewBlob {
    /// Seconds it lives from now.
    pub expires_in: u64,
    /// Download limit (0 = unlimited).
    pub max_downloads: u32,
    /// SHA-256 of its deletion token.
    pub delete_hash: Digest32,
    /// SHA-256 of its download proof, if any.
    pub proof_hash: Option<Digest32>,
}

/// The outcome of a download attempt.
pub enum Download {
    /// Unknown, expired, exhausted or deleted: all the same from outside.
    Gone,
    /// The blob needs a proof and none, or the wrong one, was given.
    WrongProof,
    /// Counted: send `body`.
    Granted {
        /// The record as claimed.
        record: BlobRecord,
        /// The ciphertext (holding off its erasure until dropped).
        body: Body,
    },
}

/// What one PATCH wrote and recorded.
pub struct Written {
    /// The upload with its new offset.
    pub record: UploadRecord,
    /// `Err`: the body stopped short (what arrived is recorded).
    pub outcome: Result<(), Cut>,
    /// The upload became a blob with this expiry (the shared engine
    /// records the last bytes and the blob in one statement).
    pub finished: Option<u64>,
}

/// Bytes read from disk per chunk of a streamed download: a trade between
/// single-stream speed and the memory of many downloads at once. Measured
/// on the 2-core test machine (1 GiB loopback GET, five runs; peak RSS of
/// 64 concurrent 100 MiB downloads after 64 uploads, `bench/server.sh`):
/// 128 KiB 0.77–0.88 s, 59.9 MB; 192 KiB 0.67–0.82 s, 59.4 MB; 256 KiB
/// 0.54–0.64 s, 63.2–66.9 MB (over the 64 MiB goal in one run of three).
const DOWNLOAD_CHUNK: usize = 192 * 1024;

/// Blobs up to this size are read into memory in one go (see
/// [`Engine::claim`]); at the connection cap that bounds such buffers to 64 MiB.
const SMALL_BLOB: u64 = 64 * 1024;

impl Engine {
    /// Stores a one-request upload's body (at most `limit` bytes) as a new
    /// blob at `slot`; returns its expiry and size.
    pub async fn put_blob(
        &self,
        slot: Slot,
        body: Body,
        limit: u64,
        new: NewBlob,
        now: u64,
    ) -> Result<(u64, u64), ApiError> {
        match self {
            Self::Local(store) => {
                let (file, tmp) = store.new_temp()?;
                // Removes the partial file if this future is dropped (client
                // gone); failures below remove it before answering.
                let mut guard = TempGuard::new(tmp.clone());
                let received = receive(&tmp, body, limit).await;
                guard.disarm();
                let size = match received {
                    Ok(size) => size,
                    Err(e) => {
                        let _ = tokio::fs::remove_file(&tmp).await;
                        return Err(e);
                    }
                };
                let record = BlobRecord {
                    size,
                    expires_at: now.saturating_add(new.expires_in),
                    max_downloads: new.max_downloads,
                    downloads: 0,
                    delete_hash: new.delete_hash,
                    proof_hash: new.proof_hash,
                    file,
                };
                blocking(store, move |s| s.commit(&slot, &tmp, &record)).await?;
                Ok((record.expires_at, size))
            }
            Self::Shared(shared) => shared.put_blob(&slot, body, limit, &new).await,
        }
    }

    /// The record of a live blob, consuming nothing.
    pub async fn peek(&self, slot: Slot, now: u64) -> Result<Option<BlobRecord>, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.peek(&slot, now)).await,
            Self::Shared(shared) => shared.peek(&slot).await,
        }
    }

    /// A live blob's head (header and sealed metadata, docs/API.md
    /// "GET …/head") if the proof matches; consumes nothing.
    pub async fn look(
        &self,
        slot: Slot,
        now: u64,
        proof: Option<Digest32>,
    ) -> Result<Download, ApiError> {
        let store = match self {
            Self::Local(store) => store,
            Self::Shared(shared) => return shared.look(&slot, proof).await,
        };
        blocking(store, move |s| {
            Ok(match s.open_live(&slot, now, proof)? {
                Claim::Gone => Ok(Download::Gone),
                Claim::WrongProof => Ok(Download::WrongProof),
                Claim::Granted {
                    record,
                    file,
                    reading,
                } => read_head(file, record, reading),
            })
        })
        .await?
    }

    /// Claims one download (of `range` of the blob, if given); nothing is
    /// consumed unless `Granted`.
    pub async fn claim(
        &self,
        slot: Slot,
        now: u64,
        proof: Option<Digest32>,
        range: Option<Range<u64>>,
    ) -> Result<Download, ApiError> {
        let store = match self {
            Self::Local(store) => store,
            Self::Shared(shared) => return shared.claim(&slot, proof, range).await,
        };
        blocking(store, move |s| {
            Ok(match s.claim(&slot, now, proof)? {
                Claim::Gone => Download::Gone,
                Claim::WrongProof => Download::WrongProof,
                Claim::Granted {
                    record,
                    mut file,
                    reading,
                } => {
                    let range = range.unwrap_or(0..record.size);
                    let len = range.end.saturating_sub(range.start);
                    if range.start > 0 {
                        file.seek(SeekFrom::Start(range.start))?;
                    }
                    // Small blobs are read in the same trip to the blocking
                    // pool: one hop per request instead of three (a 1 KiB
                    // GET is mostly overhead).
                    if len <= SMALL_BLOB {
                        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                        file.take(len).read_to_end(&mut bytes)?;
                        Download::Granted {
                            record,
                            body: Body::from(bytes),
                        }
                    } else {
                        let file = tokio::fs::File::from_std(file).take(len);
                        let stream =
                            tokio_util::io::ReaderStream::with_capacity(file, DOWNLOAD_CHUNK).map(
                                move |chunk| {
                                    let _keep = &reading; // dropped with the body: then the file may be erased
                                    chunk
                                },
                            );
                        Download::Granted {
                            record,
                            body: Body::from_stream(stream),
                        }
                    }
                }
            })
        })
        .await
    }

    /// Deletes a blob if `token` is the hash of its deletion token.
    pub async fn delete(&self, slot: Slot, token: Digest32) -> Result<bool, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.delete(&slot, token)).await,
            Self::Shared(shared) => shared.delete(&slot, token).await,
        }
    }

    /// Registers a new upload (`rec.upload_expires_at` is set here);
    /// returns it as stored.
    pub async fn create_upload(
        &self,
        slot: Slot,
        mut rec: UploadRecord,
        upload_expiry: u64,
        now: u64,
    ) -> Result<UploadRecord, ApiError> {
        match self {
            Self::Local(store) => {
                rec.upload_expires_at = now.saturating_add(upload_expiry);
                blocking(store, move |s| s.create_upload(&slot, &rec)).await?;
                Ok(rec)
            }
            Self::Shared(shared) => shared.create_upload(&slot, &rec, upload_expiry).await,
        }
    }

    /// An unfinished, unexpired upload.
    pub async fn upload(&self, slot: Slot, now: u64) -> Result<Option<UploadRecord>, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.upload(&slot, now)).await,
            Self::Shared(shared) => shared.upload(&slot).await,
        }
    }

    /// Appends a PATCH body at `rec.offset` and records the new offset
    /// (only if the upload is still `rec`). `404` if the upload was
    /// removed or `cancel` fired; `409` if another instance moved it.
    pub async fn write(
        &self,
        slot: Slot,
        rec: UploadRecord,
        body: Body,
        cancel: &CancellationToken,
    ) -> Result<Written, ApiError> {
        let store = match self {
            Self::Local(store) => store,
            Self::Shared(shared) => return shared.write(&slot, rec, body, cancel).await,
        };
        let file = blocking(store, move |s| s.open_upload(&rec)).await?;
        let mut file = tokio::fs::File::from_std(file);
        let received =
            stream_to_file(body, &mut file, rec.offset, rec.length, Some(cancel)).await?;
        if received.outcome == Err(Cut::Cancelled) {
            return Err(ApiError::NotFound);
        }
        // Make what did arrive durable before recording it. The offset is
        // what this PATCH wrote, not the file's length.
        file.sync_all().await?;
        drop(file);
        let mut next = rec;
        next.offset = rec.offset.saturating_add(received.written).min(rec.length);
        if cancel.is_cancelled()
            || !blocking(store, move |s| s.set_upload_offset(&slot, &rec, &next)).await?
        {
            return Err(ApiError::NotFound);
        }
        Ok(Written {
            record: next,
            outcome: received.outcome,
            finished: None,
        })
    }

    /// Turns a complete upload into a blob; its expiry, or `None` if the
    /// upload was removed meanwhile.
    pub async fn finish(
        &self,
        slot: Slot,
        rec: UploadRecord,
        now: u64,
    ) -> Result<Option<u64>, ApiError> {
        match self {
            Self::Local(store) => {
                let blob = BlobRecord {
                    size: rec.length,
                    expires_at: now.saturating_add(rec.expires_in),
                    max_downloads: rec.max_downloads,
                    downloads: 0,
                    delete_hash: rec.delete_hash,
                    proof_hash: rec.proof_hash,
                    file: rec.file,
                };
                let done = blocking(store, move |s| s.finish_upload(&slot, &rec, &blob)).await?;
                Ok(done.then_some(blob.expires_at))
            }
            Self::Shared(shared) => shared.finish(&slot, &rec).await,
        }
    }

    /// Whether `slot` is an unfinished upload whose deletion token hashes to `token`.
    pub async fn upload_token_matches(
        &self,
        slot: Slot,
        token: Digest32,
    ) -> Result<bool, ApiError> {
        match self {
            Self::Local(store) => {
                blocking(store, move |s| s.upload_token_matches(&slot, token)).await
            }
            Self::Shared(shared) => shared.upload_token_matches(&slot, token).await,
        }
    }

    /// Terminates an upload; with `token`, only if it matches.
    pub async fn delete_upload(
        &self,
        slot: Slot,
        token: Option<Digest32>,
    ) -> Result<bool, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.delete_upload(&slot, token)).await,
            Self::Shared(shared) => shared.delete_upload(&slot, token).await,
        }
    }

    /// Removes what has expired; how many.
    pub async fn sweep(&self, now: u64) -> Result<usize, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.sweep(now)).await,
            Self::Shared(shared) => Ok(shared.sweep().await?),
        }
    }

    /// The key that signs upload challenges: the same for every instance
    /// of the shared engine (kept in its records), fresh for the local one.
    pub async fn work_key(&self) -> Result<[u8; 32], ApiError> {
        match self {
            Self::Local(_) => {
                let mut k = [0u8; 32];
                crate::ids::random(&mut k)?;
                Ok(k)
            }
            Self::Shared(shared) => shared.work_key().await,
        }
    }

    /// At shutdown: compacts and flushes the local database (the shared
    /// engine has nothing to flush: every statement is committed).
    pub async fn flush(&self) -> Result<(), ApiError> {
        match self {
            Self::Local(store) => blocking(store, Store::flush).await,
            Self::Shared(_) => Ok(()),
        }
    }
}

/// Streams a one-request upload's body into `tmp` and makes it durable.
async fn receive(tmp: &std::path::Path, body: Body, limit: u64) -> Result<u64, ApiError> {
    let mut file = tokio::fs::File::create(tmp).await?;
    let received = stream_to_file(body, &mut file, 0, limit, None).await?;
    received.outcome?;
    file.sync_all().await?;
    Ok(received.written)
}

/// The length of a blob's head from its first bytes, within its `size`
/// (docs/API.md, "GET …/head"): only the header's fields are read.
pub(crate) fn head_len(first: &[u8], size: u64) -> Result<u64, ApiError> {
    veil_core::format::head_len(first)
        .filter(|&len| len <= size)
        .ok_or(ApiError::NotAContainer)
}

/// A local blob's head: the fixed header is read here, the metadata it
/// announces (up to 16 MiB) is streamed, never held whole.
fn read_head(
    mut file: std::fs::File,
    record: BlobRecord,
    reading: crate::erasure::ReadGuard,
) -> Result<Download, ApiError> {
    let mut first = vec![0u8; veil_core::HEADER_LEN];
    if record.size < first.len() as u64 {
        return Err(ApiError::NotAContainer);
    }
    file.read_exact(&mut first)?;
    let rest = head_len(&first, record.size)?.saturating_sub(first.len() as u64);
    let file = tokio::fs::File::from_std(file).take(rest);
    let tail =
        tokio_util::io::ReaderStream::with_capacity(file, DOWNLOAD_CHUNK).map(move |chunk| {
            let _keep = &reading; // dropped with the body: then the file may be erased
            chunk
        });
    let head = futures_util::stream::once(async move { Ok(bytes::Bytes::from(first)) }).chain(tail);
    Ok(Download::Granted {
        record,
        body: Body::from_stream(head),
    })
}
