//! Durable storage: ciphertext files in the data directory, their records
//! and the expiry index in sled. Every method blocks (file system, sled on a
//! cold cache): callers run them on the blocking pool (`spawn_blocking`).
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
//!   erased only once no download is reading it ([`crate::readers`]);
//! - start-up removes temp files, half-burned files, records without files
//!   and files without records.

use sled::Transactional;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::ids::{BlobId, Digest32};
use crate::readers::{ReadGuard, Readers};
use crate::record::{expiry_key, split_expiry_key, BlobRecord, UploadRecord};

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

/// The store: a sled database and four folders.
pub struct Store {
    db: sled::Db,
    blobs: sled::Tree,
    expiry: sled::Tree,
    uploads: sled::Tree,
    dir: PathBuf,
    readers: Readers,
}

/// Blob ids are base64url; safe as file names (no `/`, no `.` prefix).
fn file_name(id: &BlobId) -> String {
    id.to_string()
}

impl Store {
    /// Opens (creating) the store under `dir` and cleans up after any crash.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        for sub in ["blobs", "tmp", "uploads", "burning"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let db = sled::Config::new().path(dir.join("db")).open()?;
        let store = Self {
            blobs: db.open_tree("blobs")?,
            expiry: db.open_tree("expiry")?,
            uploads: db.open_tree("uploads")?,
            db,
            dir: dir.to_owned(),
            readers: Readers::default(),
        };
        store.recover()?;
        Ok(store)
    }

    /// Where a new blob or upload is written before it is complete.
    #[must_use]
    pub fn temp_path(&self, id: &BlobId) -> PathBuf {
        self.dir.join("tmp").join(file_name(id))
    }

    fn blob_path(&self, id: &BlobId) -> PathBuf {
        self.dir.join("blobs").join(file_name(id))
    }

    /// Where an unfinished tus upload's bytes are.
    #[must_use]
    pub fn upload_path(&self, id: &BlobId) -> PathBuf {
        self.dir.join("uploads").join(file_name(id))
    }

    fn sync_dir(path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    /// Makes a fully written, fsynced file at `from` the blob `id`.
    pub fn commit(&self, id: &BlobId, from: &Path, record: &BlobRecord) -> Result<(), StoreError> {
        let to = self.blob_path(id);
        fs::rename(from, &to)?;
        Self::sync_dir(&self.dir.join("blobs"))?;
        let key = expiry_key(record.expires_at, id);
        let result: sled::transaction::TransactionResult<(), ()> = (&self.blobs, &self.expiry)
            .transaction(|(blobs, expiry)| {
                blobs.insert(&id.as_bytes()[..], record.encode())?;
                expiry.insert(&key[..], &[][..])?;
                Ok(())
            });
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Storage(e) => StoreError::Db(e),
            sled::transaction::TransactionError::Abort(()) => StoreError::Corrupt,
        })?;
        self.db.flush()?;
        Ok(())
    }

    /// The record of a live blob, consuming nothing.
    pub fn peek(&self, id: &BlobId, now: u64) -> Result<Option<BlobRecord>, StoreError> {
        let Some(raw) = self.blobs.get(id.as_bytes())? else {
            return Ok(None);
        };
        let rec = BlobRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
        Ok((rec.expires_at > now && rec.downloads_left() != Some(0)).then_some(rec))
    }

    /// Claims one download: checks expiry and proof, then counts it with
    /// compare-and-swap. Nothing is consumed unless `Granted` is returned.
    pub fn claim(
        &self,
        id: &BlobId,
        now: u64,
        proof: Option<Digest32>,
    ) -> Result<Claim, StoreError> {
        // Before the file is opened, so no erasure can overwrite what we read.
        let reading = self.readers.enter(*id);
        loop {
            let Some(raw) = self.blobs.get(id.as_bytes())? else {
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
            let file = match File::open(self.blob_path(id)) {
                Ok(f) => f,
                // Used up or deleted since we read the record.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Claim::Gone),
                Err(e) => return Err(e.into()),
            };
            if rec.max_downloads == 0 {
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
            match self.blobs.compare_and_swap(id.as_bytes(), Some(raw), new)? {
                Ok(()) => {
                    if last {
                        self.expiry.remove(&expiry_key(rec.expires_at, id)[..])?;
                    }
                    self.db.flush()?;
                    if last {
                        self.retire(id)?;
                    }
                    return Ok(Claim::Granted {
                        record: next,
                        file,
                        reading,
                    });
                }
                Err(_) => continue, // Someone else claimed first: look again.
            }
        }
    }

    /// Deletes a blob if `token_hash` matches its deletion token.
    /// Returns `false` for a wrong token or an unknown blob (indistinguishable).
    pub fn delete(&self, id: &BlobId, token_hash: Digest32) -> Result<bool, StoreError> {
        let Some(raw) = self.blobs.get(id.as_bytes())? else {
            // An unfinished upload can be deleted with the same token.
            return self.delete_upload(id, Some(token_hash));
        };
        let rec = BlobRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
        if rec.delete_hash != token_hash {
            return Ok(false);
        }
        self.remove_blob(id, &rec)?;
        Ok(true)
    }

    fn remove_blob(&self, id: &BlobId, rec: &BlobRecord) -> Result<(), StoreError> {
        self.blobs.remove(id.as_bytes())?;
        self.expiry.remove(&expiry_key(rec.expires_at, id)[..])?;
        self.db.flush()?;
        self.retire(id)
    }

    /// Erases the file of a blob whose record is gone, once no download is
    /// reading it. It waits in `burning/`, so a restart erases it too.
    fn retire(&self, id: &BlobId) -> Result<(), StoreError> {
        let burning = self.dir.join("burning").join(file_name(id));
        match fs::rename(self.blob_path(id), &burning) {
            Ok(()) => Ok(self.readers.erase_after_readers(id, burning)?),
            // Retired by another removal already (a deletion racing the last download).
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes expired blobs and stale uploads; returns how many.
    pub fn sweep(&self, now: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        let due: Vec<_> = self
            .expiry
            .range(..expiry_key(now.saturating_add(1), &BlobId::from_bytes([0; 16])))
            .keys()
            .collect::<Result<_, _>>()?;
        for key in due {
            let Some((_, id)) = split_expiry_key(&key) else {
                self.expiry.remove(key)?;
                continue;
            };
            match self
                .blobs
                .get(id.as_bytes())?
                .as_deref()
                .and_then(BlobRecord::decode)
            {
                Some(rec) => self.remove_blob(&id, &rec)?,
                None => {
                    self.expiry.remove(key)?;
                }
            }
            n += 1;
        }
        let stale: Vec<BlobId> = self
            .uploads
            .iter()
            .filter_map(Result::ok)
            .filter_map(|(k, v)| {
                let id = BlobId::from_bytes(k.as_ref().try_into().ok()?);
                let rec = UploadRecord::decode(&v);
                (rec.is_none_or(|r| r.upload_expires_at <= now)).then_some(id)
            })
            .collect();
        for id in stale {
            self.delete_upload(&id, None)?;
            n += 1;
        }
        if n > 0 {
            self.db.flush()?;
        }
        Ok(n)
    }

    /// Brings the directory and the database back into agreement after a crash.
    fn recover(&self) -> Result<(), StoreError> {
        for sub in ["tmp", "burning"] {
            for entry in fs::read_dir(self.dir.join(sub))? {
                shred(&entry?.path())?;
            }
        }
        // Records whose file is missing, and corrupt records.
        let mut broken = Vec::new();
        for item in self.blobs.iter() {
            let (k, v) = item?;
            let Ok(raw): Result<[u8; 16], _> = k.as_ref().try_into() else {
                broken.push((k.to_vec(), None));
                continue;
            };
            let id = BlobId::from_bytes(raw);
            let rec = BlobRecord::decode(&v);
            let ok = rec.is_some_and(|r| {
                fs::metadata(self.blob_path(&id)).is_ok_and(|m| m.len() == r.size)
            });
            if !ok {
                broken.push((k.to_vec(), rec.map(|r| expiry_key(r.expires_at, &id))));
            }
        }
        for (k, exp) in broken {
            self.blobs.remove(k)?;
            if let Some(e) = exp {
                self.expiry.remove(&e[..])?;
            }
        }
        // Files with no record (a crash between rename and commit), and
        // upload files with no record.
        self.shred_unknown("blobs", &self.blobs)?;
        self.shred_unknown("uploads", &self.uploads)?;
        // Upload records with no file.
        let orphans: Vec<_> = self
            .uploads
            .iter()
            .keys()
            .filter_map(Result::ok)
            .filter(|k| {
                let id = <[u8; 16]>::try_from(k.as_ref())
                    .ok()
                    .map(BlobId::from_bytes);
                id.is_none_or(|id| !self.upload_path(&id).exists())
            })
            .collect();
        for k in orphans {
            self.uploads.remove(k)?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// Erases every file in `sub` whose name is not a key of `tree`.
    fn shred_unknown(&self, sub: &str, tree: &sled::Tree) -> Result<(), StoreError> {
        for entry in fs::read_dir(self.dir.join(sub))? {
            let path = entry?.path();
            let known = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(BlobId::parse)
                .map(|id| tree.contains_key(id.as_bytes()))
                .transpose()?
                .unwrap_or(false);
            if !known {
                shred(&path)?;
            }
        }
        Ok(())
    }

    // ---- tus uploads ----

    /// Registers a new upload with an empty file.
    pub fn create_upload(&self, id: &BlobId, rec: &UploadRecord) -> Result<(), StoreError> {
        let f = File::create(self.upload_path(id))?;
        f.sync_all()?;
        Self::sync_dir(&self.dir.join("uploads"))?;
        self.uploads.insert(id.as_bytes(), rec.encode())?;
        self.db.flush()?;
        Ok(())
    }

    /// An upload's record, if it exists and has not expired.
    pub fn upload(&self, id: &BlobId, now: u64) -> Result<Option<UploadRecord>, StoreError> {
        let Some(raw) = self.uploads.get(id.as_bytes())? else {
            return Ok(None);
        };
        let rec = UploadRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
        Ok((rec.upload_expires_at > now).then_some(rec))
    }

    /// Opens an upload's file for appending at the recorded offset,
    /// cutting off anything a crash left beyond it.
    pub fn open_upload(&self, id: &BlobId, offset: u64) -> Result<File, StoreError> {
        let mut f = OpenOptions::new().write(true).open(self.upload_path(id))?;
        f.set_len(offset)?;
        f.seek(SeekFrom::Start(offset))?;
        Ok(f)
    }

    /// Records a new durable offset (the caller fsynced the file).
    pub fn set_upload_offset(&self, id: &BlobId, rec: &UploadRecord) -> Result<(), StoreError> {
        self.uploads.insert(id.as_bytes(), rec.encode())?;
        self.db.flush()?;
        Ok(())
    }

    /// Turns a complete upload into a blob, atomically from outside.
    pub fn finish_upload(&self, id: &BlobId, blob: &BlobRecord) -> Result<(), StoreError> {
        self.commit(id, &self.upload_path(id), blob)?;
        self.uploads.remove(id.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Terminates an upload. With `token`, only if it matches.
    pub fn delete_upload(&self, id: &BlobId, token: Option<Digest32>) -> Result<bool, StoreError> {
        let Some(raw) = self.uploads.get(id.as_bytes())? else {
            return Ok(false);
        };
        if let Some(t) = token {
            let ok = UploadRecord::decode(&raw).is_some_and(|r| r.delete_hash == t);
            if !ok {
                return Ok(false);
            }
        }
        self.uploads.remove(id.as_bytes())?;
        self.db.flush()?;
        shred(&self.upload_path(id))?;
        Ok(true)
    }

    /// Flushes sled (shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// Overwrites a file with zeros, syncs, then unlinks it. Best effort on
/// SSDs and copy-on-write file systems (see docs/API.md); a missing file is
/// not an error.
pub fn shred(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).open(path) {
        Ok(mut f) => {
            let len = f.metadata()?.len();
            let zeros = vec![0u8; 1 << 20];
            let mut left = len;
            while left > 0 {
                let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
                f.write_all(zeros.get(..n).unwrap_or_default())?;
                left -= n as u64;
            }
            f.sync_all()?;
            drop(f);
            fs::remove_file(path)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
