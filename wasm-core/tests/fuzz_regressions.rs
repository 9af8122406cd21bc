//! Inputs found by `cargo fuzz run strip` (kept in tests/fuzz-regressions/):
//! whatever the stripper accepts, it must accept again after cleaning.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use veil_core::strip::strip;

#[test]
fn fuzz_found_inputs_stay_fixed() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Ok(once) = strip(&data, None) {
            let twice = strip(&once.data, None);
            assert!(
                twice.is_ok(),
                "{}: {:?} (format {:?})",
                path.display(),
                twice.err(),
                once.report.format
            );
        }
    }
}
