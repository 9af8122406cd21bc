//! Erasing a blob (used up, deleted, expired) never overwrites bytes that a
//! download already granted is still reading, and still happens once the
//! last such download ends. Driven on the store directly, so the order of
//! events is fixed rather than left to a race.
#![allow(clippy::panic, clippy::unwrap_used, missing_docs)]

use std::io::Read;
use std::path::Path;

use blob_server::ids::{Digest32, Slot};
use blob_server::record::BlobRecord;
use blob_server::store::{Claim, Store};

use crate::helpers::open_store;

const NOW: u64 = 1_000;
const BODY: &[u8] = &[0xA5; 300_000];

/// A fresh store in a temporary directory (kept alive by the returned guard).
fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).unwrap();
    (dir, store)
}

fn files(dir: &Path, sub: &str) -> usize {
    std::fs::read_dir(dir.join(sub)).unwrap().count()
}

fn put(store: &Store, dir: &Path, id: u8, max_downloads: u32) -> Slot {
    let id = Slot([id; 32]);
    let (file, tmp) = store.new_temp().unwrap();
    std::fs::write(&tmp, BODY).unwrap();
    let rec = BlobRecord {
        size: BODY.len() as u64,
        expires_at: NOW + 60,
        max_downloads,
        downloads: 0,
        delete_hash: Digest32([9; 32]),
        proof_hash: None,
        file,
    };
    store.commit(&id, &tmp, &rec).unwrap();
    assert_eq!(files(dir, "blobs"), 1);
    id
}

fn granted(store: &Store, id: &Slot) -> (std::fs::File, blob_server::erasure::ReadGuard) {
    match store.claim(id, NOW, None).unwrap() {
        Claim::Granted { file, reading, .. } => (file, reading),
        _ => panic!("download refused"),
    }
}

fn read_all(mut f: std::fs::File) -> Vec<u8> {
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn the_last_download_ending_first_does_not_erase_under_an_earlier_one() {
    let (dir, store) = open();
    let id = put(&store, dir.path(), 1, 2);
    let (early, early_guard) = granted(&store, &id);
    let (last, last_guard) = granted(&store, &id);
    assert!(matches!(store.claim(&id, NOW, None).unwrap(), Claim::Gone));
    // The last download finishes first.
    assert_eq!(read_all(last), BODY);
    drop(last_guard);
    assert_eq!(files(dir.path(), "burning"), 1, "erased too early");
    assert_eq!(
        read_all(early),
        BODY,
        "a granted download read erased bytes"
    );
    drop(early_guard);
    assert_eq!(
        files(dir.path(), "burning"),
        0,
        "not erased after the last reader"
    );
    assert_eq!(files(dir.path(), "blobs"), 0);
}

#[test]
fn deletion_during_a_download_waits_for_it() {
    let (dir, store) = open();
    let id = put(&store, dir.path(), 2, 0);
    let (file, guard) = granted(&store, &id);
    assert!(store.delete(&id, Digest32([9; 32])).unwrap());
    assert!(matches!(store.claim(&id, NOW, None).unwrap(), Claim::Gone));
    assert_eq!(files(dir.path(), "blobs"), 0);
    assert_eq!(read_all(file), BODY);
    drop(guard);
    assert_eq!(files(dir.path(), "burning"), 0);
}

#[test]
fn expiry_during_a_download_waits_for_it_and_a_restart_erases_leftovers() {
    let (dir, store) = open();
    let id = put(&store, dir.path(), 3, 0);
    let (file, guard) = granted(&store, &id);
    assert_eq!(store.sweep(NOW + 61).unwrap(), 1);
    assert_eq!(read_all(file), BODY);
    // A crash before the download ends: the moved-aside file is found at start-up.
    std::mem::forget(guard);
    drop(store);
    assert_eq!(files(dir.path(), "burning"), 1);
    let _store = open_store(dir.path()).unwrap();
    assert_eq!(files(dir.path(), "burning"), 0);
}

#[test]
fn without_readers_removal_erases_at_once() {
    let (dir, store) = open();
    let id = put(&store, dir.path(), 4, 0);
    assert!(store.delete(&id, Digest32([9; 32])).unwrap());
    assert_eq!(files(dir.path(), "blobs") + files(dir.path(), "burning"), 0);
}

#[test]
fn a_deletion_racing_downloads_always_deletes() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // Downloads of a limited blob rewrite its record (the count); a deletion
    // that lost such a race used to answer "deleted" and leave the blob.
    for round in 0..40u8 {
        let (dir, store) = open();
        let id = put(&store, dir.path(), round, 100_000);
        let store = std::sync::Arc::new(store);
        let (stop, claims) = (
            std::sync::Arc::new(AtomicBool::new(false)),
            std::sync::Arc::new(AtomicUsize::new(0)),
        );
        let claimers: Vec<_> = (0..4)
            .map(|_| {
                let (store, stop, claims) = (store.clone(), stop.clone(), claims.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if matches!(store.claim(&id, NOW, None).unwrap(), Claim::Gone) {
                            break;
                        }
                        claims.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        // Delete in the middle of the claims.
        while claims.load(Ordering::Relaxed) < 20 {
            std::thread::yield_now();
        }
        let deleted = store.delete(&id, Digest32([9; 32])).unwrap();
        let left = store.peek(&id, NOW).unwrap().is_some();
        stop.store(true, Ordering::Relaxed);
        for c in claimers {
            c.join().unwrap();
        }
        assert!(deleted, "round {round}: the owner's deletion was refused");
        assert!(
            !left,
            "round {round}: answered deleted, yet the blob is still there"
        );
    }
}

#[test]
fn a_data_directory_from_before_slots_keeps_its_live_blobs() {
    use blob_server::ids::{slot, BlobId};
    // Written the way the previous version did: sled in DATA/db, records
    // keyed by the id (version 1), the file named by the id.
    let dir = tempfile::tempdir().unwrap();
    let id = BlobId::from_bytes([7; 16]);
    std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
    std::fs::write(dir.path().join("blobs").join(id.to_string()), BODY).unwrap();
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&(BODY.len() as u64).to_be_bytes());
        v1.extend_from_slice(&(NOW + 60).to_be_bytes());
        v1.extend_from_slice(&0u32.to_be_bytes());
        v1.extend_from_slice(&0u32.to_be_bytes());
        v1.extend_from_slice(&[9; 32]);
        v1.extend_from_slice(&[0; 33]);
        db.open_tree("blobs")
            .unwrap()
            .insert(id.as_bytes(), v1)
            .unwrap();
        db.flush().unwrap();
    }
    let store = open_store(dir.path()).unwrap();
    let slot = slot(&id);
    let (file, _guard) = granted(&store, &slot);
    assert_eq!(read_all(file), BODY);
    assert!(!dir.path().join("db").exists(), "the old database was kept");
    let names: Vec<String> = std::fs::read_dir(dir.path().join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1);
    assert_ne!(
        names[0],
        id.to_string(),
        "the file is still named by its id"
    );
    drop(store);
    // And again after a restart.
    let store = open_store(dir.path()).unwrap();
    assert!(store.peek(&slot, NOW).unwrap().is_some());
}

#[test]
fn a_migration_interrupted_after_the_rename_finishes_at_the_next_start() {
    use blob_server::ids::{slot, BlobId, FileName};
    // A crash left: the old record, the new record, and the file already
    // under its new name.
    let dir = tempfile::tempdir().unwrap();
    let id = BlobId::from_bytes([8; 16]);
    let file = FileName::generate().unwrap();
    std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
    std::fs::write(dir.path().join("blobs").join(file.to_string()), BODY).unwrap();
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        let blobs = db.open_tree("blobs").unwrap();
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&(BODY.len() as u64).to_be_bytes());
        v1.extend_from_slice(&(NOW + 60).to_be_bytes());
        v1.extend_from_slice(&[0; 8]);
        v1.extend_from_slice(&[9; 32]);
        v1.extend_from_slice(&[0; 33]);
        blobs.insert(id.as_bytes(), v1).unwrap();
        let rec = BlobRecord {
            size: BODY.len() as u64,
            expires_at: NOW + 60,
            max_downloads: 0,
            downloads: 0,
            delete_hash: Digest32([9; 32]),
            proof_hash: None,
            file,
        };
        blobs.insert(slot(&id).0, rec.encode()).unwrap();
        db.flush().unwrap();
    }
    let store = open_store(dir.path()).unwrap();
    let (f, _guard) = granted(&store, &slot(&id));
    assert_eq!(read_all(f), BODY);
}

#[test]
fn a_store_whose_database_went_missing_refuses_to_start_instead_of_starting_empty() {
    let (dir, store) = open();
    let id = put(&store, dir.path(), 3, 0);
    drop(store);
    let current = std::fs::read_to_string(dir.path().join("db-current")).unwrap();
    std::fs::rename(
        dir.path().join(format!("db-{}", current.trim())),
        dir.path().join("elsewhere"),
    )
    .unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(blob_server::store::StoreError::Generation(_))
    ));
    // The blob's file was not touched: putting the database back restores it.
    std::fs::rename(
        dir.path().join("elsewhere"),
        dir.path().join(format!("db-{}", current.trim())),
    )
    .unwrap();
    let store = open_store(dir.path()).unwrap();
    assert!(store.peek(&id, NOW).unwrap().is_some());
}

#[test]
fn a_second_process_on_the_same_data_directory_is_refused_with_a_clear_error() {
    let (dir, store) = open();
    let second = Store::open(dir.path());
    let Err(e) = second else {
        panic!("a second store opened the same directory");
    };
    assert!(matches!(e, blob_server::store::StoreError::Locked));
    assert!(
        e.to_string().contains("one process per data directory"),
        "{e}"
    );
    drop(store);
    // Released with the first store: the directory opens again.
    assert!(open_store(dir.path()).is_ok());
}
