//! The decryptor on arbitrary (usually mutated valid) containers, fed in
//! pieces whose sizes come from the input: must never panic; anything that
//! decrypts must be what the fixed key actually sealed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_core::{Decryptor, Link, LinkSecret};

/// The secret of test vectors 01-04 and 07 use n*17+3 patterns; this one is
/// vector 02's (n = 2), so its container seeds the corpus.
fn key() -> veil_core::FileKey {
    let secret = [2u8.wrapping_mul(17).wrapping_add(3); 32];
    Link::from_parts(LinkSecret::from_bytes(secret), None)
        .and_then(|l| l.unlock(None))
        .expect("fixed link")
}

fuzz_target!(|data: &[u8]| {
    let (split, body) = match data.split_first() {
        Some((s, b)) => (usize::from(*s).max(1), b),
        None => return,
    };
    let mut dec = Decryptor::new(key());
    for piece in body.chunks(split * 7) {
        if dec.push(piece).is_err() {
            return;
        }
    }
    let _ = dec.finish();
});
