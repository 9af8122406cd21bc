//! The per-blob and per-upload records kept in sled, in a fixed, versioned
//! binary layout (no serde format to drift), and the big-endian expiry-index
//! key that keeps the sweeper's scan in time order.

use crate::ids::{Digest32, FileName, Slot};

/// A complete blob's record.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlobRecord {
    /// Ciphertext length in bytes.
    pub size: u64,
    /// Unix seconds after which the blob is gone.
    pub expires_at: u64,
    /// Download limit; 0 means unlimited.
    pub max_downloads: u32,
    /// Downloads claimed so far.
    pub downloads: u32,
    /// SHA-256 of the deletion token.
    pub delete_hash: Digest32,
    /// SHA-256 of the download proof, when downloads need one.
    pub proof_hash: Option<Digest32>,
    /// The ciphertext file's random name.
    pub file: FileName,
}

/// Version 1 (keyed by the id, file named by the id) is only read, to
/// migrate a data directory written before slots and random names.
const BLOB_V1: u8 = 1;
const BLOB_V2: u8 = 2;
const BLOB_LEN: usize = 1 + 8 + 8 + 4 + 4 + 32 + 1 + 32 + 16;

impl BlobRecord {
    /// The stored bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(BLOB_LEN);
        v.push(BLOB_V2);
        v.extend_from_slice(&self.size.to_be_bytes());
        v.extend_from_slice(&self.expires_at.to_be_bytes());
        v.extend_from_slice(&self.max_downloads.to_be_bytes());
        v.extend_from_slice(&self.downloads.to_be_bytes());
        v.extend_from_slice(&self.delete_hash.0);
        put_optional(&mut v, self.proof_hash);
        v.extend_from_slice(&self.file.0);
        v
    }

    /// Parses stored bytes; `None` if corrupt.
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        Self::decode_version(b, BLOB_V2, None)
    }

    /// Parses a version-1 record (written before slots), giving it `file`.
    #[must_use]
    pub fn decode_v1(b: &[u8], file: FileName) -> Option<Self> {
        Self::decode_version(b, BLOB_V1, Some(file))
    }

    /// Version 2 stores the file name last; version 1 had none (`file`).
    fn decode_version(b: &[u8], version: u8, file: Option<FileName>) -> Option<Self> {
        let mut r = Reader(b);
        if r.u8()? != version {
            return None;
        }
        let (size, expires_at) = (r.u64()?, r.u64()?);
        let (max_downloads, downloads) = (r.u32()?, r.u32()?);
        let delete_hash = Digest32(r.arr()?);
        let proof_hash = r.optional()?;
        let file = match file {
            Some(f) => f,
            None => FileName(r.arr()?),
        };
        r.0.is_empty().then_some(Self {
            size,
            expires_at,
            max_downloads,
            downloads,
            delete_hash,
            proof_hash,
            file,
        })
    }

    /// Downloads left, or `None` for unlimited.
    #[must_use]
    pub fn downloads_left(&self) -> Option<u32> {
        (self.max_downloads > 0).then(|| self.max_downloads.saturating_sub(self.downloads))
    }
}

/// What an unfinished tus upload will become, and how far it got.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UploadRecord {
    /// Declared total length (`Upload-Length`).
    pub length: u64,
    /// Bytes durably received (`Upload-Offset`).
    pub offset: u64,
    /// Unix seconds after which the unfinished upload is discarded.
    pub upload_expires_at: u64,
    /// Seconds the blob will live once complete.
    pub expires_in: u64,
    /// The blob's download limit (0 = unlimited).
    pub max_downloads: u32,
    /// SHA-256 of the deletion token given at creation.
    pub delete_hash: Digest32,
    /// SHA-256 of the download proof, if any.
    pub proof_hash: Option<Digest32>,
    /// The file the bytes go to; it keeps this name as a blob.
    pub file: FileName,
}

const UPLOAD_V2: u8 = 2;

impl UploadRecord {
    /// The stored bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + 8 * 4 + 4 + 32 + 33 + 16);
        v.push(UPLOAD_V2);
        for x in [
            self.length,
            self.offset,
            self.upload_expires_at,
            self.expires_in,
        ] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(&self.max_downloads.to_be_bytes());
        v.extend_from_slice(&self.delete_hash.0);
        put_optional(&mut v, self.proof_hash);
        v.extend_from_slice(&self.file.0);
        v
    }

    /// Parses stored bytes; `None` if corrupt.
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader(b);
        if r.u8()? != UPLOAD_V2 {
            return None;
        }
        let rec = Self {
            length: r.u64()?,
            offset: r.u64()?,
            upload_expires_at: r.u64()?,
            expires_in: r.u64()?,
            max_downloads: r.u32()?,
            delete_hash: Digest32(r.arr()?),
            proof_hash: r.optional()?,
            file: FileName(r.arr()?),
        };
        r.0.is_empty().then_some(rec)
    }
}

/// Expiry-index key: `expires_at` (u64 BE) then the slot, so keys sort by time.
#[must_use]
pub fn expiry_key(expires_at: u64, slot: &Slot) -> [u8; 40] {
    let mut k = [0u8; 40];
    let (time, rest) = k.split_at_mut(8);
    time.copy_from_slice(&expires_at.to_be_bytes());
    rest.copy_from_slice(&slot.0);
    k
}

/// Splits an expiry-index key.
#[must_use]
pub fn split_expiry_key(k: &[u8]) -> Option<(u64, Slot)> {
    let mut r = Reader(k);
    let t = r.u64()?;
    let slot: [u8; 32] = r.arr()?;
    r.0.is_empty().then_some((t, Slot(slot)))
}

/// An optional digest: a presence byte, then 32 bytes (zeros when absent).
fn put_optional(v: &mut Vec<u8>, d: Option<Digest32>) {
    v.push(u8::from(d.is_some()));
    v.extend_from_slice(&d.map_or([0; 32], |d| d.0));
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = (self.0.get(..N)?, self.0.get(N..)?);
        self.0 = tail;
        head.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.arr::<1>().map(|[b]| b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.arr().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.arr().map(u64::from_be_bytes)
    }
    fn optional(&mut self) -> Option<Option<Digest32>> {
        let flag = self.u8()?;
        let h = self.arr()?;
        match flag {
            0 => Some(None),
            1 => Some(Some(Digest32(h))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let b = BlobRecord {
            size: 5,
            expires_at: 1 << 40,
            max_downloads: 1,
            downloads: 0,
            delete_hash: Digest32([3; 32]),
            proof_hash: Some(Digest32([4; 32])),
            file: FileName([5; 16]),
        };
        assert!(BlobRecord::decode(&b.encode()) == Some(b));
        assert!(BlobRecord::decode(&b.encode()[1..]).is_none());
        let slot = Slot([9; 32]);
        assert_eq!(split_expiry_key(&expiry_key(77, &slot)), Some((77, slot)));
        // Big-endian keys sort by time.
        assert!(expiry_key(255, &slot) < expiry_key(256, &slot));
    }
}
