//! The fixed 60-byte container header: its layout, and its strict parser.
//! Versions 1 (one file) and 2 (a share) share it; they differ in byte 4
//! and in how long the sealed metadata may be.

use crate::keys::Argon2Params;

/// `VEIL` in ASCII: the first four bytes of every container.
pub const MAGIC: [u8; 4] = *b"VEIL";
/// The version of a container holding one file.
pub const VERSION_FILE: u8 = 1;
/// The version of a container holding a share: several files and folders.
pub const VERSION_SHARE: u8 = 2;
/// Length of the fixed header in bytes.
pub const HEADER_LEN: usize = 60;
/// AES-GCM tag length, added to every sealed record and to the metadata.
pub const TAG_LEN: usize = 16;
/// Default plaintext bytes per record (64 KiB).
pub const DEFAULT_RECORD_SIZE: u32 = 64 * 1024;
/// Smallest record size a container may declare.
pub const MIN_RECORD_SIZE: u32 = 16;
/// Largest record size a container may declare (16 MiB).
pub const MAX_RECORD_SIZE: u32 = 16 * 1024 * 1024;
/// Metadata plaintext is zero-padded to a multiple of this many bytes.
pub const METADATA_BLOCK: usize = 256;
/// Largest metadata plaintext of a version 1 container (64 KiB).
pub const MAX_METADATA_LEN: usize = 64 * 1024;
/// Largest metadata plaintext (the manifest) of a version 2 container (16 MiB).
pub const MAX_SHARE_METADATA_LEN: usize = 16 * 1024 * 1024;
/// The most bytes a header and its sealed metadata take, of any version: a
/// server reading a container's head never reads more.
pub const MAX_HEAD_LEN: usize = HEADER_LEN + MAX_SHARE_METADATA_LEN + TAG_LEN;

const KDF_NONE: u8 = 0;
const KDF_ARGON2ID: u8 = 1;

/// The parsed header. Every field is covered by authentication: the header
/// bytes are mixed into every subkey and are the metadata's associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// [`VERSION_FILE`] or [`VERSION_SHARE`].
    pub version: u8,
    /// Argon2id parameters when the file needs a password.
    pub kdf: Option<Argon2Params>,
    /// Plaintext bytes per record.
    pub record_size: u32,
    /// Random per-file HKDF salt.
    pub salt: [u8; 32],
    /// Length of the sealed metadata that follows the header (tag included).
    pub metadata_len: u32,
}

/// Why a header was rejected. Only for tests and fuzzing; the decryptor
/// reports every one of these as the same opaque error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Fewer than [`HEADER_LEN`] bytes.
    Short,
    /// Not `VEIL`.
    Magic,
    /// A version this crate does not read.
    Version,
    /// An unknown KDF id, non-zero reserved bytes, or parameters out of range.
    Field,
}

impl Header {
    /// Serialises to the fixed 60-byte layout of FORMAT.md.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = self.version;
        let params = match self.kdf {
            Some(p) => {
                out[5] = KDF_ARGON2ID;
                p.to_bytes()
            }
            None => [0u8; 12],
        };
        // out[6..8] reserved, zero.
        out[8..12].copy_from_slice(&self.record_size.to_be_bytes());
        out[12..24].copy_from_slice(&params);
        out[24..56].copy_from_slice(&self.salt);
        out[56..60].copy_from_slice(&self.metadata_len.to_be_bytes());
        out
    }

    /// Parses and validates the first [`HEADER_LEN`] bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        let b: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(HeaderError::Short)?;
        if b[0..4] != MAGIC {
            return Err(HeaderError::Magic);
        }
        let version = b[4];
        let max_metadata = match version {
            VERSION_FILE => MAX_METADATA_LEN,
            VERSION_SHARE => MAX_SHARE_METADATA_LEN,
            _ => return Err(HeaderError::Version),
        };
        if b[6..8] != [0, 0] {
            return Err(HeaderError::Field);
        }
        let record_size = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
        if !(MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&record_size) {
            return Err(HeaderError::Field);
        }
        let mut params = [0u8; 12];
        params.copy_from_slice(&b[12..24]);
        let kdf = match b[5] {
            KDF_NONE if params == [0u8; 12] => None,
            KDF_ARGON2ID => Some(
                Argon2Params::from_bytes(params)
                    .validate()
                    .map_err(|_| HeaderError::Field)?,
            ),
            _ => return Err(HeaderError::Field),
        };
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&b[24..56]);
        let metadata_len = u32::from_be_bytes([b[56], b[57], b[58], b[59]]);
        let plain = (metadata_len as usize).checked_sub(TAG_LEN);
        match plain {
            Some(p) if p > 0 && p <= max_metadata && p % METADATA_BLOCK == 0 => {}
            _ => return Err(HeaderError::Field),
        }
        Ok(Self {
            version,
            kdf,
            record_size,
            salt,
            metadata_len,
        })
    }
}

/// The length of a container's head (the header and the sealed metadata
/// it announces), from its first [`HEADER_LEN`] bytes alone; `None` if
/// they are not a header this crate reads. What a server reads, bounded by
/// [`MAX_HEAD_LEN`], to hand a recipient a share's manifest before any
/// download.
#[must_use]
pub fn head_len(first: &[u8]) -> Option<u64> {
    let h = Header::parse(first).ok()?;
    Some(HEADER_LEN as u64 + u64::from(h.metadata_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            version: VERSION_FILE,
            kdf: Some(Argon2Params::DEFAULT),
            record_size: DEFAULT_RECORD_SIZE,
            salt: [7; 32],
            metadata_len: 256 + 16,
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(Header::parse(&h.to_bytes()), Ok(h));
        let h = Header {
            kdf: None,
            ..sample()
        };
        assert_eq!(Header::parse(&h.to_bytes()), Ok(h));
    }

    #[test]
    fn rejects_bad_fields() {
        let good = sample().to_bytes();
        assert_eq!(Header::parse(&good[..59]), Err(HeaderError::Short));
        let mut b = good;
        b[0] = b'X';
        assert_eq!(Header::parse(&b), Err(HeaderError::Magic));
        let mut b = good;
        b[4] = 3;
        assert_eq!(Header::parse(&b), Err(HeaderError::Version));
        // A v1 header may not declare a share's metadata length.
        let mut b = good;
        b[56..60].copy_from_slice(&(1024 * 256 + 16u32).to_be_bytes());
        assert_eq!(Header::parse(&b), Err(HeaderError::Field));
        b[4] = VERSION_SHARE;
        assert_eq!(Header::parse(&b).map(|h| h.version), Ok(VERSION_SHARE));
        for (i, v) in [(5, 2u8), (6, 1), (7, 1), (8, 0xff), (9, 0), (59, 17)] {
            let mut b = good;
            b[i] = v;
            assert_eq!(Header::parse(&b), Err(HeaderError::Field), "byte {i}");
        }
        // kdf = none with stray parameters.
        let mut b = Header {
            kdf: None,
            ..sample()
        }
        .to_bytes();
        b[15] = 1;
        assert_eq!(Header::parse(&b), Err(HeaderError::Field));
    }
}
