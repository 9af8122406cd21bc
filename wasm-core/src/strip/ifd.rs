//! TIFF structure, read once for both users: the EXIF describer
//! ([`super::exif`], which reads EXIF blocks in JPEG, PNG, WebP, HEIF…)
//! and the TIFF stripper ([`super::tiff`], which rewrites IFD0 in place).
//! Byte order, the type-size table, the entry cap and IFD entries live here
//! only. Every access is bounds-checked; nothing trusts a count or offset.

/// Most entries read from one IFD.
pub(super) const MAX_ENTRIES: usize = 4096;

/// The byte order of a TIFF structure.
#[derive(Clone, Copy)]
pub(super) struct Endian {
    big: bool,
}

impl Endian {
    /// From a TIFF header (`II*\0` little-endian, `MM\0*` big-endian).
    pub(super) fn from_header(data: &[u8]) -> Option<Self> {
        match data.get(..4)? {
            [b'I', b'I', 42, 0] => Some(Self { big: false }),
            [b'M', b'M', 0, 42] => Some(Self { big: true }),
            _ => None,
        }
    }

    /// The u16 at `at`.
    pub(super) fn u16(self, d: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = d.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    /// The u32 at `at`.
    pub(super) fn u32(self, d: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = d.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Writes `v` at `at` if it fits (TIFF's cleaner, in the formats build).
    #[cfg(feature = "formats")]
    pub(super) fn put16(self, d: &mut [u8], at: usize, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        if let Some(s) = at.checked_add(2).and_then(|end| d.get_mut(at..end)) {
            s.copy_from_slice(&b);
        }
    }

    /// Writes `v` at `at` if it fits (TIFF's cleaner, in the formats build).
    #[cfg(feature = "formats")]
    pub(super) fn put32(self, d: &mut [u8], at: usize, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        if let Some(s) = at.checked_add(4).and_then(|end| d.get_mut(at..end)) {
            s.copy_from_slice(&b);
        }
    }
}

/// Bytes per value of a TIFF field type; 0 for types TIFF 6 does not define.
pub(super) fn unit_size(kind: u16) -> usize {
    match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 => 8,
        _ => 0,
    }
}

/// Bytes of a field's value; `None` for an unknown type or an overflow.
#[cfg(feature = "formats")]
pub(super) fn value_size(kind: u16, count: u32) -> Option<usize> {
    match unit_size(kind) {
        0 => None,
        unit => unit.checked_mul(count as usize),
    }
}

/// One IFD entry, with its value located but not decoded.
pub(super) struct Entry {
    pub(super) tag: u16,
    pub(super) kind: u16,
    pub(super) count: u32,
    /// Offset of the value (inline or out of line) within the structure.
    pub(super) value_at: usize,
}

/// The entries of the IFD at `at` (at most [`MAX_ENTRIES`]; a truncated
/// table ends early). `None` if the count itself is unreadable or an
/// entry's size overflows.
pub(super) fn entries(e: Endian, d: &[u8], at: usize) -> Option<Vec<Entry>> {
    let count = usize::from(e.u16(d, at)?).min(MAX_ENTRIES);
    let mut out = Vec::with_capacity(count.min(64));
    for i in 0..count {
        let entry = at.checked_add(2 + i * 12)?;
        let (Some(tag), Some(kind), Some(n)) =
            (e.u16(d, entry), e.u16(d, entry + 2), e.u32(d, entry + 4))
        else {
            break;
        };
        let size = unit_size(kind).checked_mul(n as usize)?;
        let value_at = if size <= 4 {
            entry + 8
        } else {
            e.u32(d, entry + 8)? as usize
        };
        out.push(Entry {
            tag,
            kind,
            count: n,
            value_at,
        });
    }
    Some(out)
}
