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
    decode(s)?.try_into().ok()
}

/// Decodes any length; `None` for a length no encoding has (4k+1), a
/// character outside the alphabet, or non-zero unused bits.
#[must_use]
pub fn decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for group in s.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        let take = group.len() - 1;
        out.extend_from_slice(bytes.get(1..1 + take)?);
        // Bits below the last whole byte must be zero.
        if take < 3 && bytes.get(1 + take).is_some_and(|&b| b != 0) {
            return None;
        }
    }
    Some(out)
}

/// Standard base64 with padding (RFC 4648 §4), as tus `Upload-Metadata`
/// requires.
#[must_use]
pub fn encode_standard(data: &[u8]) -> String {
    let mut out: String = encode(data)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// Decodes [`encode_standard`]'s form (padding optional, as tus clients differ).
#[must_use]
pub fn decode_standard(s: &str) -> Option<Vec<u8>> {
    let unpadded = s
        .strip_suffix("==")
        .or_else(|| s.strip_suffix('='))
        .unwrap_or(s);
    if unpadded.contains(['-', '_', '='])
        || (unpadded.len() != s.len() && !s.len().is_multiple_of(4))
    {
        return None;
    }
    let url: String = unpadded
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    decode(&url)
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

    #[test]
    fn standard_alphabet_with_padding() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("\u{fb}\u{ff}", "w7vDvw=="),
        ] {
            assert_eq!(encode_standard(plain.as_bytes()), enc);
            assert_eq!(decode_standard(enc).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(decode_standard("Zg").as_deref(), Some(&b"f"[..]));
        assert_eq!(decode_standard("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_standard("-_8="), None, "url-safe alphabet");
        assert_eq!(decode_standard("Zg=a"), None);
        assert_eq!(decode_standard("Z"), None);
    }
}
