//! Erasure: how a removed blob's bytes leave the disk ([`shred`]), and
//! who is reading which blob file, so that erasing a blob (used up, deleted
//! or expired) never overwrites bytes a download is still sending.
//!
//! A download enters the blob's entry *before* it opens the file and leaves
//! when its response body is dropped. Erasure goes through
//! [`Readers::erase_after_readers`]: with nobody inside it erases at once,
//! otherwise the path is left in the entry and the entry's `Drop`, which runs
//! exactly once when the last reader leaves, erases it. No polling, and no
//! window between "the last reader left" and "erase" for a new reader to slip
//! into: a reader that comes later cannot open the file, because its record
//! is removed and the file moved aside before erasure is requested.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::ids::Slot;

/// The open downloads of each blob (weak: an entry dies with its last reader).
#[derive(Default)]
pub struct Readers(Mutex<HashMap<Slot, Weak<Entry>>>);

/// One blob's readers share this; the file named here is erased when the
/// last of them lets go.
#[derive(Default)]
struct Entry {
    erase: Mutex<Option<PathBuf>>,
}

/// Held for as long as a download may read a blob's file.
#[must_use = "the file may be erased as soon as the guard is dropped"]
pub struct ReadGuard {
    _entry: Arc<Entry>,
}

impl Readers {
    /// Registers a reader of `id`. Call before opening the file.
    pub fn enter(&self, id: Slot) -> ReadGuard {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, w| w.strong_count() > 0);
        let entry = map.get(&id).and_then(Weak::upgrade).unwrap_or_else(|| {
            let e = Arc::new(Entry::default());
            map.insert(id, Arc::downgrade(&e));
            e
        });
        ReadGuard { _entry: entry }
    }

    /// Erases `path` (the moved-aside file of `id`) now if nobody reads `id`,
    /// else when the last reader leaves. Errors are returned only for an
    /// immediate erasure; a deferred one logs them.
    pub fn erase_after_readers(&self, id: &Slot, path: PathBuf) -> io::Result<()> {
        let live = {
            let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            map.get(id).and_then(Weak::upgrade)
        };
        match live {
            Some(entry) => {
                *entry.erase.lock().unwrap_or_else(PoisonError::into_inner) = Some(path);
                // If the readers left meanwhile, this drop is the last and erases.
                drop(entry);
                Ok(())
            }
            None => shred(&path),
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let path = self
            .erase
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(path) = path else {
            return;
        };
        let erase = move || {
            if let Err(e) = shred(&path) {
                tracing::error!(error = %e, "could not erase a removed blob");
            }
        };
        // Erasing writes the whole file: keep it off the async workers.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(erase)),
            Err(_) => erase(),
        }
    }
}

/// Overwrites a file with zeros, syncs, then unlinks it. Best effort on
/// SSDs and copy-on-write file systems (see docs/API.md); a missing file is
/// not an error. Blocks: call it on the blocking pool.
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
            match fs::remove_file(path) {
                // Moved or removed by someone else meanwhile: not ours to erase.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// [`shred`]s every file under `dir`, then removes the tree.
pub fn shred_tree(dir: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            shred_tree(&entry.path())?;
        } else {
            shred(&entry.path())?;
        }
    }
    fs::remove_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &std::path::Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"ciphertext").unwrap();
        p
    }

    #[test]
    fn erases_at_once_without_readers() {
        let dir = tempfile::tempdir().unwrap();
        let readers = Readers::default();
        let id = Slot([1; 32]);
        let p = file(dir.path(), "a");
        readers.erase_after_readers(&id, p.clone()).unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn waits_for_the_last_reader() {
        let dir = tempfile::tempdir().unwrap();
        let readers = Readers::default();
        let (id, other) = (Slot([1; 32]), Slot([2; 32]));
        let (first, second) = (readers.enter(id), readers.enter(id));
        let unrelated = readers.enter(other);
        let p = file(dir.path(), "a");
        readers.erase_after_readers(&id, p.clone()).unwrap();
        drop(first);
        assert!(p.exists(), "erased while a reader was still inside");
        drop(unrelated);
        assert!(p.exists(), "another blob's reader released this one");
        drop(second);
        assert!(!p.exists(), "not erased when the last reader left");
    }

    #[test]
    fn a_reader_entering_after_erasure_was_requested_delays_nothing_already_erased() {
        let dir = tempfile::tempdir().unwrap();
        let readers = Readers::default();
        let id = Slot([1; 32]);
        let p = file(dir.path(), "a");
        readers.erase_after_readers(&id, p.clone()).unwrap();
        let late = readers.enter(id);
        assert!(!p.exists());
        drop(late);
        // A fresh entry carries no erasure of its own.
        let q = file(dir.path(), "b");
        drop(readers.enter(id));
        assert!(q.exists());
    }
}
