//! The engine of several identical instances: records in PostgreSQL
//! ([`pg`], the one authority), ciphertext in an object store
//! ([`objects`], S3-compatible or a shared directory). Blob first, record
//! second: an object becomes reachable only when a record naming it is
//! committed, and a record is removed (made a tombstone) before its
//! objects are erased, so no instance ever serves a partial or removed
//! blob. Lanes ([`crate::lanes`]) still order PATCHes within an instance;
//! across instances the record's offset decides (`409` for the loser).
//!
//! An object is deleted only when a record says so for certain: after a
//! record write whose outcome is unknown (a commit cut off), the object is
//! left to the orphan scan, which keeps it exactly if some record names it.

mod moderation;
pub mod objects;
pub mod pg;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use futures_util::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use self::objects::Objects;
use self::pg::{timed, Claimed, Recorded, Records, Removed};
use crate::body::{Cut, Received};
use crate::config::SharedStorage;
use crate::engine::{Download, NewBlob, Written};
use crate::error::ApiError;
use crate::ids::{Digest32, FileName, Slot};
use crate::moderation::Counter;
use crate::record::UploadRecord;
use crate::store::StoreError;
use veil_core::HEADER_LEN;

/// A tombstone whose objects are still there this long after its removal
/// is purged by any instance's sweeper (the remover crashed, or is still
/// serving the last download: S3, Garage and MinIO finish a GET that began
/// before the deletion).
const PURGE_GRACE: u64 = 3600;
/// An object this old that no record names is left over from a crash
/// between writing it and recording it: erased. A day, because S3 may date
/// a multipart object from the start of its upload.
const ORPHAN_AGE: Duration = Duration::from_secs(24 * 3600);
/// The orphan scan lists the whole store: by one instance, once an hour.
const ORPHAN_SCAN_EVERY: u64 = 3600;
/// Objects checked against the records per query in the orphan scan.
const ORPHAN_BATCH: usize = 500;
/// A live record whose object the store says it does not have is made a
/// tombstone only if it is at least this old (younger: the store may not
/// show a fresh write yet, e.g. NFS caching) — else `503`, try again.
const MISSING_GRACE: u64 = 600;
/// How long an instance waits for the first instance of a deployment to
/// write the store id into the object store.
const MARKER_WAIT: Duration = Duration::from_secs(10);
/// Rows each sweep statement handles at most.
const SWEEP_BATCH: i64 = 500;

/// Records and objects.
pub struct Shared {
    records: Records,
    objects: Objects,
}

/// What a PATCH leaves to the finishing step: the part it wrote, at the
/// offset it was written from.
struct Pending {
    from: u64,
    part: FileName,
}

impl Shared {
    /// Connects to both (and migrates the schema), then checks that the
    /// object store is the one the records belong to.
    pub async fn open(
        cfg: &SharedStorage,
        data_dir: &std::path::Path,
        tombstone_for: u64,
    ) -> Result<Self, StoreError> {
        let objects = Objects::open(&cfg.objects, &data_dir.join("spool"))?;
        let records = Records::connect(&cfg.postgres, tombstone_for).await?;
        let shared = Self { records, objects };
        shared.check_store().await?;
        Ok(shared)
    }

    /// A mistyped bucket or prefix would make every blob look missing and
    /// be tombstoned. The first instance of a deployment claims a random
    /// store id in PostgreSQL and writes it to its object store; every
    /// other instance must find that id in its own store (waiting a little
    /// for the first to write it), or refuses to start.
    async fn check_store(&self) -> Result<(), StoreError> {
        let candidate = FileName::generate()?.to_string();
        let (id, mine) = timed(self.records.claim_store_id(&candidate)).await?;
        if mine {
            self.objects.put_marker(&id).await?;
            return timed(self.records.store_id_written(&id)).await;
        }
        let deadline = tokio::time::Instant::now() + MARKER_WAIT;
        loop {
            match self.objects.marker().await? {
                Some(found) if found == id => return Ok(()),
                Some(_) => return Err(StoreError::WrongStore),
                None if tokio::time::Instant::now() >= deadline => {
                    return Err(StoreError::WrongStore)
                }
                None => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Whether the object store still carries the deployment's store id
    /// (a store that lost its data, or an empty mount point, does not).
    async fn store_is_ours(&self) -> Result<bool, StoreError> {
        let id = timed(self.records.store_id()).await?;
        Ok(id.is_some() && self.objects.marker().await? == id)
    }

    /// Deletes an object whose fate is certain; a failure only leaves it
    /// to the orphan scan (the answer does not change).
    async fn erase_logged(&self, path: &object_store::path::Path) {
        if let Err(e) = self.objects.delete(path).await {
            tracing::warn!(error = %e, "erasing an unrecorded object failed; the orphan scan erases it");
        }
    }

    /// A one-request upload: the object, then its record.
    pub async fn put_blob(
        &self,
        slot: &Slot,
        body: Body,
        limit: u64,
        new: &NewBlob,
    ) -> Result<(u64, u64), ApiError> {
        // No body is taken in while the records are out of reach: it could
        // not be recorded.
        timed(self.records.ping()).await?;
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
        match timed(self.records.insert_blob(slot, new, received.written, name)).await? {
            Some(expires_at) => {
                self.count(Counter::Uploads, 1).await;
                Ok((expires_at, received.written))
            }
            None => {
                self.erase_logged(&path).await;
                Err(ApiError::Internal("a fresh blob id was taken".into()))
            }
        }
    }

    /// The record of a live blob, consuming nothing.
    pub async fn peek(&self, slot: &Slot) -> Result<Option<crate::record::BlobRecord>, ApiError> {
        Ok(timed(self.records.live(slot)).await?)
    }

    /// Checks the proof, opens the object, then counts the download in one
    /// statement; the last permitted download erases the object when its
    /// transfer ends.
    pub async fn claim(
        self: &Arc<Self>,
        slot: &Slot,
        proof: Option<Digest32>,
        range: Option<Range<u64>>,
    ) -> Result<Download, ApiError> {
        let Some(rec) = timed(self.records.live(slot)).await? else {
            return Ok(Download::Gone);
        };
        if let Some(want) = rec.proof_hash {
            // Digest32 compares in constant time.
            if proof != Some(want) {
                return Ok(Download::WrongProof);
            }
        }
        let path = Objects::blob(&rec.file);
        let stream = match self.objects.read(&path, range).await? {
            Some(s) => s,
            None => return self.missing(slot).await,
        };
        if rec.max_downloads == 0 {
            self.count(Counter::Downloads, 1).await;
            return Ok(Download::Granted {
                record: rec,
                body: Body::from_stream(stream),
            });
        }
        let (record, last) = match timed(self.records.claim(slot, rec.proof_hash)).await? {
            Claimed::Gone => return Ok(Download::Gone),
            Claimed::Granted(record, last) => (record, last),
        };
        self.count(Counter::Downloads, 1).await;
        if last {
            self.count(Counter::Burned, 1).await;
        }
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

    /// A live blob's head (header and sealed metadata) if the proof
    /// matches, consuming nothing.
    pub async fn look(&self, slot: &Slot, proof: Option<Digest32>) -> Result<Download, ApiError> {
        let Some(rec) = timed(self.records.live(slot)).await? else {
            return Ok(Download::Gone);
        };
        if rec.proof_hash.is_some() && proof != rec.proof_hash {
            return Ok(Download::WrongProof);
        }
        let path = Objects::blob(&rec.file);
        // The fixed header, read here; the metadata it announces (up to
        // 16 MiB), streamed from the store, never held whole.
        let header_len = HEADER_LEN as u64;
        if rec.size < header_len {
            return Err(ApiError::NotAContainer);
        }
        let Some(mut stream) = self.objects.read(&path, Some(0..header_len)).await? else {
            return self.missing(slot).await;
        };
        let mut first = Vec::with_capacity(HEADER_LEN);
        while let Some(chunk) = stream.next().await {
            first.extend_from_slice(&chunk.map_err(StoreError::Io)?);
        }
        let len = crate::engine::head_len(&first, rec.size)?;
        let first = futures_util::stream::once(async move { Ok(bytes::Bytes::from(first)) });
        let body = if len > header_len {
            let Some(tail) = self.objects.read(&path, Some(header_len..len)).await? else {
                return self.missing(slot).await;
            };
            Body::from_stream(first.chain(tail))
        } else {
            Body::from_stream(first)
        };
        Ok(Download::Granted { record: rec, body })
    }

    /// A record whose object the store does not have: gone if the record
    /// was removed meanwhile; a tombstone (`404`) if it is still live, old
    /// enough for the store to have shown its object, and the store is
    /// still this deployment's; else "unavailable" (the store may be
    /// catching up, or have lost its data: an operator's matter).
    async fn missing(&self, slot: &Slot) -> Result<Download, ApiError> {
        match timed(self.records.age(slot)).await? {
            // Removed since we read it (used up, deleted, expired): its
            // object went with it.
            None => return Ok(Download::Gone),
            Some(age) if age < MISSING_GRACE => return Err(ApiError::Unavailable),
            Some(_) => {}
        }
        if !self.store_is_ours().await? {
            tracing::error!("the object store no longer carries this deployment's store id (data lost, or a mount point missing): blobs are not given up");
            return Err(ApiError::Unavailable);
        }
        tracing::warn!("a live record's object is missing: the record becomes a tombstone");
        if let Some(r) = timed(self.records.remove_blob(slot, None)).await? {
            self.purge_logged(&r).await;
        }
        Ok(Download::Gone)
    }

    /// Deletes a live blob if `token` is its deletion token hash.
    pub async fn delete(&self, slot: &Slot, token: Digest32) -> Result<bool, ApiError> {
        if timed(self.records.delete_hash(slot, false)).await? != Some(token) {
            return Ok(false);
        }
        let Some(r) = timed(self.records.remove_blob(slot, Some(token))).await? else {
            return Ok(false);
        };
        self.count(Counter::DeletedByOwner, 1).await;
        self.purge_logged(&r).await;
        Ok(true)
    }

    /// Erases a removed row's objects (its parts, its blob), then marks it
    /// purged.
    async fn purge(&self, r: &Removed) -> Result<(), StoreError> {
        for (_, part) in timed(self.records.parts(&r.slot)).await? {
            self.objects.delete(&Objects::part(&part)).await?;
        }
        self.objects.delete(&Objects::blob(&r.object)).await?;
        timed(self.records.purged(&r.slot)).await
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
        Ok(timed(self.records.insert_upload(slot, rec, upload_expiry)).await?)
    }

    /// An unfinished, unexpired upload.
    pub async fn upload(&self, slot: &Slot) -> Result<Option<UploadRecord>, ApiError> {
        Ok(timed(self.records.upload(slot)).await?)
    }

    /// Writes a PATCH body as a new part object and records it: `404` if
    /// the upload went away, `409` if another instance's PATCH moved the
    /// offset first (its part stands; ours is erased). A part that
    /// completes the upload is recorded by the same statement that makes
    /// the blob live ([`Self::finish`]).
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
                finished: None,
            });
        }
        let mut next = rec;
        next.offset = rec.offset.saturating_add(written).min(rec.length);
        if cancel.is_cancelled() {
            self.erase_logged(&path).await;
            return Err(ApiError::NotFound);
        }
        // Every byte is here (even if the body then broke or went on past
        // the length): finish now, or the upload would report complete
        // without being a blob.
        if next.offset == rec.length {
            let pending = Pending {
                from: rec.offset,
                part,
            };
            return match self.join(slot, &next, Some(pending)).await? {
                Some(expires_at) => Ok(Written {
                    record: next,
                    outcome,
                    finished: Some(expires_at),
                }),
                None => Err(ApiError::NotFound),
            };
        }
        // Unknown outcome (an error): the part stays for the orphan scan.
        match timed(
            self.records
                .record_part(slot, rec.offset, next.offset, part),
        )
        .await?
        {
            Recorded::Done => Ok(Written {
                record: next,
                outcome,
                finished: None,
            }),
            other => {
                self.erase_logged(&path).await;
                match other {
                    Recorded::Moved => Err(ApiError::Conflict),
                    Recorded::TooManyParts => Err(ApiError::BadRequest(
                        "too many PATCHes for one upload: send larger ones",
                    )),
                    _ => Err(ApiError::NotFound),
                }
            }
        }
    }

    /// Turns a complete upload that received its bytes already (a zero-byte
    /// one) into a blob. `None`: removed meanwhile.
    pub async fn finish(&self, slot: &Slot, rec: &UploadRecord) -> Result<Option<u64>, ApiError> {
        self.join(slot, rec, None).await
    }

    /// Joins an upload's recorded parts (and `pending`, the last one) into
    /// a fresh blob object, then, in one statement, records the last bytes
    /// and makes the record live naming that object. Two instances joining
    /// the same upload at once each write their own object; the loser of
    /// the statement erases only its own. `None`: the upload was removed,
    /// expired or completed by someone else meanwhile.
    async fn join(
        &self,
        slot: &Slot,
        rec: &UploadRecord,
        pending: Option<Pending>,
    ) -> Result<Option<u64>, ApiError> {
        let from = pending.as_ref().map_or(rec.offset, |p| p.from);
        let pending = pending.map(|p| Objects::part(&p.part));
        let joiner = FileName::generate()?;
        // One join at a time, and no PATCH recording meanwhile: the parts
        // read below are all there will be.
        if !timed(self.records.lease_join(slot, from, &joiner)).await? {
            if let Some(p) = &pending {
                self.erase_logged(p).await;
            }
            return self.moved_or_gone(slot).await;
        }
        let fresh = FileName::generate()?;
        let to = Objects::blob(&fresh);
        let joined = self
            .copy_parts(slot, rec.length, pending.as_ref(), &to)
            .await;
        let done = match joined {
            Ok(()) => {
                timed(
                    self.records
                        .finish_upload(slot, from, rec.length, fresh, &joiner),
                )
                .await
            }
            Err(e) => Err(e),
        };
        let expires_at = match done {
            Ok(Some(expires_at)) => expires_at,
            failed => {
                // Ours to clean up: the copy, the pending part, the lease.
                self.erase_logged(&to).await;
                if let Some(p) = &pending {
                    self.erase_logged(p).await;
                }
                if let Err(e) = timed(self.records.release_join(slot, &joiner)).await {
                    tracing::warn!(error = %e, "releasing a join failed; it lapses by itself");
                }
                return match failed {
                    Err(e) => Err(e.into()),
                    _ => self.moved_or_gone(slot).await,
                };
            }
        };
        // The parts are no longer needed; one left behind is erased with
        // the blob (recorded) or by the orphan scan (the pending one).
        let parts = timed(self.records.parts(slot)).await.unwrap_or_default();
        for p in parts.iter().map(|(_, p)| Objects::part(p)).chain(pending) {
            self.erase_logged(&p).await;
        }
        if let Err(e) = timed(self.records.drop_parts(slot)).await {
            tracing::warn!(error = %e, "forgetting a finished upload's parts failed; forgotten with the blob");
        }
        self.count(Counter::Uploads, 1).await;
        Ok(Some(expires_at))
    }

    /// Streams the recorded parts (then `pending`) into `to` and checks the
    /// size against the upload's length.
    async fn copy_parts(
        &self,
        slot: &Slot,
        length: u64,
        pending: Option<&object_store::path::Path>,
        to: &object_store::path::Path,
    ) -> Result<(), StoreError> {
        let mut parts: Vec<_> = timed(self.records.parts(slot))
            .await?
            .into_iter()
            .map(|(_, p)| Objects::part(&p))
            .collect();
        parts.extend(pending.cloned());
        if length == 0 {
            return self.objects.put_empty(to).await;
        }
        if parts.is_empty() {
            return Err(StoreError::Records("a complete upload has no parts".into()));
        }
        let size = self.objects.concatenate(&parts, to).await?;
        if size != length {
            return Err(StoreError::Records(format!(
                "an upload's parts hold {size} bytes, its record {length}"
            )));
        }
        Ok(())
    }

    /// After a join could not finish: `409` if the upload is still there
    /// (another request moved it on: ask `HEAD`), `None` (404) if gone.
    async fn moved_or_gone(&self, slot: &Slot) -> Result<Option<u64>, ApiError> {
        match timed(self.records.upload(slot)).await? {
            Some(_) => Err(ApiError::Conflict),
            None => Ok(None),
        }
    }

    /// Whether `slot` is an unfinished upload whose deletion token hashes to `token`.
    pub async fn upload_token_matches(
        &self,
        slot: &Slot,
        token: Digest32,
    ) -> Result<bool, ApiError> {
        Ok(timed(self.records.delete_hash(slot, true)).await? == Some(token))
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
        let Some(r) = timed(self.records.remove_upload(slot, token)).await? else {
            return Ok(false);
        };
        self.purge_logged(&r).await;
        Ok(true)
    }

    /// Expires what is due, purges what earlier removals left, forgets old
    /// tombstones and, once an hour on one instance, erases orphan
    /// objects. Safe on every instance at once: each row is taken by one
    /// statement, and one failing purge does not stop the rest.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        loop {
            let due = timed(self.records.expire(SWEEP_BATCH)).await?;
            for r in &due {
                self.purge_logged(r).await;
            }
            n += due.len();
            if due.len() < usize::try_from(SWEEP_BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
        for r in timed(self.records.unpurged(PURGE_GRACE, SWEEP_BATCH)).await? {
            self.purge_logged(&r).await;
        }
        if let Err(e) = timed(self.records.forget_tombstones()).await {
            tracing::warn!(error = %e, "forgetting old tombstones failed; the next sweep retries");
        }
        if timed(self.records.take_job("orphans", ORPHAN_SCAN_EVERY)).await? {
            if let Err(e) = self.erase_orphans().await {
                tracing::warn!(error = %e, "the orphan scan stopped; it runs again in an hour");
            }
        }
        Ok(n)
    }

    /// Erases objects older than [`ORPHAN_AGE`] that no record names,
    /// reading the listing as a stream and checking it in batches.
    async fn erase_orphans(&self) -> Result<(), StoreError> {
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(ORPHAN_AGE).unwrap_or(chrono::Duration::MAX);
        let mut listing = self
            .objects
            .list()
            .try_filter(|m| std::future::ready(m.last_modified < cutoff))
            .try_filter_map(|m| {
                std::future::ready(Ok(Objects::name_of(&m.location).map(|n| (n, m.location))))
            })
            .try_chunks(ORPHAN_BATCH);
        while let Some(batch) = listing.try_next().await.map_err(|e| e.1)? {
            let names: Vec<FileName> = batch.iter().map(|(n, _)| *n).collect();
            let known = timed(self.records.known_objects(&names)).await?;
            for (name, path) in &batch {
                if !known.contains(name) {
                    self.erase_logged(path).await;
                }
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
