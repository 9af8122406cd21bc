//! Hostile manifests (a share's sealed metadata, once opened): decoding
//! never panics; whatever decodes re-encodes to the same bytes (one
//! encoding per value), has paths in safe form, and splits into files
//! without panicking or overlapping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veil_core::share::{share_path, Manifest, Splitter};

fuzz_target!(|data: &[u8]| {
    let Some((&version, rest)) = data.split_first() else {
        return;
    };
    let Some(m) = Manifest::decode(version % 3, rest) else {
        return;
    };
    assert_eq!(m.encode().ok().as_deref().map(|v| &v[..]), Some(rest));
    if m.is_share() {
        for f in m.files() {
            assert_eq!(share_path(&f.name), f.name);
        }
    }
    let n = m.files().len();
    let total: u64 = m.files().iter().map(|f| f.size).sum();
    if let Some(mut s) = Splitter::new(&m, 0, n - 1, 0) {
        let mut seen = 0u64;
        let mut left = total.min(1 << 20);
        let step = usize::from(rest.first().copied().unwrap_or(7)) + 1;
        while left > 0 {
            let len = step.min(usize::try_from(left).unwrap_or(step));
            for p in s.split(len) {
                assert!(p.range.end <= len && p.range.start <= p.range.end);
                seen += (p.range.end - p.range.start) as u64;
            }
            left -= len as u64;
        }
        let _ = s.split(0);
        assert!(seen <= total);
    }
});
