//! Random identifiers and secrets the server hands out, and how they are
//! stored: ids never (records are keyed by a hash of the id, files named
//! at random), tokens and proofs only as SHA-256 hashes, compared in
//! constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Fills `buf` from the OS CSPRNG.
pub fn random(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::getrandom(buf).map_err(std::io::Error::other)
}

fn decode_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != (N * 4).div_ceil(3) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let arr: [u8; N] = bytes.try_into().ok()?;
    // One spelling per value: reject stray low bits in the last character.
    (URL_SAFE_NO_PAD.encode(arr) == s).then_some(arr)
}

/// A blob (or upload) id: the syntax is the protocol's, defined once in
/// the core.
pub use veil_core::protocol::BlobId;

/// Where an id's record lives in the store. The store never holds the id
/// itself: once a record is gone (and the store compacted), nothing on
/// disk matches the id.
#[must_use]
pub fn slot(id: &BlobId) -> Slot {
    let mut h = Sha256::new();
    h.update(b"veil/v1 record slot\0");
    h.update(id.as_bytes());
    Slot(h.finalize().into())
}

/// The store's key for one blob or upload: SHA-256 of its id (see [`slot`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Slot(pub [u8; 32]);

/// A ciphertext file's name: 128 random bits in hex, unrelated to the id,
/// kept only in the record. After removal the name links to nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FileName(pub [u8; 16]);

impl FileName {
    /// A fresh random name.
    pub fn generate() -> std::io::Result<Self> {
        let mut b = [0u8; 16];
        random(&mut b)?;
        Ok(Self(b))
    }

    /// Parses the 32-character lowercase hex form (start-up scans).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            let [hi, lo] = pair else { return None };
            *o = (hex(*hi)? << 4) | hex(*lo)?;
        }
        Some(Self(out))
    }
}

impl std::fmt::Display for FileName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The deletion token given once to the uploader. Never stored: only its
/// SHA-256 is. No `Debug`, wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DeleteToken([u8; 32]);

impl DeleteToken {
    /// A fresh random token.
    pub fn generate() -> std::io::Result<Self> {
        let mut b = [0u8; 32];
        random(&mut b)?;
        Ok(Self(b))
    }

    /// Parses the 43-character base64url form.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        decode_exact::<32>(s).map(Self)
    }

    /// base64url, for the uploader.
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// What the store keeps.
    #[must_use]
    pub fn hash(&self) -> Digest32 {
        Digest32(Sha256::digest(self.0).into())
    }
}

/// A download proof presented by a downloader (`Veil-Proof`). No `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Proof([u8; 32]);

impl Proof {
    /// Parses the 43-character base64url form.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        decode_exact::<32>(s).map(Self)
    }

    /// SHA-256 of the proof, to compare with the stored verifier.
    #[must_use]
    pub fn hash(&self) -> Digest32 {
        Digest32(Sha256::digest(self.0).into())
    }
}

/// A SHA-256 value (a token hash or a proof verifier). Equality is constant time.
#[derive(Clone, Copy)]
pub struct Digest32(pub [u8; 32]);

impl Digest32 {
    /// Parses the 43-character base64url form (`Veil-Proof-Hash`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        decode_exact::<32>(s).map(Self)
    }
}

impl PartialEq for Digest32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Digest32 {}

/// Never the value: a hash of a token is still worth keeping out of logs.
impl std::fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digest32(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        let n = FileName::generate().unwrap();
        assert_eq!(FileName::parse(&n.to_string()), Some(n));
        assert_eq!(FileName::parse("0123456789ABCDEF0123456789abcdef"), None);
        assert_eq!(FileName::parse("0123"), None);
    }

    #[test]
    fn tokens_hash_and_compare() {
        let t = DeleteToken::generate().unwrap();
        let again = DeleteToken::parse(&t.encode()).unwrap();
        assert!(t.hash() == again.hash());
        assert!(t.hash() != DeleteToken::generate().unwrap().hash());
    }
}
