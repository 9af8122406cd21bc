//! Blob (and upload) ids: 128 random bits written as 22 base64url
//! characters, one spelling per value. The syntax lives here only.

use crate::error::Error;

/// Characters in the written form of an id.
pub const ID_LEN: usize = 22;

/// A blob or upload id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BlobId([u8; 16]);

impl BlobId {
    /// A fresh random id (the server's; clients only parse).
    pub fn generate() -> Result<Self, Error> {
        let mut b = [0u8; 16];
        crate::keys::random_bytes(&mut b)?;
        Ok(Self(b))
    }

    /// Parses the 22-character form; anything else is `None`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        crate::b64::decode_exact::<16>(s).map(Self)
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// From raw bytes.
    #[must_use]
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::b64::encode(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_junk() {
        let id = BlobId::generate().unwrap();
        let s = id.to_string();
        assert_eq!(s.len(), ID_LEN);
        assert_eq!(BlobId::parse(&s), Some(id));
        let short = s.get(..21).unwrap_or_default().to_owned();
        for bad in [
            "",
            "../../etc/passwd",
            &short,
            &format!("{s}A"),
            "%2e%2e",
            "aaaaaaaaaaaaaaaaaaaaa/",
        ] {
            assert_eq!(BlobId::parse(bad), None, "{bad}");
        }
        // One spelling per value: stray low bits in the last character are refused.
        assert_eq!(BlobId::parse("AAAAAAAAAAAAAAAAAAAAAB"), None);
    }
}
