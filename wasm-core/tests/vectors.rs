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
use veil_core::{Argon2Params, Decryptor, Encryptor, Link, LinkSecret, Metadata, HEADER_LEN};

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
    metadata: Meta,
    plaintext: String,
    download_proof: String,
    download_proof_sha256: String,
    content_key: String,
    metadata_key: String,
    nonce_prefix: String,
    container: String,
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
        },
        Case {
            file: "02-one-record.json",
            description: "exactly one full record (64 bytes at record size 64; PADMÉ(64) = 64)",
            size: 64,
            record_size: 64,
            password: None,
            kdf: None,
        },
        Case {
            file: "03-one-byte-over.json",
            description: "one byte over a record: 65 bytes pad to 72, two records",
            size: 65,
            record_size: 64,
            password: None,
            kdf: None,
        },
        Case {
            file: "04-multi-record.json",
            description: "multi-record: 1000 bytes pad to 1024, sixteen records",
            size: 1000,
            record_size: 64,
            password: None,
            kdf: None,
        },
        Case {
            file: "05-password-small-kdf.json",
            description:
                "password with small Argon2id parameters (m=1024 KiB, t=1, p=1), 100 bytes",
            size: 100,
            record_size: 64,
            password: Some("correct horse battery staple"),
            kdf: Some(SMALL_KDF),
        },
        Case {
            file: "06-password-default-kdf.json",
            description: "password with the default Argon2id parameters, 3 records",
            size: 130,
            record_size: 64,
            password: Some("pässwörd ✓"),
            kdf: Some(Argon2Params::DEFAULT),
        },
        Case {
            file: "07-default-record-size.json",
            description: "default 64 KiB record size, 70000 bytes pad to 71680, two records",
            size: 70_000,
            record_size: 65_536,
            password: None,
            kdf: None,
        },
        Case {
            file: "08-password-nfd.json",
            description: "password given decomposed (NFD: a, o followed by U+0308): it is \
                normalised to NFC before Argon2id, so it gives the key of the composed password",
            size: 10,
            record_size: 64,
            password: Some("pa\u{308}sswo\u{308}rd"),
            kdf: Some(SMALL_KDF),
        },
    ]
}

fn build(case: &Case, index: u8) -> Vector {
    let secret = [index; 32].map(|b| b.wrapping_mul(17).wrapping_add(3));
    let salt = [index; 32].map(|b| b.wrapping_mul(29).wrapping_add(101));
    let link = Link::from_parts(LinkSecret::from_bytes(secret), case.kdf).unwrap();
    let key = link.unlock(case.password).unwrap();
    let plaintext = pattern(case.size);
    let meta = Metadata {
        name: format!("vector-{index}.bin"),
        mime: "application/octet-stream".into(),
        size: case.size as u64,
        report: if index.is_multiple_of(2) {
            vec!["GPS position".into(), "camera: NIKON D5000".into()]
        } else {
            vec![]
        },
    };
    let mut enc = Encryptor::new_with_salt(&key, &meta, case.record_size, salt).unwrap();
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
        metadata: Meta {
            name: meta.name,
            mime: meta.mime,
            size: meta.size,
            report: meta.report,
        },
        plaintext: hex::encode(&plaintext),
        download_proof: proof.to_base64().to_string(),
        download_proof_sha256: proof.verifier_base64(),
        content_key: hex::encode(content),
        metadata_key: hex::encode(metadata),
        nonce_prefix: hex::encode(nonce),
        container: hex::encode(&container),
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
        let meta = dec.finish().unwrap();
        assert_eq!(hex::encode(&plain), stored.plaintext, "{}", case.file);
        assert_eq!(meta.name, stored.metadata.name);
        assert_eq!(meta.size, stored.metadata.size);
        assert_eq!(meta.report, stored.metadata.report);
        assert_eq!(
            container.len() as u64,
            veil_core::container_len(&meta, stored.record_size).unwrap()
        );
    }
}
