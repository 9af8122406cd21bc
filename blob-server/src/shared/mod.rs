//! The engine of several identical instances: records in PostgreSQL
//! ([`pg`], the one authority), ciphertext in an object store
//! ([`objects`], S3-compatible or a shared directory). Blob first, record
//! second: an object becomes reachable only when a record naming it is
//! committed, and a record is removed (made a tombstone) before its
//! objects are erased, so no instance ever serves a partial or removed
//! blob. Lanes ([`crate::lanes`]) still order PATCHes within an instance;
//! across instances the record's offset decides (`409` for the loser).

pub mod objects;
pub mod pg;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use self::objects::Objects;
use self::pg::{Claimed, Recorded, Records, Removed};
use crate::body::{Cut, Received};
use crate::config::SharedStorage;
use crate::engine::{Download, NewBlob, Written};
use crate::error::ApiError;
use crate::ids::{Digest32, FileName, Slot};
use crate::record::UploadRecord;
use crate::store::StoreError;

/// A tombstone whose objects are still there this long after its removal
/// is purged by any instance's sweeper (the remover crashed, or is still
/// serving the last download: S3, Garage and MinIO finish a GET that began
/// before the deletion).
const PURGE_GRACE: u64 = 3600;
/// An object this old that no record names is left over from a crash
/// between writing it and recording it: erased.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);
/// The orphan scan lists the whole bucket: once every this many sweeps
/// (and at the first).
const ORPHAN_SCAN_EVERY: u64 = 60;
/// Rows each sweep statement handles at most.
const SWEEP_BATCH: i64 = 500;

/// Records and objects.
pub struct Shared {
    records: Records,
    objects: Objects,
    sweeps: AtomicU64,
}

impl Shared {
    /// Connects to both (and migrates the schema).
    pub async fn open(cfg: &SharedStorage, tombstone_for: u64) -> Result<Self, StoreError> {
        let objects = Objects::open(&cfg.objects)?;
        let records = Records::connect(&cfg.postgres, tombstone_for).await?;
        Ok(Self {
            records,
            objects,
            sweeps: AtomicU64::new(0),
        })
    }

    /// A one-request upload: the object, then its record.
    pub async fn put_blob(
        &self,
        slot: &Slot,
        body: Body,
        limit: u64,
        new: &NewBlob,
    ) -> Result<u64, ApiError> {
        let name = FileName::generate()?;
        let path = Objects::blob(&name);
        let received = self
            .objects
            .write(&path, body, 0, limit, None, false)
            .await?;
        received.outcome?;
        if received.written == 0 {
            self.objects.put_empty(&path).await?;
        }
        let recorded = self
            .records
            .insert_blob(slot, new, received.written, name)
            .await;
        match recorded {
            Ok(Some(expires_at)) => Ok(expires_at),
            other => {
                self.objects.delete(&path).await?;
                match other {
                    Err(e) => Err(e.into()),
                    _ => Err(ApiError::Internal("a fresh blob id was taken".into())),
                }
            }
        }
    }

    /// The record of a live blob, consuming nothing.
    pub async fn peek(&self, slot: &Slot) -> Result<Option<crate::record::BlobRecord>, ApiError> {
        Ok(self.records.live(slot).await?)
    }

    /// Checks the proof, opens the object, then counts the download in one
    /// statement; the last permitted download erases the object when its
    /// transfer ends.
    pub async fn claim(
        self: &Arc<Self>,
        slot: &Slot,
        proof: Option<Digest32>,
    ) -> Result<Download, ApiError> {
        let Some(rec) = self.records.live(slot).await? else {
            return Ok(Download::Gone);
        };
        if let Some(want) = rec.proof_hash {
            // Digest32 compares in constant time.
            if proof != Some(want) {
                return Ok(Download::WrongProof);
            }
        }
        let Some(stream) = self.objects.read(&Objects::blob(&rec.file)).await? else {
            // A record whose object is missing is a tombstone from now on.
            if let Some(r) = self.records.remove_blob(slot, None).await? {
                self.purge_logged(&r).await;
            }
            return Ok(Download::Gone);
        };
        if rec.max_downloads == 0 {
            return Ok(Download::Granted {
                record: rec,
                body: Body::from_stream(stream),
            });
        }
        let (record, last) = match self.records.claim(slot, rec.proof_hash).await? {
            Claimed::Gone => return Ok(Download::Gone),
            Claimed::Granted(record, last) => (record, last),
        };
        let purge = last.then(|| PurgeOnDrop {
            shared: self.clone(),
            removed: Some(Removed {
                slot: *slot,
                object: record.file,
            }),
        });
        let body = Body::from_stream(stream.map(move |chunk| {
            let _keep = &purge; // dropped with the body: then the object goes
            chunk
        }));
        Ok(Download::Granted { record, body })
    }

    /// Deletes a live blob if `token` is its deletion token hash.
    pub async fn delete(&self, slot: &Slot, token: Digest32) -> Result<bool, ApiError> {
        if self.records.delete_hash(slot, false).await? != Some(token) {
            return Ok(false);
        }
        let Some(r) = self.records.remove_blob(slot, Some(token)).await? else {
            return Ok(false);
        };
        self.purge_logged(&r).await;
        Ok(true)
    }

    /// Erases a removed row's objects (its parts, its blob), then marks it
    /// purged.
    async fn purge(&self, r: &Removed) -> Result<(), StoreError> {
        for (_, part) in self.records.parts(&r.slot).await? {
            self.objects.delete(&Objects::part(&part)).await?;
        }
        self.objects.delete(&Objects::blob(&r.object)).await?;
        self.records.purged(&r.slot).await
    }

    /// [`Self::purge`]; a failure leaves the tombstone to a later sweep.
    async fn purge_logged(&self, r: &Removed) {
        if let Err(e) = self.purge(r).await {
            tracing::warn!(error = %e, "erasing a removed blob's objects failed; a later sweep retries");
        }
    }

    // ---- tus uploads ----

    /// Registers an upload; returns it as stored (expiry by the database's clock).
    pub async fn create_upload(
        &self,
        slot: &Slot,
        rec: &UploadRecord,
        upload_expiry: u64,
    ) -> Result<UploadRecord, ApiError> {
        Ok(self.records.insert_upload(slot, rec, upload_expiry).await?)
    }

    /// An unfinished, unexpired upload.
    pub async fn upload(&self, slot: &Slot) -> Result<Option<UploadRecord>, ApiError> {
        Ok(self.records.upload(slot).await?)
    }

    /// Writes a PATCH body as a new part object and records it: `404` if
    /// the upload went away, `409` if another instance's PATCH moved the
    /// offset first (its part stands; ours is erased).
    pub async fn write(
        &self,
        slot: &Slot,
        rec: UploadRecord,
        body: Body,
        cancel: &CancellationToken,
    ) -> Result<Written, ApiError> {
        let part = FileName::generate()?;
        let path = Objects::part(&part);
        let Received { written, outcome } = self
            .objects
            .write(&path, body, rec.offset, rec.length, Some(cancel), true)
            .await?;
        if outcome == Err(Cut::Cancelled) {
            return Err(ApiError::NotFound);
        }
        if written == 0 {
            return Ok(Written {
                record: rec,
                outcome,
            });
        }
        let mut next = rec;
        next.offset = rec.offset.saturating_add(written).min(rec.length);
        let recorded = if cancel.is_cancelled() {
            Ok(Recorded::Gone)
        } else {
            self.records
                .record_part(slot, rec.offset, next.offset, part)
                .await
        };
        match recorded {
            Ok(Recorded::Done) => Ok(Written {
                record: next,
                outcome,
            }),
            other => {
                self.objects.delete(&path).await?;
                match other? {
                    Recorded::Moved => Err(ApiError::Conflict),
                    _ => Err(ApiError::NotFound),
                }
            }
        }
    }

    /// Joins a complete upload's parts into its blob object, then makes
    /// the record live. `None`: the upload was removed meanwhile.
    pub async fn finish(&self, slot: &Slot, rec: &UploadRecord) -> Result<Option<u64>, ApiError> {
        let parts = self.records.parts(slot).await?;
        let to = Objects::blob(&rec.file);
        let paths: Vec<_> = parts.iter().map(|(_, p)| Objects::part(p)).collect();
        let joined = if paths.is_empty() {
            self.objects.put_empty(&to).await.map(|()| 0)
        } else {
            self.objects.concatenate(&paths, &to).await
        };
        let size = match joined {
            Ok(size) => size,
            Err(e) => {
                // Terminated meanwhile (its parts erased under us)?
                if self.records.upload(slot).await?.is_none() {
                    self.objects.delete(&to).await?;
                    return Ok(None);
                }
                return Err(e.into());
            }
        };
        if size != rec.length {
            self.objects.delete(&to).await?;
            return Err(ApiError::Internal(format!(
                "an upload's parts hold {size} bytes, its record {}",
                rec.length
            )));
        }
        let Some(expires_at) = self.records.finish_upload(slot, rec.length).await? else {
            self.objects.delete(&to).await?;
            return Ok(None);
        };
        for p in &paths {
            if let Err(e) = self.objects.delete(p).await {
                tracing::warn!(error = %e, "erasing a finished upload's part failed; erased with the blob");
                return Ok(Some(expires_at));
            }
        }
        self.records.drop_parts(slot).await?;
        Ok(Some(expires_at))
    }

    /// Whether `slot` is an unfinished upload whose deletion token hashes to `token`.
    pub async fn upload_token_matches(
        &self,
        slot: &Slot,
        token: Digest32,
    ) -> Result<bool, ApiError> {
        Ok(self.records.delete_hash(slot, true).await? == Some(token))
    }

    /// Terminates an upload (with `token`, only if it matches).
    pub async fn delete_upload(
        &self,
        slot: &Slot,
        token: Option<Digest32>,
    ) -> Result<bool, ApiError> {
        if let Some(t) = token {
            if !self.upload_token_matches(slot, t).await? {
                return Ok(false);
            }
        }
        let Some(r) = self.records.remove_upload(slot, token).await? else {
            return Ok(false);
        };
        self.purge_logged(&r).await;
        Ok(true)
    }

    /// Expires what is due, purges what earlier removals left, forgets old
    /// tombstones and, now and then, erases orphan objects. Safe on every
    /// instance at once: each row is taken by one statement.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        loop {
            let due = self.records.expire(SWEEP_BATCH).await?;
            for r in &due {
                self.purge_logged(r).await;
            }
            n += due.len();
            if due.len() < usize::try_from(SWEEP_BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
        for r in self.records.unpurged(PURGE_GRACE, SWEEP_BATCH).await? {
            self.purge(&r).await?;
        }
        self.records.forget_tombstones().await?;
        if self
            .sweeps
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(ORPHAN_SCAN_EVERY)
        {
            self.erase_orphans().await?;
        }
        Ok(n)
    }

    async fn erase_orphans(&self) -> Result<(), StoreError> {
        for path in self.objects.older_than(ORPHAN_AGE).await? {
            let Some(name) = Objects::name_of(&path) else {
                continue; // Not ours.
            };
            if !self.records.knows_object(&name).await? {
                self.objects.delete(&path).await?;
            }
        }
        Ok(())
    }
}

/// Erases a used-up blob's object when the last download's body is dropped.
struct PurgeOnDrop {
    shared: Arc<Shared>,
    removed: Option<Removed>,
}

impl Drop for PurgeOnDrop {
    fn drop(&mut self) {
        let Some(removed) = self.removed.take() else {
            return;
        };
        let shared = self.shared.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { shared.purge_logged(&removed).await });
        }
    }
}
