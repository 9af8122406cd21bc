//! The ZIP archive a recipient saves a whole share as: written as the
//! plaintext is decrypted, never held whole, so it streams to disk.
//!
//! Entries are *stored* (method 0: photos and videos do not compress), with
//! UTF-8 names (flag bit 11) and a data descriptor after each file's bytes
//! (flag bit 3), because the CRC-32 is only known once the bytes have
//! passed. ZIP64 records (APPNOTE 6.3.10 §4.3.9, §4.4.3–4.4.5, §4.5.3) are
//! written for any file of 4 GiB or more, any offset past 4 GiB and any
//! archive of more than 65,535 entries; otherwise the archive is plain ZIP
//! 2.0, which every extractor reads. Sizes are known in advance from the
//! share's manifest, so the archive's exact length is too
//! ([`ZipWriter::archive_len`]), for a progress bar and a download's
//! `Content-Length`.
//!
//! Timestamps are all 1980-01-01 00:00 (the format's earliest): the share
//! carries no dates, on purpose. Hand-written rather than a crate: the
//! writers on crates.io either need a seekable output or borrow their
//! archive for the life of an entry, and an entry here lives across many
//! calls from JavaScript as records are decrypted.

/// Why the writer refused a call (a caller's bug, never the data's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZipError {
    /// `begin` while an entry is open, `data`/`end` with none, or `finish`
    /// with one open.
    #[error("ZIP entries out of order")]
    Order,
    /// An entry got more or fewer bytes than announced.
    #[error("a ZIP entry's bytes do not match its size")]
    SizeMismatch,
    /// A name longer than 65,535 bytes.
    #[error("a ZIP entry name is too long")]
    NameTooLong,
}

const LOCAL: u32 = 0x0403_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
/// Bit 3 (sizes and CRC in a data descriptor) and bit 11 (UTF-8 names).
const FLAGS: u16 = 0x0808;
/// 1980-01-01 in MS-DOS date format; the time is 00:00 (0).
const DOS_DATE: u16 = (1 << 5) | 1;
const V20: u16 = 20;
const V45: u16 = 45;
/// Made by Unix (3), ZIP 4.5: so the external attributes are Unix modes.
const MADE_BY: u16 = (3 << 8) | V45;
/// A regular file, rw-r--r--.
const FILE_MODE: u32 = 0o100_644 << 16;
const MAX32: u64 = 0xFFFF_FFFF;

struct Entry {
    name: Vec<u8>,
    size: u64,
    crc: u32,
    offset: u64,
}

struct Open {
    entry: Entry,
    written: u64,
    hasher: crc32fast::Hasher,
    zip64: bool,
}

/// A streaming writer of one ZIP archive: `begin`, `data`…, `end` for each
/// file, then `finish`; every call returns the bytes to append.
#[derive(Default)]
pub struct ZipWriter {
    offset: u64,
    done: Vec<Entry>,
    open: Option<Open>,
}

fn le16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn le32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn le64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// `v` as a 32-bit field, or the ZIP64 marker when it does not fit.
fn field32(v: u64) -> u32 {
    u32::try_from(v)
        .ok()
        .filter(|&x| u64::from(x) < MAX32)
        .unwrap_or(u32::MAX)
}

impl ZipWriter {
    /// An empty archive.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts an entry of exactly `size` bytes at path `name` (already
    /// safe: a share's paths are, see `veil_core::share::share_path`);
    /// returns its local header.
    pub fn begin(&mut self, name: &str, size: u64) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::Order);
        }
        let name_len = u16::try_from(name.len()).map_err(|_| ZipError::NameTooLong)?;
        let zip64 = size >= MAX32;
        let mut out = Vec::with_capacity(30 + name.len() + 20);
        le32(&mut out, LOCAL);
        le16(&mut out, if zip64 { V45 } else { V20 });
        le16(&mut out, FLAGS);
        le16(&mut out, 0); // stored
        le16(&mut out, 0); // 00:00
        le16(&mut out, DOS_DATE);
        // CRC and sizes follow in the data descriptor (flag bit 3).
        le32(&mut out, 0);
        let marker = if zip64 { u32::MAX } else { 0 };
        le32(&mut out, marker);
        le32(&mut out, marker);
        le16(&mut out, name_len);
        le16(&mut out, if zip64 { 20 } else { 0 });
        out.extend_from_slice(name.as_bytes());
        if zip64 {
            // The ZIP64 extra field: its sizes are in the descriptor too.
            le16(&mut out, 1);
            le16(&mut out, 16);
            le64(&mut out, 0);
            le64(&mut out, 0);
        }
        self.open = Some(Open {
            entry: Entry {
                name: name.as_bytes().to_vec(),
                size,
                crc: 0,
                offset: self.offset,
            },
            written: 0,
            hasher: crc32fast::Hasher::new(),
            zip64,
        });
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// Counts (and checksums) the next bytes of the open entry; the caller
    /// appends them to the archive itself, unchanged.
    pub fn data(&mut self, bytes: &[u8]) -> Result<(), ZipError> {
        let open = self.open.as_mut().ok_or(ZipError::Order)?;
        open.written = open.written.saturating_add(bytes.len() as u64);
        if open.written > open.entry.size {
            return Err(ZipError::SizeMismatch);
        }
        open.hasher.update(bytes);
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Ends the open entry; returns its data descriptor.
    pub fn end(&mut self) -> Result<Vec<u8>, ZipError> {
        match &self.open {
            None => return Err(ZipError::Order),
            Some(o) if o.written != o.entry.size => return Err(ZipError::SizeMismatch),
            Some(_) => {}
        }
        let mut open = self.open.take().ok_or(ZipError::Order)?;
        open.entry.crc = open.hasher.finalize();
        let mut out = Vec::with_capacity(24);
        le32(&mut out, DESCRIPTOR);
        le32(&mut out, open.entry.crc);
        if open.zip64 {
            le64(&mut out, open.entry.size);
            le64(&mut out, open.entry.size);
        } else {
            // Below 4 GiB: checked in `begin`.
            le32(&mut out, field32(open.entry.size));
            le32(&mut out, field32(open.entry.size));
        }
        self.offset += out.len() as u64;
        self.done.push(open.entry);
        Ok(out)
    }

    /// Ends the archive; returns the central directory and end records.
    pub fn finish(&mut self) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::Order);
        }
        let start = self.offset;
        let mut out = Vec::new();
        for e in &self.done {
            let big_offset = e.offset >= MAX32;
            // Whenever the entry needs a ZIP64 extra at all, it carries
            // both sizes too (and the 32-bit size fields say so): Info-ZIP
            // misreads an offset-only extra after a 4 GiB entry.
            let zip64 = e.size >= MAX32 || big_offset;
            let mut extra = Vec::new();
            if zip64 {
                le64(&mut extra, e.size);
                le64(&mut extra, e.size);
            }
            if big_offset {
                le64(&mut extra, e.offset);
            }
            let size32 = if zip64 { u32::MAX } else { field32(e.size) };
            le32(&mut out, CENTRAL);
            le16(&mut out, MADE_BY);
            le16(&mut out, if extra.is_empty() { V20 } else { V45 });
            le16(&mut out, FLAGS);
            le16(&mut out, 0);
            le16(&mut out, 0);
            le16(&mut out, DOS_DATE);
            le32(&mut out, e.crc);
            le32(&mut out, size32);
            le32(&mut out, size32);
            // Checked in `begin`.
            le16(&mut out, u16::try_from(e.name.len()).unwrap_or(u16::MAX));
            let extra_len = if extra.is_empty() { 0 } else { extra.len() + 4 };
            le16(&mut out, u16::try_from(extra_len).unwrap_or(0));
            le16(&mut out, 0); // comment
            le16(&mut out, 0); // disk
            le16(&mut out, 0); // internal attributes
            le32(&mut out, FILE_MODE);
            le32(&mut out, field32(e.offset));
            out.extend_from_slice(&e.name);
            if !extra.is_empty() {
                le16(&mut out, 1);
                le16(&mut out, u16::try_from(extra.len()).unwrap_or(0));
                out.extend_from_slice(&extra);
            }
        }
        let size = out.len() as u64;
        let count = self.done.len() as u64;
        // 0xFFFF in the end record already means "see the ZIP64 record".
        if count >= 0xFFFF || size >= MAX32 || start >= MAX32 {
            let end64 = start + size;
            le32(&mut out, END64);
            le64(&mut out, 44);
            le16(&mut out, MADE_BY);
            le16(&mut out, V45);
            le32(&mut out, 0);
            le32(&mut out, 0);
            le64(&mut out, count);
            le64(&mut out, count);
            le64(&mut out, size);
            le64(&mut out, start);
            le32(&mut out, LOCATOR64);
            le32(&mut out, 0);
            le64(&mut out, end64);
            le32(&mut out, 1);
        }
        let count16 = u16::try_from(count)
            .ok()
            .filter(|&c| c < 0xFFFF)
            .unwrap_or(u16::MAX);
        le32(&mut out, END);
        le16(&mut out, 0);
        le16(&mut out, 0);
        le16(&mut out, count16);
        le16(&mut out, count16);
        le32(&mut out, field32(size));
        le32(&mut out, field32(start));
        le16(&mut out, 0);
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// The exact length of the archive of `entries` (path, size), before
    /// writing any of it.
    pub fn archive_len<'a>(
        entries: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<u64, ZipError> {
        let mut w = Self::new();
        for (name, size) in entries {
            w.begin(name, size)?;
            if let Some(open) = w.open.as_mut() {
                open.written = size;
            }
            w.offset += size;
            w.end()?;
        }
        w.finish()?;
        Ok(w.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ZipWriter::new();
        let mut out = Vec::new();
        for (name, bytes) in files {
            out.extend(w.begin(name, bytes.len() as u64).unwrap());
            for chunk in bytes.chunks(3) {
                w.data(chunk).unwrap();
                out.extend_from_slice(chunk);
            }
            out.extend(w.end().unwrap());
        }
        out.extend(w.finish().unwrap());
        out
    }

    #[test]
    fn length_is_known_in_advance() {
        let files: &[(&str, &[u8])] = &[("a.txt", b"hello"), ("d/é.bin", b""), ("d/c", b"xyz123")];
        let zip = archive(files);
        let len = ZipWriter::archive_len(files.iter().map(|(n, b)| (*n, b.len() as u64))).unwrap();
        assert_eq!(zip.len() as u64, len);
        // Local header of the first entry, then its bytes right after.
        assert_eq!(&zip[..4], &LOCAL.to_le_bytes());
        assert_eq!(&zip[30..35], b"a.txt");
        assert_eq!(&zip[35..40], b"hello");
        // The end record says three entries.
        let end = &zip[zip.len() - 22..];
        assert_eq!(&end[..4], &END.to_le_bytes());
        assert_eq!(&end[10..12], &3u16.to_le_bytes());
    }

    #[test]
    fn misuse_is_refused() {
        let mut w = ZipWriter::new();
        assert_eq!(w.data(b"x"), Err(ZipError::Order));
        w.begin("a", 2).unwrap();
        assert_eq!(w.begin("b", 1).unwrap_err(), ZipError::Order);
        assert_eq!(w.data(b"xyz"), Err(ZipError::SizeMismatch));
        let mut w = ZipWriter::new();
        w.begin("a", 2).unwrap();
        assert_eq!(w.end().unwrap_err(), ZipError::SizeMismatch);
        assert_eq!(w.finish().unwrap_err(), ZipError::Order);
        assert_eq!(
            ZipWriter::new().begin(&"x".repeat(70_000), 1).unwrap_err(),
            ZipError::NameTooLong
        );
    }

    #[test]
    fn large_entries_use_zip64() {
        // Not written: only the header bytes and the computed length.
        let mut w = ZipWriter::new();
        let header = w.begin("big.bin", 5 << 30).unwrap();
        assert_eq!(&header[4..6], &V45.to_le_bytes());
        assert_eq!(&header[18..26], &[0xFF; 8]);
        let small = ZipWriter::archive_len([("a", 1)]).unwrap();
        let big = ZipWriter::archive_len([("a", 5 << 30)]).unwrap();
        // 20 bytes of extra in the local header, 8 more in the descriptor,
        // 20 in the central directory, 56 + 20 of ZIP64 end records.
        assert_eq!(big - (5 << 30), small - 1 + 20 + 8 + 20 + 56 + 20);
        // An entry after 4 GiB: sizes and offset in its extra (28 bytes).
        let after = ZipWriter::archive_len([("a", 5 << 30), ("b", 1)]).unwrap();
        let b_alone = ZipWriter::archive_len([("b", 1)]).unwrap();
        assert_eq!(after - big, b_alone - 22 + 4 + 24);
    }
}
