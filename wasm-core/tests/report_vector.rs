//! The sealed report key's published vector (docs/FORMAT.md §9),
//! `wasm-core/tests/vectors/report/01.json`: rebuilt from its fixed keys
//! and compared byte for byte; `VEIL_REGENERATE_VECTORS=1` rewrites it.
// Native only: the vector file and serde_json are native dev-dependencies.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

use veil_core::report::{seal_with_ephemeral, OperatorKey};

fn pattern(n: u8) -> [u8; 32] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(n).wrapping_add(n))
}

#[test]
fn the_sealed_report_vector_holds() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/report/01.json");
    let operator = pattern(7);
    let ephemeral = pattern(11);
    let key = OperatorKey::parse(&b64(&operator)).unwrap();
    let (id, fragment, password) = ("AAECAwQFBgcICQoLDA0ODw", "k", Some("correct horse"));
    let fragment = format!("{fragment}{}", "A".repeat(42));
    let sealed = seal_with_ephemeral(&key.public(), id, &fragment, password, ephemeral).unwrap();
    let opened = key.open(&sealed).unwrap();
    assert_eq!(opened.fragment.as_str(), fragment);
    let v = serde_json::json!({
        "operator_private": hex::encode(operator),
        "operator_public": key.public(),
        "ephemeral_private": hex::encode(ephemeral),
        "blob_id": id,
        "fragment": fragment,
        "password": password,
        "sealed": hex::encode(&sealed),
    });
    if std::env::var_os("VEIL_REGENERATE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(stored, v);
}

fn b64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, x)| n | (u32::from(*x) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
