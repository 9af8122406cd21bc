//! The sealed metadata: file name, media type, size and the metadata-removal
//! report, in a small length-prefixed binary layout (FORMAT.md, "Metadata").

use zeroize::Zeroizing;

use crate::error::Error;
use crate::format::{MAX_METADATA_LEN, METADATA_BLOCK};

/// Largest file name in bytes (UTF-8).
pub const MAX_NAME_LEN: usize = 1024;
/// Largest media type in bytes.
pub const MAX_TYPE_LEN: usize = 255;
/// Most report lines.
pub const MAX_REPORT_ITEMS: usize = 256;
/// Largest report line in bytes.
pub const MAX_REPORT_ITEM_LEN: usize = 1024;
/// Largest file size the format carries (2^53 - 1, exact in JavaScript).
pub const MAX_FILE_SIZE: u64 = (1 << 53) - 1;

/// What the recipient learns about the file before and besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The original file name (no directories).
    pub name: String,
    /// The media type, e.g. `image/jpeg`; may be empty.
    pub mime: String,
    /// Exact plaintext size in bytes.
    pub size: u64,
    /// Lines of the metadata-removal report, e.g. `GPS position`.
    pub report: Vec<String>,
}

impl Metadata {
    /// Checks the limits of FORMAT.md on every field.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.name.len() > MAX_NAME_LEN {
            return Err(Error::MetadataTooLong("name"));
        }
        if self.mime.len() > MAX_TYPE_LEN {
            return Err(Error::MetadataTooLong("type"));
        }
        if self.report.len() > MAX_REPORT_ITEMS
            || self.report.iter().any(|r| r.len() > MAX_REPORT_ITEM_LEN)
        {
            return Err(Error::MetadataTooLong("report"));
        }
        if self.size > MAX_FILE_SIZE {
            return Err(Error::FileTooLarge);
        }
        Ok(())
    }

    /// Appends the fields (name, type, size, report), unpadded: a v1
    /// container's whole metadata, or one entry of a v2 manifest.
    pub(crate) fn write_fields(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.check()?;
        put_str(out, &self.name);
        put_str(out, &self.mime);
        out.extend_from_slice(&self.size.to_be_bytes());
        // Bounded by MAX_REPORT_ITEMS in `check`.
        out.extend_from_slice(
            &u16::try_from(self.report.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        for item in &self.report {
            put_str(out, item);
        }
        Ok(())
    }

    /// Reads the fields written by [`Metadata::write_fields`].
    pub(crate) fn read_fields(r: &mut Reader<'_>) -> Option<Self> {
        let name = r.string(MAX_NAME_LEN)?;
        let mime = r.string(MAX_TYPE_LEN)?;
        let size = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        if size > MAX_FILE_SIZE {
            return None;
        }
        let count = usize::from(r.u16()?);
        if count > MAX_REPORT_ITEMS {
            return None;
        }
        let mut report = Vec::with_capacity(count);
        for _ in 0..count {
            report.push(r.string(MAX_REPORT_ITEM_LEN)?);
        }
        Some(Self {
            name,
            mime,
            size,
            report,
        })
    }

    /// Encodes as a v1 container's metadata: the fields, zero-padded to a
    /// multiple of [`METADATA_BLOCK`] (the fewest blocks that hold them).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut out = Zeroizing::new(Vec::with_capacity(METADATA_BLOCK));
        self.write_fields(&mut out)?;
        let padded = out.len().div_ceil(METADATA_BLOCK).max(1) * METADATA_BLOCK;
        if padded > MAX_METADATA_LEN {
            return Err(Error::MetadataTooLong("report"));
        }
        out.resize(padded, 0);
        Ok(out)
    }

    /// Decodes a v1 container's metadata; `None` for anything malformed,
    /// including non-zero padding.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let meta = Self::read_fields(&mut r)?;
        // One encoding per value: no whole block of padding beyond the
        // fields (an extra all-zero block would be a second spelling).
        r.padding(bytes.len(), |used| {
            used.div_ceil(METADATA_BLOCK).max(1) * METADATA_BLOCK
        })?;
        Some(meta)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Callers checked the length against limits far below u16::MAX.
    out.extend_from_slice(&u16::try_from(s.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The name to save a received file under: the sender chose it, so it is
/// hostile (FORMAT.md, "File names"). Only the last path component
/// (after `/` or `\\`); control characters (NUL included) become `_`; a
/// leading dot becomes `_.`; an empty, `.` or `..` name becomes
/// `veil-download`.
#[must_use]
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c.is_ascii_whitespace());
    match trimmed {
        "" | "." | ".." => "veil-download".to_owned(),
        n if n.starts_with('.') => String::from("_") + n,
        n => n.to_owned(),
    }
}

/// A bounds-checked cursor over metadata bytes.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn string(&mut self, max: usize) -> Option<String> {
        let len = usize::from(self.u16()?);
        if len > max {
            return None;
        }
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
    /// Checks that what is left is zeros and that `total` is exactly the
    /// padded length `padded(used)` of the `used` bytes read so far.
    pub(crate) fn padding(&self, total: usize, padded: impl Fn(usize) -> usize) -> Option<()> {
        if self.0.iter().any(|&b| b != 0) {
            return None;
        }
        let used = total.saturating_sub(self.0.len());
        (total == padded(used)).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let m = Metadata {
            name: "photo.jpg".into(),
            mime: "image/jpeg".into(),
            size: 123_456,
            report: vec!["GPS position".into(), "camera: NIKON D5000".into()],
        };
        let enc = m.encode().unwrap();
        assert_eq!(enc.len(), 256);
        assert_eq!(Metadata::decode(&enc), Some(m.clone()));
        let mut bad = enc.to_vec();
        *bad.last_mut().unwrap() = 1;
        assert_eq!(Metadata::decode(&bad), None);
        assert_eq!(Metadata::decode(&enc[..20]), None);
    }

    #[test]
    fn extra_zero_blocks_are_a_second_spelling_and_refused() {
        let enc = Metadata::default().encode().unwrap();
        let mut longer = enc.to_vec();
        longer.resize(2 * METADATA_BLOCK, 0);
        assert_eq!(Metadata::decode(&longer), None);
        assert!(Metadata::decode(&enc).is_some());
    }

    #[test]
    fn hostile_names_become_plain_file_names() {
        for (hostile, safe) in [
            ("../../etc/passwd", "passwd"),
            ("C:\\Windows\\x.exe", "x.exe"),
            ("a\0b\nc", "a_b_c"),
            ("..", "veil-download"),
            ("", "veil-download"),
            ("dir/", "veil-download"),
            (".bashrc", "_.bashrc"),
            ("photo.jpg", "photo.jpg"),
        ] {
            assert_eq!(safe_file_name(hostile), safe, "{hostile:?}");
        }
    }

    #[test]
    fn limits() {
        let long = Metadata {
            name: "x".repeat(MAX_NAME_LEN + 1),
            ..Metadata::default()
        };
        assert_eq!(long.encode().unwrap_err(), Error::MetadataTooLong("name"));
        let big = Metadata {
            size: MAX_FILE_SIZE + 1,
            ..Metadata::default()
        };
        assert_eq!(big.encode().unwrap_err(), Error::FileTooLarge);
        assert_eq!(Metadata::default().encode().unwrap().len(), 256);
    }
}
