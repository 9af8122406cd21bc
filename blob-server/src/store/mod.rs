//! Durable storage: ciphertext files in the data directory, their records
//! and the expiry index in sled. Every method blocks (file system, sled on a
//! cold cache): callers run them on the blocking pool ([`crate::blocking`]).
//!
//! Invariants (see docs/API.md, "Storage"):
//! - a blob file is written under `tmp/`, fsynced, renamed into `blobs/`
//!   and the directory fsynced *before* its record is committed and
//!   flushed, so a visible record always has a complete, durable file;
//! - every read checks the expiry itself; the sweeper only reclaims space;
//! - a download-limited blob is claimed with compare-and-swap before any
//!   byte is served; the last permitted claim removes the record in the
//!   same swap, so no two downloads can both take the last one;
//! - a removed blob (used up, deleted, expired) is moved to `burning/` and
//!   erased only once no download is reading it ([`crate::erasure`]);
//! - an upload's record changes only by compare-and-swap against the
//!   version its PATCH started from, so a PATCH that lost a race with a
//!   deletion cannot bring the upload back;
//! - nothing on disk names an id: records are keyed by [`Slot`] (a hash of
//!   the id), files have random names kept in the record, and after
//!   removals the database is rewritten into a fresh directory and the old
//!   one shredded ([`Store::compact`]), so a removed record's old bytes do
//!   not linger in sled's log;
//! - start-up removes temp files, half-burned files, records without files
//!   and files without records.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::erasure::{shred, shred_tree, ReadGuard, Readers};
use crate::ids::{slot, BlobId, Digest32, FileName, Slot};
use crate::moderation::Counter;
use crate::record::{expiry_key, split_expiry_key, BlobRecord, UploadRecord};

mod moderation;

/// Storage failures. The HTTP layer maps these to fixed public messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file system failed.
    #[error("file system: {0}")]
    Io(#[from] io::Error),
    /// sled failed.
    #[error("database: {0}")]
    Db(#[from] sled::Error),
    /// A stored record did not parse.
    #[error("a stored record is corrupt")]
    Corrupt,
    /// The database generation on disk does not match its pointer file:
    /// refusing to start rather than starting empty.
    #[error("the database is inconsistent: {0}; restore DATA/db-current or the db-N directory from a backup")]
    Generation(&'static str),
    /// Another process holds the data directory.
    #[error("another blob-server is using this data directory; run one process per data directory (several instances need --meta postgres://… and --storage)")]
    Locked,
    /// The object store is not the one the records belong to (its store
    /// id differs or is missing while records exist).
    #[error("the object store (--storage) is not the one these records (--meta) belong to: check the bucket, prefix or directory; refusing to start rather than treat every blob as missing")]
    WrongStore,
    /// The record store or the object store cannot be reached, or refused:
    /// the client may retry (503).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// PostgreSQL refused a statement (a bug or a broken schema: loud).
    #[error("records: {0}")]
    Records(String),
}

/// Result of a download claim.
pub enum Claim {
    /// Unknown, expired, exhausted or deleted: all the same from outside.
    Gone,
    /// The blob needs a proof and none, or the wrong one, was given.
    WrongProof,
    /// Granted: stream `file` (opened before the claim was counted, so a
    /// concurrent last claim moving the file cannot take it away) and keep
    /// `reading` until the last byte is sent: the file is not erased while
    /// any download of it holds one.
    Granted {
        /// The record as claimed.
        record: BlobRecord,
        /// The open ciphertext.
        file: File,
        /// Defers erasure of this blob until the download ends.
        reading: ReadGuard,
    },
}

/// The sled database of one generation and its trees.
struct Db {
    db: sled::Db,
    blobs: sled::Tree,
    expiry: sled::Tree,
    uploads: sled::Tree,
    /// Reports by id ([`crate::moderation::Report`]).
    reports: sled::Tree,
    /// The removal list by slot ([`crate::moderation::Removal`]).
    removed: sled::Tree,
    /// The public counters by name (u64 big-endian).
    counters: sled::Tree,
    generation: u64,
}

impl Db {
    fn open(path: &Path, generation: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(path).open()?;
        Ok(Self {
            blobs: db.open_tree("blobs")?,
            expiry: db.open_tree("expiry")?,
            uploads: db.open_tree("uploads")?,
            reports: db.open_tree("reports")?,
            removed: db.open_tree("removed")?,
            counters: db.open_tree("counters")?,
            db,
            generation,
        })
    }
}

/// The store: a sled database and four folders.
pub struct Store {
    /// The current database. Write-locked only while [`Store::compact`]
    /// swaps generations; every other call holds a read lock for the
    /// duration of one operation (a std lock: never held across an await).
    db: RwLock<Db>,
    dir: PathBuf,
    readers: Readers,
    /// Records removed since the last compaction.
    removed: AtomicU64,
    /// Held open, exclusively locked, while the store is open: a second
    /// process on the same directory is refused instead of corrupting it.
    _lock: File,
}

/// The file naming the current database generation.
const CURRENT: &str = "db-current";

fn db_path(dir: &Path, generation: u64) -> PathBuf {
    // Generation 0 is the directory of data written before generations.
    if generation == 0 {
        dir.join("db")
    } else {
        dir.join(format!("db-{generation}"))
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// The database generations present under `dir` (`db` is generation 0).
fn generations(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name == "db" {
            out.push(0);
        } else if let Some(g) = name.strip_prefix("db-").and_then(|g| g.parse().ok()) {
            out.push(g);
        }
    }
    Ok(out)
}

/// Shreds every database generation but `keep`.
fn shred_other_generations(dir: &Path, keep: u64) -> io::Result<()> {
    for g in generations(dir)? {
        if g != keep {
            shred_tree(&db_path(dir, g))?;
        }
    }
    Ok(())
}

/// Takes `DIR/lock` exclusively (released when the process ends, however).
fn lock(dir: &Path) -> Result<File, StoreError> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked),
        Err(fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Adds `n` to a counter (atomically: sled retries the swap). Not
/// flushed here: the caller's flush, or sled's own within half a second.
fn bump(db: &Db, c: Counter, n: u64) -> Result<(), StoreError> {
    db.counters.update_and_fetch(c.name(), |old| {
        let v = old
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        Some(v.saturating_add(n).to_be_bytes().to_vec())
    })?;
    Ok(())
}

fn tx_error(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Storage(e) => StoreError::Db(e),
        TransactionError::Abort(()) => StoreError::Corrupt,
    }
}

impl Store {
    /// Opens (creating) the store under `dir` and cleans up after any crash.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir)?;
        let lock = lock(dir)?;
        for sub in ["blobs", "tmp", "uploads", "burning"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let generations = generations(dir)?;
        let generation = match fs::read_to_string(dir.join(CURRENT)) {
            Ok(s) => {
                let g = s
                    .trim()
                    .parse()
                    .map_err(|_| StoreError::Generation("db-current is not a number"))?;
                if !db_path(dir, g).exists() {
                    return Err(StoreError::Generation(
                        "db-current names a missing generation",
                    ));
                }
                g
            }
            // Before generations: DATA/db (migrated below), or a new store.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if generations.iter().any(|&g| g > 0) {
                    return Err(StoreError::Generation("db-current is missing"));
                }
                u64::from(!dir.join("db").exists())
            }
            Err(e) => return Err(e.into()),
        };
        // Leftovers of an interrupted compaction.
        shred_other_generations(dir, generation)?;
        let store = Self {
            db: RwLock::new(Db::open(&db_path(dir, generation), generation)?),
            dir: dir.to_owned(),
            readers: Readers::default(),
            removed: AtomicU64::new(0),
            _lock: lock,
        };
        if generation == 0 {
            store.migrate_v1()?;
            store.compact()?;
        } else if !dir.join(CURRENT).exists() {
            store.write_current(generation)?;
        }
        store.recover()?;
        Ok(store)
    }

    fn db(&self) -> RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn removed_one(&self) {
        self.removed.fetch_add(1, Ordering::Relaxed);
    }

    fn path(&self, sub: &str, file: &FileName) -> PathBuf {
        self.dir.join(sub).join(file.to_string())
    }

    /// A fresh file name and where a one-request upload writes it before it
    /// is complete.
    pub fn new_temp(&self) -> io::Result<(FileName, PathBuf)> {
        let file = FileName::generate()?;
        Ok((file, self.path("tmp", &file)))
    }

    /// Makes a fully written, fsynced file at `from` the blob at `slot`.
    pub fn commit(&self, slot: &Slot, from: &Path, record: &BlobRecord) -> Result<(), StoreError> {
        fs::rename(from, self.path("blobs", &record.file))?;
        sync_dir(&self.dir.join("blobs"))?;
        let db = self.db();
        let key = expiry_key(record.expires_at, slot);
        (&db.blobs, &db.expiry)
            .transaction(|(blobs, expiry)| {
                blobs.insert(&slot.0[..], record.encode())?;
                expiry.insert(&key[..], &[][..])?;
                Ok(())
            })
            .map_err(tx_error)?;
        bump(&db, Counter::Uploads, 1)?;
        db.db.flush()?;
        Ok(())
    }

    /// The record of a live blob, consuming nothing.
    pub fn peek(&self, slot: &Slot, now: u64) -> Result<Option<BlobRecord>, StoreError> {
        let db = self.db();
        // The removal list wins over any record (one a race let through).
        if db.removed.contains_key(slot.0)? {
            return Ok(None);
        }
        let Some(raw) = db.blobs.get(slot.0)? else {
            return Ok(None);
        };
        let rec = BlobRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
        Ok((rec.expires_at > now && rec.downloads_left() != Some(0)).then_some(rec))
    }

    /// Opens a live blob whose proof matches, consuming nothing (the
    /// recipient's look at a share's contents before downloading).
    pub fn open_live(
        &self,
        slot: &Slot,
        now: u64,
        proof: Option<Digest32>,
    ) -> Result<Claim, StoreError> {
        let reading = self.readers.enter(*slot);
        let Some(rec) = self.peek(slot, now)? else {
            return Ok(Claim::Gone);
        };
        if rec.proof_hash.is_some() && proof != rec.proof_hash {
            return Ok(Claim::WrongProof);
        }
        Ok(match self.open_file(&rec)? {
            Some(file) => Claim::Granted {
                record: rec,
                file,
                reading,
            },
            None => Claim::Gone,
        })
    }

    /// A blob's file, or `None` if it is gone (used up or deleted since
    /// its record was read).
    fn open_file(&self, rec: &BlobRecord) -> Result<Option<File>, StoreError> {
        match File::open(self.path("blobs", &rec.file)) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Claims one download: checks expiry and proof, then counts it with
    /// compare-and-swap. Nothing is consumed unless `Granted` is returned.
    pub fn claim(
        &self,
        slot: &Slot,
        now: u64,
        proof: Option<Digest32>,
    ) -> Result<Claim, StoreError> {
        // Before the file is opened, so no erasure can overwrite what we read.
        let reading = self.readers.enter(*slot);
        let db = self.db();
        if db.removed.contains_key(slot.0)? {
            return Ok(Claim::Gone);
        }
        loop {
            let Some(raw) = db.blobs.get(slot.0)? else {
                return Ok(Claim::Gone);
            };
            let rec = BlobRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
            if rec.expires_at <= now || rec.downloads_left() == Some(0) {
                return Ok(Claim::Gone);
            }
            if let Some(want) = rec.proof_hash {
                if proof != Some(want) {
                    return Ok(Claim::WrongProof);
                }
            }
            let Some(file) = self.open_file(&rec)? else {
                return Ok(Claim::Gone);
            };
            if rec.max_downloads == 0 {
                // Counted, not flushed: sled writes it within half a
                // second (a crash may lose the counts of that moment).
                bump(&db, Counter::Downloads, 1)?;
                return Ok(Claim::Granted {
                    record: rec,
                    file,
                    reading,
                });
            }
            let mut next = rec;
            next.downloads += 1;
            let last = next.downloads >= next.max_downloads;
            let new = if last { None } else { Some(next.encode()) };
            if db.blobs.compare_and_swap(slot.0, Some(raw), new)?.is_err() {
                continue; // Someone else claimed first: look again.
            }
            if last {
                db.expiry.remove(&expiry_key(rec.expires_at, slot)[..])?;
                bump(&db, Counter::Burned, 1)?;
                self.removed_one();
            }
            bump(&db, Counter::Downloads, 1)?;
            db.db.flush()?;
            if last {
                self.retire(slot, &rec.file)?;
            }
            return Ok(Claim::Granted {
                record: next,
                file,
                reading,
            });
        }
    }

    /// Deletes a blob if `token_hash` matches its deletion token. Returns
    /// `false` for a wrong token or no such blob (indistinguishable).
    pub fn delete(&self, slot: &Slot, token_hash: Digest32) -> Result<bool, StoreError> {
        let db = self.db();
        loop {
            let Some(raw) = db.blobs.get(slot.0)? else {
                return Ok(false);
            };
            let rec = BlobRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
            if rec.delete_hash != token_hash {
                return Ok(false);
            }
            // Only the version we checked: a download counted meanwhile
            // changes the record, so look again (a last download that
            // removed it leaves nothing to delete: `false` above).
            if db
                .blobs
                .compare_and_swap(slot.0, Some(raw), None::<&[u8]>)?
                .is_ok()
            {
                bump(&db, Counter::DeletedByOwner, 1)?;
                self.finish_removal(&db, slot, &rec)?;
                // Erasing a large file takes a while: not under the lock.
                drop(db);
                self.retire(slot, &rec.file)?;
                return Ok(true);
            }
        }
    }

    /// After a record's removal: its index entry, a flush, the count. The
    /// caller then retires the file, after releasing the database lock.
    fn finish_removal(&self, db: &Db, slot: &Slot, rec: &BlobRecord) -> Result<(), StoreError> {
        db.expiry.remove(&expiry_key(rec.expires_at, slot)[..])?;
        db.db.flush()?;
        self.removed_one();
        Ok(())
    }

    /// Erases the file of a blob whose record is gone, once no download is
    /// reading it. It waits in `burning/`, so a restart erases it too.
    fn retire(&self, slot: &Slot, file: &FileName) -> Result<(), StoreError> {
        let burning = self.path("burning", file);
        match fs::rename(self.path("blobs", file), &burning) {
            Ok(()) => Ok(self.readers.erase_after_readers(slot, burning)?),
            // Retired by another removal already (a deletion racing the last download).
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes expired blobs and stale uploads; returns how many. Compacts
    /// the database if anything was removed since the last compaction.
    pub fn sweep(&self, now: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        let mut retired = Vec::new();
        {
            let db = self.db();
            let due: Vec<_> = db
                .expiry
                .range(..expiry_key(now.saturating_add(1), &Slot([0; 32])))
                .keys()
                .collect::<Result<_, _>>()?;
            for key in due {
                let Some((_, slot)) = split_expiry_key(&key) else {
                    db.expiry.remove(key)?;
                    continue;
                };
                let raw = db.blobs.get(slot.0)?;
                match raw.as_deref().and_then(BlobRecord::decode) {
                    Some(rec) => {
                        if db
                            .blobs
                            .compare_and_swap(slot.0, raw, None::<&[u8]>)?
                            .is_ok()
                        {
                            bump(&db, Counter::Expired, 1)?;
                            self.finish_removal(&db, &slot, &rec)?;
                            retired.push((slot, rec.file));
                            n += 1;
                        }
                    }
                    None => {
                        db.expiry.remove(key)?;
                    }
                }
            }
            let stale: Vec<Slot> = db
                .uploads
                .iter()
                .filter_map(Result::ok)
                .filter_map(|(k, v)| {
                    let slot = Slot(k.as_ref().try_into().ok()?);
                    let rec = UploadRecord::decode(&v);
                    (rec.is_none_or(|r| r.upload_expires_at <= now)).then_some(slot)
                })
                .collect();
            drop(db);
            // Erasing takes a while: not under the database lock.
            for (slot, file) in retired {
                self.retire(&slot, &file)?;
            }
            for slot in stale {
                if self.delete_upload(&slot, None)? {
                    n += 1;
                }
            }
        }
        if self.removed.load(Ordering::Relaxed) > 0 {
            self.compact()?;
        }
        Ok(n)
    }

    /// Rewrites the live records into a fresh database generation and
    /// shreds the old one, so removed records leave no bytes behind in
    /// sled's log. Blocks every other store call while it copies (a few ms
    /// per thousand live records).
    fn compact(&self) -> Result<(), StoreError> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        db.db.flush()?;
        let generation = db.generation + 1;
        let path = db_path(&self.dir, generation);
        shred_tree(&path)?;
        let next = Db::open(&path, generation)?;
        for (from, to) in [
            (&db.blobs, &next.blobs),
            (&db.expiry, &next.expiry),
            (&db.uploads, &next.uploads),
            (&db.reports, &next.reports),
            (&db.removed, &next.removed),
            (&db.counters, &next.counters),
        ] {
            let mut batch = sled::Batch::default();
            for item in from.iter() {
                let (k, v) = item?;
                batch.insert(k, v);
            }
            to.apply_batch(batch)?;
        }
        next.db.flush()?;
        // Once db-current names the new generation, the store must use it,
        // whatever happens next (a restart opens what db-current names).
        self.write_current(generation)?;
        let old = std::mem::replace(&mut *db, next);
        self.removed.store(0, Ordering::Relaxed);
        drop(db);
        drop(old);
        // Every other generation: the old one, and any a failed compaction left.
        if let Err(e) = shred_other_generations(&self.dir, generation) {
            // Retried after the next removal, and at every start.
            self.removed_one();
            tracing::error!(error = %e, "could not shred an old database generation");
        }
        Ok(())
    }

    /// Points db-current at `generation`. An error before the rename
    /// leaves the old pointer (and the caller keeps the old generation);
    /// after the rename the new pointer stands, so a failed directory sync
    /// is only logged.
    fn write_current(&self, generation: u64) -> io::Result<()> {
        let tmp = self.dir.join("db-current.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(generation.to_string().as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, self.dir.join(CURRENT))?;
        if let Err(e) = sync_dir(&self.dir) {
            tracing::error!(error = %e, "could not sync the data directory after switching the database");
        }
        Ok(())
    }

    /// Converts records written before slots and random file names (keyed
    /// by the id, files named by the id). Unfinished uploads of that time
    /// are dropped; live blobs keep working.
    fn migrate_v1(&self) -> Result<(), StoreError> {
        // Each step is durable before the next and safe to run again after
        // a crash: the new record (with its random file name) first, then
        // the rename, then the old record's removal.
        let db = self.db();
        for item in db.blobs.iter() {
            let (k, v) = item?;
            let Ok(raw) = <[u8; 16]>::try_from(k.as_ref()) else {
                continue;
            };
            let id = BlobId::from_bytes(raw);
            let slot = slot(&id);
            let new = match db
                .blobs
                .get(slot.0)?
                .as_deref()
                .and_then(BlobRecord::decode)
            {
                Some(rec) => Some(rec),
                None => match BlobRecord::decode_v1(&v, FileName::generate()?) {
                    Some(rec) => {
                        db.blobs.insert(slot.0, rec.encode())?;
                        db.expiry
                            .insert(&expiry_key(rec.expires_at, &slot)[..], &[][..])?;
                        db.db.flush()?;
                        Some(rec)
                    }
                    None => None,
                },
            };
            if let Some(rec) = new {
                let old_file = self.dir.join("blobs").join(id.to_string());
                match fs::rename(&old_file, self.path("blobs", &rec.file)) {
                    Ok(()) => sync_dir(&self.dir.join("blobs"))?,
                    // Renamed by an earlier, interrupted run.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            db.blobs.remove(&k)?;
            db.db.flush()?;
        }
        // Index entries of version 1 (expiry ‖ id): 24 bytes.
        for key in db.expiry.iter().keys() {
            let key = key?;
            if key.len() == 24 {
                db.expiry.remove(key)?;
            }
        }
        db.uploads.clear()?;
        db.db.flush()?;
        self.removed_one();
        Ok(())
    }

    /// Brings the directory and the database back into agreement after a crash.
    fn recover(&self) -> Result<(), StoreError> {
        for sub in ["tmp", "burning"] {
            for entry in fs::read_dir(self.dir.join(sub))? {
                shred(&entry?.path())?;
            }
        }
        let db = self.db();
        // Records whose file is missing or of the wrong size, and corrupt records.
        let mut blob_files = HashSet::new();
        let mut broken = Vec::new();
        for item in db.blobs.iter() {
            let (k, v) = item?;
            let rec = BlobRecord::decode(&v);
            let ok = rec.is_some_and(|r| {
                fs::metadata(self.path("blobs", &r.file)).is_ok_and(|m| m.len() == r.size)
            });
            match (rec, ok) {
                (Some(r), true) => {
                    blob_files.insert(r.file.0);
                }
                _ => broken.push((k, rec)),
            }
        }
        for (k, rec) in broken {
            db.blobs.remove(&k)?;
            if let (Some(r), Ok(slot)) = (rec, <[u8; 32]>::try_from(k.as_ref())) {
                db.expiry
                    .remove(&expiry_key(r.expires_at, &Slot(slot))[..])?;
            }
            self.removed_one();
        }
        // Upload records with no file.
        let mut upload_files = HashSet::new();
        let mut orphans = Vec::new();
        for item in db.uploads.iter() {
            let (k, v) = item?;
            match UploadRecord::decode(&v) {
                Some(r) if self.path("uploads", &r.file).exists() => {
                    upload_files.insert(r.file.0);
                }
                _ => orphans.push(k),
            }
        }
        for k in orphans {
            db.uploads.remove(k)?;
            self.removed_one();
        }
        db.db.flush()?;
        drop(db);
        // Files with no record (a crash between rename and commit).
        self.shred_unknown("blobs", &blob_files)?;
        self.shred_unknown("uploads", &upload_files)?;
        Ok(())
    }

    /// Erases every file in `sub` whose name is not in `known`.
    fn shred_unknown(&self, sub: &str, known: &HashSet<[u8; 16]>) -> Result<(), StoreError> {
        for entry in fs::read_dir(self.dir.join(sub))? {
            let path = entry?.path();
            let keep = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(FileName::parse)
                .is_some_and(|f| known.contains(&f.0));
            if !keep {
                shred(&path)?;
            }
        }
        Ok(())
    }

    // ---- tus uploads ----

    /// Registers a new upload with an empty file.
    pub fn create_upload(&self, slot: &Slot, rec: &UploadRecord) -> Result<(), StoreError> {
        let f = File::create(self.path("uploads", &rec.file))?;
        f.sync_all()?;
        sync_dir(&self.dir.join("uploads"))?;
        let db = self.db();
        db.uploads.insert(slot.0, rec.encode())?;
        db.db.flush()?;
        Ok(())
    }

    /// An upload's record, if it exists and has not expired.
    pub fn upload(&self, slot: &Slot, now: u64) -> Result<Option<UploadRecord>, StoreError> {
        let Some(raw) = self.db().uploads.get(slot.0)? else {
            return Ok(None);
        };
        let rec = UploadRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
        Ok((rec.upload_expires_at > now).then_some(rec))
    }

    /// Opens an upload's file for appending at the recorded offset,
    /// cutting off anything a crash left beyond it.
    pub fn open_upload(&self, rec: &UploadRecord) -> Result<File, StoreError> {
        let mut f = OpenOptions::new()
            .write(true)
            .open(self.path("uploads", &rec.file))?;
        f.set_len(rec.offset)?;
        f.seek(SeekFrom::Start(rec.offset))?;
        Ok(f)
    }

    /// Records a new durable offset (the caller fsynced the file), only if
    /// the record is still `old`. `false`: the upload was removed meanwhile.
    pub fn set_upload_offset(
        &self,
        slot: &Slot,
        old: &UploadRecord,
        new: &UploadRecord,
    ) -> Result<bool, StoreError> {
        let db = self.db();
        let swapped = db
            .uploads
            .compare_and_swap(slot.0, Some(old.encode()), Some(new.encode()))?
            .is_ok();
        db.db.flush()?;
        Ok(swapped)
    }

    /// Turns a complete upload into a blob, atomically from outside, only if
    /// its record is still `upload`. `false`: it was removed meanwhile, and
    /// its file is erased.
    pub fn finish_upload(
        &self,
        slot: &Slot,
        upload: &UploadRecord,
        blob: &BlobRecord,
    ) -> Result<bool, StoreError> {
        let blob_file = self.path("blobs", &blob.file);
        fs::rename(self.path("uploads", &upload.file), &blob_file)?;
        sync_dir(&self.dir.join("blobs"))?;
        let db = self.db();
        let key = expiry_key(blob.expires_at, slot);
        let expected = upload.encode();
        let done = (&db.uploads, &db.blobs, &db.expiry, &db.removed).transaction(
            |(uploads, blobs, expiry, removed)| {
                // An upload the operator removed meanwhile never becomes a blob.
                if uploads.get(slot.0)?.as_deref() != Some(&expected[..])
                    || removed.get(slot.0)?.is_some()
                {
                    return Err(ConflictableTransactionError::Abort(()));
                }
                uploads.remove(&slot.0[..])?;
                blobs.insert(&slot.0[..], blob.encode())?;
                expiry.insert(&key[..], &[][..])?;
                Ok(())
            },
        );
        match done {
            Ok(()) => {
                bump(&db, Counter::Uploads, 1)?;
                db.db.flush()?;
                self.removed_one();
                Ok(true)
            }
            Err(TransactionError::Abort(())) => {
                drop(db);
                shred(&blob_file)?;
                Ok(false)
            }
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Whether `slot` is an unfinished upload whose deletion token hashes to `token`.
    pub fn upload_token_matches(&self, slot: &Slot, token: Digest32) -> Result<bool, StoreError> {
        Ok(self
            .db()
            .uploads
            .get(slot.0)?
            .as_deref()
            .and_then(UploadRecord::decode)
            .is_some_and(|r| r.delete_hash == token))
    }

    /// Terminates an upload. With `token`, only if it matches.
    pub fn delete_upload(&self, slot: &Slot, token: Option<Digest32>) -> Result<bool, StoreError> {
        let db = self.db();
        let Some(raw) = db.uploads.get(slot.0)? else {
            return Ok(false);
        };
        let rec = UploadRecord::decode(&raw);
        if let Some(t) = token {
            if !rec.is_some_and(|r| r.delete_hash == t) {
                return Ok(false);
            }
        }
        if db
            .uploads
            .compare_and_swap(slot.0, Some(raw), None::<&[u8]>)?
            .is_err()
        {
            return Ok(false);
        }
        db.db.flush()?;
        drop(db);
        self.removed_one();
        if let Some(r) = rec {
            shred(&self.path("uploads", &r.file))?;
        }
        Ok(true)
    }

    /// Compacts if anything was removed, then flushes (shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.removed.load(Ordering::Relaxed) > 0 {
            self.compact()?;
        }
        self.db().db.flush()?;
        Ok(())
    }
}
