//! TIFF: IFD0 is rewritten in place to keep only the tags that describe
//! the image (dimensions, sample layout, strips or tiles, compression,
//! colour: ICC and colorimetry, orientation). Every other tag's entry is
//! removed and its out-of-line value zeroed; the EXIF and GPS sub-IFDs are
//! zeroed with them; further IFDs (other pages, thumbnails) are unlinked
//! and zeroed. No byte moves, so strip and tile offsets stay valid.

use super::exif;
use super::ifd::{value_size, Endian, MAX_ENTRIES};
use super::report::Report;
use super::StripError;

/// Tags that decoding or correct display needs.
const KEEP: &[u16] = &[
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284,
    290, 291, 296, 301, 317, 318, 319, 320, 322, 323, 324, 325, 332, 334, 338, 339, 340, 341, 347,
    529, 530, 531, 532, 34675,
];

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "TIFF",
        problem: what,
    }
}

/// Strips a TIFF held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new("TIFF");
    if matches!(
        data.get(..4),
        Some([b'I', b'I', 43, 0] | [b'M', b'M', 0, 43])
    ) {
        return Err(err("is a BigTIFF, which Veil cannot clean"));
    }
    let io = Endian::from_header(data).ok_or_else(|| err("does not start with a TIFF header"))?;
    // Describe first, from the untouched bytes.
    if let Some(s) = exif::summarize(data) {
        s.report_into(&mut report);
        if let Some(o) = s.orientation.filter(|&o| o != 1) {
            report.kept(format!("orientation ({o})"));
        }
    }
    let ifd = io.u32(data, 4).ok_or_else(|| err("is truncated"))? as usize;
    let count = usize::from(
        io.u16(data, ifd)
            .ok_or_else(|| err("has its first directory outside the file"))?,
    );
    if count == 0 || count > MAX_ENTRIES {
        return Err(err("has an implausible directory"));
    }
    let entries_end = ifd + 2 + count * 12;
    let next = io
        .u32(data, entries_end)
        .ok_or_else(|| err("is truncated inside its first directory"))?;
    let mut out = data.to_vec();
    let mut kept = Vec::with_capacity(count);
    let mut has_strips = false;
    for i in 0..count {
        let e = ifd + 2 + i * 12;
        let entry = data
            .get(e..e + 12)
            .ok_or_else(|| err("is truncated inside its first directory"))?;
        let tag = io.u16(data, e).unwrap_or(0);
        let kind = io.u16(data, e + 2).unwrap_or(0);
        let n = io.u32(data, e + 4).unwrap_or(0);
        if matches!(tag, 273 | 324) {
            has_strips = true;
        }
        if tag == 34675 {
            report.kept("colour profile");
        }
        if KEEP.contains(&tag) {
            kept.push(entry.to_vec());
            continue;
        }
        // Zero what the entry points at (out-of-line values, sub-IFDs).
        if let Some(size) = value_size(kind, n).filter(|&s| s > 4) {
            let off = io.u32(data, e + 8).unwrap_or(0) as usize;
            if let Some(v) = out.get_mut(off..off.saturating_add(size)) {
                v.fill(0);
            }
        }
        if matches!(tag, 0x8769 | 0x8825) {
            let sub = io.u32(data, e + 8).unwrap_or(0) as usize;
            zero_ifd(io, data, &mut out, sub);
        }
        if !matches!(
            tag,
            0x8769 | 0x8825 | 0x010F | 0x0110 | 0x0131 | 0x0132 | 0x013B | 0x8298 | 0x83BB | 0x02BC
        ) {
            report.removed(format!("TIFF tag {tag}"));
        }
    }
    if !has_strips {
        return Err(err("has no image data"));
    }
    // Unlink and zero other IFDs before IFD0 is rewritten: in a hostile
    // file they may overlap it.
    if next != 0 {
        report.removed("other pages or thumbnail");
        zero_ifd(io, data, &mut out, next as usize);
    }
    // Rewrite IFD0: kept entries, then "no next IFD", then zeros.
    let region = out
        .get_mut(ifd..entries_end + 4)
        .ok_or_else(|| err("is truncated"))?;
    region.fill(0);
    io.put16(&mut out, ifd, u16::try_from(kept.len()).unwrap_or(0));
    for (i, entry) in kept.iter().enumerate() {
        if let Some(s) = out.get_mut(ifd + 2 + i * 12..ifd + 14 + i * 12) {
            s.copy_from_slice(entry);
        }
    }
    io.put32(&mut out, ifd + 2 + kept.len() * 12, 0);
    Ok((out, report))
}

/// Zeroes an IFD's entries and their out-of-line values (not its chain).
fn zero_ifd(io: Endian, data: &[u8], out: &mut [u8], at: usize) {
    let Some(count) = io
        .u16(data, at)
        .map(usize::from)
        .filter(|&c| c <= MAX_ENTRIES)
    else {
        return;
    };
    for i in 0..count {
        let e = at + 2 + i * 12;
        let (Some(kind), Some(n), Some(off)) = (
            io.u16(data, e + 2),
            io.u32(data, e + 4),
            io.u32(data, e + 8),
        ) else {
            break;
        };
        if let Some(size) = value_size(kind, n).filter(|&s| s > 4) {
            if let Some(v) = out.get_mut(off as usize..(off as usize).saturating_add(size)) {
                v.fill(0);
            }
        }
    }
    if let Some(v) = out.get_mut(at..(at + 6 + count * 12).min(data.len())) {
        v.fill(0);
    }
}
