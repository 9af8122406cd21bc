//! The published test vectors in `tests/vectors/*.json`: each is rebuilt
//! from its inputs with its fixed salt and must match byte for byte, and
//! each container must decrypt back to its plaintext and metadata.
//!
//! Regenerate (only when the format changes, which needs a new version):
//! `VEIL_REGENERATE_VECTORS=1 cargo test -p wasm-core --test vectors`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use veil_core::{
    Argon2Params, Decryptor, Encryptor, Link, LinkSecret, Manifest, Metadata, HEADER_LEN,
};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Kdf {
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Meta {
    name: String,
    #[serde(rename = "type")]
    mime: String,
    size: u64,
    report: Vec<String>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vector {
    description: String,
    secret: String,
    password: Option<String>,
    kdf: Option<Kdf>,
    fragment: String,
    salt: String,
    record_size: u32,
    /// A one-file container's metadata (version 1)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<Meta>,
    /// ...or a share's files, in content order (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<Vec<Meta>>,
    /// For a share: the records of its last file alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    one_file: Option<OneFile>,
    plaintext: String,
    download_proof: String,
    download_proof_sha256: String,
    content_key: String,
    metadata_key: String,
    nonce_prefix: String,
    container: String,
}

/// The container bytes that hold one file of a share, and where in the
/// content their plaintext starts (`Decryptor::select`).
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct OneFile {
    index: usize,
    from: u64,
    to: u64,
    content_start: u64,
}

impl From<&Metadata> for Meta {
    fn from(m: &Metadata) -> Self {
        Self {
            name: m.name.clone(),
            mime: m.mime.clone(),
            size: m.size,
            report: m.report.clone(),
        }
    }
}

fn to_metadata(m: &Meta) -> Metadata {
    Metadata {
        name: m.name.clone(),
        mime: m.mime.clone(),
        size: m.size,
        report: m.report.clone(),
    }
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// A deterministic byte pattern, so vectors need no random plaintext.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

struct Case {
    file: &'static str,
    description: &'static str,
    size: usize,
    record_size: u32,
    password: Option<&'static str>,
    kdf: Option<Argon2Params>,
    /// A share: each file's path and size (`size` is then their sum).
    share: Option<Vec<(&'static str, usize)>>,
}

const SMALL_KDF: Argon2Params = Argon2Params {
    m_cost: 1024,
    t_cost: 1,
    p_cost: 1,
};

fn cases() -> Vec<Case> {
    vec![
        Case {
            file: "01-empty.json",
            description: "empty file: one empty final record",
            size: 0,
            record_size: 64,
            password: None,
            kdf: None,
            share: None,
        },
        Case {
            file: "02-one-record.json",
            description: "exactly one full record (64 bytes at record size 64; PADMÉ(64) = 64)",
            size: 64,
            record_size: 64,
            password: None,
            kdf: None,
            share: None,
        },
        Case {
            file: "03-one-byte-over.json",
            description: "one byte over a record: 65 bytes pad to 72, two records",
            size: 65,
            record_size: 64,
            password: None,
            kdf: None,
            share: None,
        },
        Case {
            file: "04-multi-record.json",
            description: "multi-record: 1000 bytes pad to 1024, sixteen records",
            size: 1000,
            record_size: 64,
            password: None,
            kdf: None,
            share: None,
        },
        Case {
            file: "05-password-small-kdf.json",
            description:
                "password with small Argon2id parameters (m=1024 KiB, t=1, p=1), 100 bytes",
            size: 100,
            record_size: 64,
            password: Some("correct horse battery staple"),
            kdf: Some(SMALL_KDF),
            share: None,
        },
        Case {
            file: "06-password-default-kdf.json",
            description: "password with the default Argon2id parameters, 3 records",
            size: 130,
            record_size: 64,
            password: Some("pässwörd ✓"),
            kdf: Some(Argon2Params::DEFAULT),
            share: None,
        },
        Case {
            file: "07-default-record-size.json",
            description: "default 64 KiB record size, 70000 bytes pad to 71680, two records",
            size: 70_000,
            record_size: 65_536,
            password: None,
            kdf: None,
            share: None,
        },
        Case {
            file: "08-password-nfd.json",
            description: "password given decomposed (NFD: a, o followed by U+0308): it is \
                normalised to NFC before Argon2id, so it gives the key of the composed password",
            size: 10,
            record_size: 64,
            password: Some("pa\u{308}sswo\u{308}rd"),
            kdf: Some(SMALL_KDF),
            share: None,
        },
        Case {
            file: "09-share.json",
            description: "a share (version 2) of three files, one in a folder, one empty: \
                50 + 0 + 30 bytes concatenated, padded to 80, two records",
            size: 80,
            record_size: 64,
            password: None,
            kdf: None,
            share: Some(vec![
                ("photos/a.jpg", 50),
                ("empty.txt", 0),
                ("notes.txt", 30),
            ]),
        },
        Case {
            file: "10-share-password-four-blocks.json",
            description: "a share of eleven files under a password: the manifest's fields take \
                742 bytes (three 256-byte blocks) and it is padded to four (a power of two)",
            size: 11 * 20,
            record_size: 64,
            password: Some("correct horse battery staple"),
            kdf: Some(SMALL_KDF),
            share: Some(
                [
                    "trip/day-01/IMG_0001.jpg",
                    "trip/day-01/IMG_0002.jpg",
                    "trip/day-01/IMG_0003.jpg",
                    "trip/day-02/IMG_0004.jpg",
                    "trip/day-02/IMG_0005.jpg",
                    "trip/day-02/IMG_0006.jpg",
                    "trip/day-03/IMG_0007.jpg",
                    "trip/day-03/IMG_0008.jpg",
                    "trip/day-03/IMG_0009.jpg",
                    "trip/day-04/IMG_0010.jpg",
                    "trip/day-04/IMG_0011.jpg",
                ]
                .map(|p| (p, 20))
                .to_vec(),
            ),
        },
    ]
}

fn build(case: &Case, index: u8) -> Vector {
    let secret = [index; 32].map(|b| b.wrapping_mul(17).wrapping_add(3));
    let salt = [index; 32].map(|b| b.wrapping_mul(29).wrapping_add(101));
    let link = Link::from_parts(LinkSecret::from_bytes(secret), case.kdf).unwrap();
    let key = link.unlock(case.password).unwrap();
    let plaintext = pattern(case.size);
    let report = |n: usize| {
        if n.is_multiple_of(2) {
            vec!["GPS position".into(), "camera: NIKON D5000".into()]
        } else {
            vec![]
        }
    };
    let manifest = match &case.share {
        None => Manifest::file(Metadata {
            name: format!("vector-{index}.bin"),
            mime: "application/octet-stream".into(),
            size: case.size as u64,
            report: report(usize::from(index)),
        }),
        Some(files) => Manifest::share(
            files
                .iter()
                .enumerate()
                .map(|(i, (path, size))| Metadata {
                    name: (*path).into(),
                    mime: if path.ends_with(".jpg") {
                        "image/jpeg"
                    } else {
                        "text/plain"
                    }
                    .into(),
                    size: *size as u64,
                    report: report(i),
                })
                .collect(),
        )
        .unwrap(),
    };
    let mut enc = Encryptor::manifest_with_salt(&key, &manifest, case.record_size, salt).unwrap();
    let mut container = enc.header().to_vec();
    container.extend(enc.push(&plaintext).unwrap());
    container.extend(enc.finish().unwrap());
    let header: [u8; HEADER_LEN] = container[..HEADER_LEN].try_into().unwrap();
    let (content, metadata, nonce) = key.subkeys_for_vectors(&header);
    let proof = key.download_proof();
    Vector {
        description: case.description.into(),
        secret: hex::encode(secret),
        password: case.password.map(Into::into),
        kdf: case.kdf.map(|k| Kdf {
            m_cost: k.m_cost,
            t_cost: k.t_cost,
            p_cost: k.p_cost,
        }),
        fragment: link.fragment().to_string(),
        salt: hex::encode(salt),
        record_size: case.record_size,
        metadata: (!manifest.is_share()).then(|| Meta::from(&manifest.files()[0])),
        files: manifest
            .is_share()
            .then(|| manifest.files().iter().map(Meta::from).collect()),
        one_file: manifest
            .is_share()
            .then(|| one_file(link.unlock(case.password).unwrap(), &container, &manifest)),
        plaintext: hex::encode(&plaintext),
        download_proof: proof.to_base64().to_string(),
        download_proof_sha256: proof.verifier_base64(),
        content_key: hex::encode(content),
        metadata_key: hex::encode(metadata),
        nonce_prefix: hex::encode(nonce),
        container: hex::encode(&container),
    }
}

/// Where the last file of a share lies, found by the reference decryptor.
fn one_file(key: veil_core::FileKey, container: &[u8], manifest: &Manifest) -> OneFile {
    let index = manifest.files().len() - 1;
    let mut dec = Decryptor::new(key);
    let head = HEADER_LEN + u32::from_be_bytes(container[56..60].try_into().unwrap()) as usize;
    assert!(dec.push(&container[..head]).unwrap().is_empty());
    let sel = dec
        .select(manifest.content_range(index, index).unwrap())
        .unwrap();
    OneFile {
        index,
        from: sel.bytes.start,
        to: sel.bytes.end,
        content_start: sel.content_start,
    }
}

#[test]
fn vectors_match_and_decrypt() {
    let regenerate = std::env::var_os("VEIL_REGENERATE_VECTORS").is_some();
    for (i, case) in cases().iter().enumerate() {
        let built = build(case, u8::try_from(i + 1).unwrap());
        let path = dir().join(case.file);
        if regenerate {
            std::fs::write(&path, serde_json::to_string_pretty(&built).unwrap() + "\n").unwrap();
        }
        let stored: Vector =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            stored, built,
            "{} no longer matches what the code produces",
            case.file
        );

        // Decrypt the stored container from its fragment and password alone.
        let link = Link::parse_fragment(&stored.fragment).unwrap();
        assert_eq!(
            hex::encode(
                link.unlock(stored.password.as_deref())
                    .unwrap()
                    .download_proof()
                    .verifier()
            )
            .len(),
            64
        );
        let key = link.unlock(stored.password.as_deref()).unwrap();
        // The composed and decomposed spellings of a password are one password.
        if let Some(pw) = &stored.password {
            use unicode_normalization::UnicodeNormalization;
            for spelling in [pw.nfc().collect::<String>(), pw.nfd().collect()] {
                assert_eq!(
                    link.unlock(Some(&spelling))
                        .unwrap()
                        .download_proof()
                        .to_base64()
                        .as_str(),
                    stored.download_proof,
                    "{}",
                    case.file
                );
            }
        }
        assert_eq!(
            key.download_proof().to_base64().as_str(),
            stored.download_proof
        );
        let mut dec = Decryptor::new(key);
        let container = hex::decode(&stored.container).unwrap();
        // Feed in awkward pieces to exercise buffering.
        let mut plain = Vec::new();
        for piece in container.chunks(7) {
            plain.extend(dec.push(piece).unwrap());
        }
        let manifest = dec.finish().unwrap();
        assert_eq!(hex::encode(&plain), stored.plaintext, "{}", case.file);
        let files: Vec<Meta> = manifest.files().iter().map(Meta::from).collect();
        match (&stored.metadata, &stored.files) {
            (Some(one), None) => assert_eq!(files, [Meta::from(&to_metadata(one))]),
            (None, Some(many)) => assert_eq!(&files, many),
            _ => panic!("{}: metadata or files, not both", case.file),
        }
        assert_eq!(
            container.len() as u64,
            veil_core::container_len(&manifest, stored.record_size).unwrap()
        );
        // One file alone, from its records only.
        if let Some(one) = &stored.one_file {
            let mut dec = Decryptor::new(link.unlock(stored.password.as_deref()).unwrap());
            let head =
                HEADER_LEN + u32::from_be_bytes(container[56..60].try_into().unwrap()) as usize;
            dec.push(&container[..head]).unwrap();
            let range = manifest.content_range(one.index, one.index).unwrap();
            dec.select(range.clone()).unwrap();
            let part = dec
                .push(&container[one.from as usize..one.to as usize])
                .unwrap();
            dec.finish().unwrap();
            let skip = (range.start - one.content_start) as usize;
            let want = &plain[range.start as usize..range.end as usize];
            assert_eq!(&part[skip..skip + want.len()], want, "{}", case.file);
        }
    }
}
