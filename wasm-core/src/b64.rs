//! Strict base64url without padding (RFC 4648 §5), for link fragments and
//! proofs: one spelling per value (non-canonical trailing bits are
//! rejected). Small on purpose: the general-purpose crate costs several
//! kilobytes of wasm for two 32-byte values.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `data`.
#[must_use]
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [group.first(), group.get(1), group.get(2)].map(|x| x.copied().unwrap_or(0));
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = group.len() + 1;
        for i in 0..chars {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(char::from(*ALPHABET.get(idx).unwrap_or(&b'A')));
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// Decodes exactly `N` bytes; `None` for any other length, a character
/// outside the alphabet, or non-zero unused bits.
#[must_use]
pub fn decode_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != (N * 4).div_ceil(3) {
        return None;
    }
    let mut out = [0u8; N];
    let mut at = 0;
    for group in s.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        let take = group.len() - 1;
        for &b in bytes.get(1..1 + take)? {
            *out.get_mut(at)? = b;
            at += 1;
        }
        // Bits below the last whole byte must be zero.
        if take < 3 && bytes.get(1 + take).is_some_and(|&b| b != 0) {
            return None;
        }
    }
    (at == N).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_and_strictness() {
        // RFC 4648 §10 vectors, without padding.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), enc);
        }
        assert_eq!(decode_exact::<3>("Zm9v"), Some(*b"foo"));
        assert_eq!(decode_exact::<2>("Zm8"), Some(*b"fo"));
        assert_eq!(
            decode_exact::<2>("Zm9"),
            None,
            "non-canonical trailing bits"
        );
        assert_eq!(decode_exact::<3>("Zm9"), None, "wrong length");
        assert_eq!(decode_exact::<3>("Zm+v"), None, "standard alphabet");
        let all: Vec<u8> = (0..=255).collect();
        for n in 0..all.len() {
            let e = encode(&all[..n]);
            assert!(!e.contains('='));
        }
        let k = [0xFBu8; 32];
        assert_eq!(decode_exact::<32>(&encode(&k)), Some(k));
    }
}
