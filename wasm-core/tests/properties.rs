//! Property tests of the container: round trips for random sizes, record
//! sizes and chunkings, and rejection of every kind of tampering (truncation,
//! record swap, bit flip, header change, appended data) with the one opaque
//! error.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use veil_core::{
    container_len, largest_content, DecryptError, Decryptor, Encryptor, FileKey, Link, Manifest,
    Metadata, HEADER_LEN,
};

fn key_pair() -> (Link, FileKey) {
    let link = Link::generate(None).unwrap();
    let key = link.unlock(None).unwrap();
    (link, key)
}

fn seal(key: &FileKey, data: &[u8], record_size: u32, chunk: usize) -> Vec<u8> {
    let meta = Metadata {
        name: "p.bin".into(),
        mime: String::new(),
        size: data.len() as u64,
        report: vec![],
    };
    let mut enc = Encryptor::new(key, &meta, record_size).unwrap();
    let mut out = enc.header().to_vec();
    for piece in data.chunks(chunk.max(1)) {
        out.extend(enc.push(piece).unwrap());
    }
    // Stream part of the padding, then let finish do the rest.
    out.extend(enc.pad(3).unwrap());
    let expected = enc.container_len();
    out.extend(enc.finish().unwrap());
    assert_eq!(out.len() as u64, expected);
    out
}

fn open(link: &Link, sealed: &[u8], chunk: usize) -> Result<Vec<u8>, DecryptError> {
    let mut dec = Decryptor::new(link.unlock(None).unwrap());
    let mut out = Vec::new();
    for piece in sealed.chunks(chunk.max(1)) {
        out.extend(dec.push(piece)?);
    }
    dec.finish()?;
    Ok(out)
}

/// Offset of the first record (header plus sealed metadata).
fn records_start(sealed: &[u8]) -> usize {
    let len = u32::from_be_bytes(sealed[56..60].try_into().unwrap());
    HEADER_LEN + len as usize
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The largest content a limit allows fits it, one byte more does not.
    #[test]
    fn largest_content_is_exact(max in 0u64..(1 << 40), rs in 16u32..(1 << 20), name in "[a-z]{0,40}") {
        let meta = Metadata { name, mime: "image/jpeg".into(), size: 0, report: vec!["GPS".into()] };
        let len = |size: u64| container_len(&Manifest::file(Metadata { size, ..meta.clone() }), rs).unwrap();
        let n = largest_content(max, &meta, rs);
        if n > 0 || len(0) <= max {
            prop_assert!(len(n) <= max);
        }
        prop_assert!(len(n + 1) > max);
    }

    #[test]
    fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..5000),
                  rs in 16u32..700, chunk in 1usize..3000, dchunk in 1usize..3000) {
        let (link, key) = key_pair();
        let sealed = seal(&key, &data, rs, chunk);
        prop_assert_eq!(open(&link, &sealed, dchunk).unwrap(), data);
    }

    #[test]
    fn any_truncation_is_rejected(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                  rs in 16u32..300, cut in any::<prop::sample::Index>()) {
        let (link, key) = key_pair();
        let sealed = seal(&key, &data, rs, 1000);
        let cut = cut.index(sealed.len());
        prop_assert_eq!(open(&link, &sealed[..cut], 100), Err(DecryptError));
    }

    #[test]
    fn any_bit_flip_is_rejected(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                rs in 16u32..300, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (link, key) = key_pair();
        let mut sealed = seal(&key, &data, rs, 1000);
        let at = at.index(sealed.len());
        sealed[at] ^= 1 << bit;
        prop_assert_eq!(open(&link, &sealed, 100), Err(DecryptError));
    }

    #[test]
    fn appended_data_is_rejected(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                 rs in 16u32..300, extra in proptest::collection::vec(any::<u8>(), 1..100)) {
        let (link, key) = key_pair();
        let mut sealed = seal(&key, &data, rs, 1000);
        sealed.extend(extra);
        prop_assert_eq!(open(&link, &sealed, 100), Err(DecryptError));
    }

    #[test]
    fn record_swap_and_duplication_are_rejected(data in proptest::collection::vec(any::<u8>(), 200..3000),
                                                rs in 16u32..64, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let (link, key) = key_pair();
        let sealed = seal(&key, &data, rs, 1000);
        let start = records_start(&sealed);
        let rec = rs as usize + 16;
        // Only full-size records can be swapped in place.
        let full = (sealed.len() - start) / rec - 1;
        prop_assume!(full >= 2);
        let (i, j) = (a.index(full), b.index(full));
        prop_assume!(i != j);
        let mut swapped = sealed.clone();
        let (ri, rj) = (start + i * rec, start + j * rec);
        let tmp = sealed[ri..ri + rec].to_vec();
        swapped[ri..ri + rec].copy_from_slice(&sealed[rj..rj + rec]);
        swapped[rj..rj + rec].copy_from_slice(&tmp);
        prop_assert_eq!(open(&link, &swapped, 100), Err(DecryptError));
        let mut dup = sealed.clone();
        dup[rj..rj + rec].copy_from_slice(&tmp);
        prop_assert_eq!(open(&link, &dup, 100), Err(DecryptError));
    }

    #[test]
    fn header_changes_are_rejected(data in proptest::collection::vec(any::<u8>(), 0..500),
                                   at in 0usize..HEADER_LEN, value in any::<u8>()) {
        let (link, key) = key_pair();
        let mut sealed = seal(&key, &data, 64, 1000);
        prop_assume!(sealed[at] != value);
        sealed[at] = value;
        prop_assert_eq!(open(&link, &sealed, 100), Err(DecryptError));
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
        let (link, _) = key_pair();
        prop_assert_eq!(open(&link, &bytes, 37), Err(DecryptError));
    }
}

#[test]
fn wrong_key_and_wrong_password_are_the_same_error() {
    let (_, key) = key_pair();
    let sealed = seal(&key, b"secret data", 64, 5);
    let (other, _) = key_pair();
    assert_eq!(open(&other, &sealed, 9), Err(DecryptError));

    let pw_link = Link::generate(Some(veil_core::Argon2Params {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    }))
    .unwrap();
    let sealed = seal(
        &pw_link.unlock(Some("right")).unwrap(),
        b"secret data",
        64,
        5,
    );
    let mut dec = Decryptor::new(pw_link.unlock(Some("wrong")).unwrap());
    assert_eq!(dec.push(&sealed), Err(DecryptError));
    // The proof depends on the password, so a wrong one cannot fetch.
    assert_ne!(
        pw_link
            .unlock(Some("wrong"))
            .unwrap()
            .download_proof()
            .verifier(),
        pw_link
            .unlock(Some("right"))
            .unwrap()
            .download_proof()
            .verifier()
    );
    let mut dec = Decryptor::new(pw_link.unlock(Some("right")).unwrap());
    assert_eq!(dec.push(&sealed).unwrap(), b"secret data");
    dec.finish().unwrap();
}

#[test]
fn password_rules() {
    let plain = Link::generate(None).unwrap();
    assert_eq!(
        plain.unlock(Some("x")).err(),
        Some(veil_core::Error::PasswordNotExpected)
    );
    let pw = Link::generate(Some(veil_core::Argon2Params::DEFAULT)).unwrap();
    assert_eq!(
        pw.unlock(None).err(),
        Some(veil_core::Error::PasswordRequired)
    );
    assert_eq!(
        pw.unlock(Some("")).err(),
        Some(veil_core::Error::EmptyPassword)
    );
}

#[test]
fn fragments_parse_strictly() {
    let link = Link::generate(Some(veil_core::Argon2Params::DEFAULT)).unwrap();
    let frag = link.fragment();
    assert_eq!(frag.len(), 43 + 1 + 16);
    let again = Link::parse_fragment(&format!("#{}", frag.as_str())).unwrap();
    assert_eq!(again.fragment().as_str(), frag.as_str());
    for bad in [
        "",
        "abc",
        &frag[..42],
        &format!("{}=", &frag[..43]),
        &format!("{}.", &frag[..43]),
        &format!("{}!", &frag[1..44]),
    ] {
        assert!(Link::parse_fragment(bad).is_err(), "{bad:?}");
    }
    // A non-canonical last character (stray low bits) is refused.
    let plain = Link::generate(None).unwrap();
    let f = plain.fragment();
    let last = f.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = alphabet.find(last).unwrap();
    let twin = alphabet.chars().nth(pos ^ 1).unwrap();
    assert!(Link::parse_fragment(&format!("{}{}", &f[..42], twin)).is_err());
    // Out-of-range Argon2 parameters in a link are refused.
    let huge = veil_core::Argon2Params {
        m_cost: u32::MAX,
        t_cost: 1,
        p_cost: 1,
    };
    assert!(Link::from_parts(veil_core::LinkSecret::from_bytes([1; 32]), Some(huge)).is_err());
}

#[test]
fn encryptor_enforces_declared_size() {
    let (_, key) = key_pair();
    let meta = Metadata {
        size: 10,
        ..Metadata::default()
    };
    let mut enc = Encryptor::new(&key, &meta, 64).unwrap();
    assert!(enc.push(&[0; 11]).is_err());
    enc.push(&[0; 9]).unwrap();
    assert_eq!(enc.finish().err(), Some(veil_core::Error::SizeMismatch));
    assert_eq!(
        Encryptor::new(&key, &meta, 15).err(),
        Some(veil_core::Error::InvalidRecordSize)
    );
}
