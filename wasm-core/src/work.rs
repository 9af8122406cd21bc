//! Proof of work on download attempts: the one definition that the server
//! (which verifies), the CLI and the page (which solve) share.
//!
//! Why: wrong download proofs must be bounded without locking out the
//! recipient, and the server keeps no addresses to tell the two apart. So
//! once a blob has seen several wrong proofs, every further attempt on it
//! must carry work bound to *that* attempt's proof: guessing then costs
//! `2^bits` hashes per guess, while the recipient pays the same small cost
//! once (see docs/API.md, "Wrong proofs").
//!
//! `work = SHA-256("veil/v1 work" ‖ 0x00 ‖ id ‖ 0x00 ‖ proof ‖ 0x00 ‖ nonce)`
//! with `id` and `proof` as their base64url text and `nonce` as a u64
//! big-endian; it is sufficient when it begins with at least `bits` zero
//! bits. The nonce travels as decimal in the `Veil-Work` header.

use sha2::{Digest, Sha256};

/// The most work a server may ask for: the recipient's cost is bounded by
/// this (2^20 hashes, about a million, on average).
pub const MAX_BITS: u8 = 20;

const DOMAIN: &[u8] = b"veil/v1 work";

fn prefix(id: &str, proof: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update([0]);
    h.update(id.as_bytes());
    h.update([0]);
    h.update(proof.as_bytes());
    h.update([0]);
    h
}

fn leading_zero_bits(d: &[u8]) -> u32 {
    let mut n = 0;
    for b in d {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// Whether `nonce` is work of at least `bits` for this attempt.
#[must_use]
pub fn verify(id: &str, proof: &str, nonce: u64, bits: u8) -> bool {
    let mut h = prefix(id, proof);
    h.update(nonce.to_be_bytes());
    leading_zero_bits(&h.finalize()) >= u32::from(bits)
}

/// The `proof` field of upload work: the challenge takes the `id` field.
const UPLOAD: &str = "upload";

/// Whether `nonce` is work of at least `bits` for the upload challenge
/// `challenge` (docs/API.md, "Upload work"): the same hash with the
/// challenge as `id` and `upload` as `proof`.
#[must_use]
pub fn verify_upload(challenge: &str, nonce: u64, bits: u8) -> bool {
    verify(challenge, UPLOAD, nonce, bits)
}

/// Solves an upload challenge (capped like [`solve`]).
#[must_use]
pub fn solve_upload(challenge: &str, bits: u8) -> u64 {
    solve(challenge, UPLOAD, bits)
}

/// Finds a nonce that is work of at least `bits` (capped at [`MAX_BITS`]:
/// a server asking for more is refused by solving only up to the cap, so a
/// hostile server cannot make a client spin forever).
#[must_use]
pub fn solve(id: &str, proof: &str, bits: u8) -> u64 {
    let bits = bits.min(MAX_BITS);
    let base = prefix(id, proof);
    let mut nonce = 0u64;
    loop {
        let mut h = base.clone();
        h.update(nonce.to_be_bytes());
        if leading_zero_bits(&h.finalize()) >= u32::from(bits) {
            return nonce;
        }
        nonce = nonce.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solved_work_verifies_and_is_bound_to_the_attempt() {
        let (id, proof) = ("AAAAAAAAAAAAAAAAAAAAAA", "p".repeat(43));
        let n = solve(id, &proof, 12);
        assert!(verify(id, &proof, n, 12));
        assert!(verify(id, &proof, n, 0));
        // Another proof or another blob needs its own work (almost surely).
        let other = "q".repeat(43);
        let misses = (0..64)
            .filter(|i| !verify(id, &other, n.wrapping_add(*i), 12))
            .count();
        assert!(misses > 50);
    }

    #[test]
    fn counts_leading_zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0x0f]), 12);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }

    #[test]
    fn a_server_cannot_ask_for_more_than_the_cap() {
        let n = solve("x", "y", 200);
        assert!(verify("x", "y", n, MAX_BITS));
    }
}
