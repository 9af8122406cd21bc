//! Shares (version 2 containers) end to end in the reference code: random
//! sets of files round-trip; any one file, or any run of files, decrypts
//! from its own records alone; those records cannot be swapped, cut or
//! flipped.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use veil_core::{Decryptor, Encryptor, Link, Manifest, Metadata, HEADER_LEN};

fn files(sizes: &[usize]) -> (Manifest, Vec<Vec<u8>>) {
    let metas = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| Metadata {
            name: format!("dir{}/f{i}.bin", i % 3),
            mime: "application/octet-stream".into(),
            size: size as u64,
            report: vec!["not an image: sent as is".into()],
        })
        .collect();
    let bodies = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (i * 7 + j * 13) as u8).collect())
        .collect();
    (Manifest::share(metas).unwrap(), bodies)
}

fn seal(link: &Link, manifest: &Manifest, bodies: &[Vec<u8>], record_size: u32) -> Vec<u8> {
    let key = link.unlock(None).unwrap();
    let mut enc = Encryptor::for_manifest(&key, manifest, record_size).unwrap();
    let mut out = enc.header().to_vec();
    for b in bodies {
        out.extend(enc.push(b).unwrap());
    }
    let want = enc.container_len();
    out.extend(enc.finish().unwrap());
    assert_eq!(out.len() as u64, want);
    assert_eq!(veil_core::container_len(manifest, record_size), Ok(want));
    out
}

fn head_len(sealed: &[u8]) -> usize {
    HEADER_LEN + u32::from_be_bytes(sealed[56..60].try_into().unwrap()) as usize
}

/// Decrypts files `first..=last` from their records alone.
fn some_files(link: &Link, sealed: &[u8], first: usize, last: usize) -> Result<Vec<u8>, ()> {
    let mut dec = Decryptor::new(link.unlock(None).unwrap());
    let head = head_len(sealed);
    dec.push(&sealed[..head]).map_err(|_| ())?;
    let manifest = dec.manifest().cloned().ok_or(())?;
    let range = manifest.content_range(first, last).ok_or(())?;
    let sel = dec.select(range.clone()).map_err(|_| ())?;
    let part = dec
        .push(&sealed[sel.bytes.start as usize..sel.bytes.end as usize])
        .map_err(|_| ())?;
    dec.finish().map_err(|_| ())?;
    let skip = (range.start - sel.content_start) as usize;
    Ok(part[skip..skip + (range.end - range.start) as usize].to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_run_of_files_decrypts_alone(
        sizes in proptest::collection::vec(0usize..300, 1..8),
        record_size in 16u32..100,
        pick in any::<(usize, usize)>(),
    ) {
        let link = Link::generate(None).unwrap();
        let (manifest, bodies) = files(&sizes);
        let sealed = seal(&link, &manifest, &bodies, record_size);
        // Whole, in one go.
        let mut dec = Decryptor::new(link.unlock(None).unwrap());
        let all = dec.push(&sealed).unwrap();
        prop_assert_eq!(dec.finish().unwrap(), manifest.clone());
        prop_assert_eq!(&all, &bodies.concat());
        // A run of files, alone.
        let n = sizes.len();
        let (a, b) = (pick.0 % n, pick.1 % n);
        let (first, last) = (a.min(b), a.max(b));
        prop_assert_eq!(some_files(&link, &sealed, first, last).unwrap(), bodies[first..=last].concat());
    }

    #[test]
    fn a_selection_cannot_be_cut_or_flipped(
        sizes in proptest::collection::vec(1usize..200, 2..6),
        flip in any::<usize>(),
    ) {
        let link = Link::generate(None).unwrap();
        let (manifest, bodies) = files(&sizes);
        let sealed = seal(&link, &manifest, &bodies, 32);
        let last = sizes.len() - 1;
        let mut dec = Decryptor::new(link.unlock(None).unwrap());
        dec.push(&sealed[..head_len(&sealed)]).unwrap();
        let sel = dec.select(manifest.content_range(last, last).unwrap()).unwrap();
        let mut part = sealed[sel.bytes.start as usize..sel.bytes.end as usize].to_vec();
        // Cut: a record short.
        let mut cut = Decryptor::new(link.unlock(None).unwrap());
        cut.push(&sealed[..head_len(&sealed)]).unwrap();
        cut.select(manifest.content_range(last, last).unwrap()).unwrap();
        let pushed = cut.push(&part[..part.len() - 1]);
        prop_assert!(pushed.is_err() || cut.finish().is_err());
        // Flipped.
        let at = flip % part.len();
        part[at] ^= 1;
        prop_assert!(dec.push(&part).is_err() || dec.finish().is_err());
    }
}

#[test]
fn select_is_refused_anywhere_but_right_after_the_head() {
    let link = Link::generate(None).unwrap();
    let (manifest, bodies) = files(&[100, 100]);
    let sealed = seal(&link, &manifest, &bodies, 64);
    let mut dec = Decryptor::new(link.unlock(None).unwrap());
    assert!(dec.select(0..1).is_err(), "before the head");
    dec.push(&sealed[..head_len(&sealed) + 1]).unwrap();
    assert!(dec.select(0..1).is_err(), "after a record began");
    let mut dec = Decryptor::new(link.unlock(None).unwrap());
    dec.push(&sealed[..head_len(&sealed)]).unwrap();
    assert!(dec.select(0..201).is_err(), "beyond the content");
    assert!(dec.select(0..200).is_ok());
}
