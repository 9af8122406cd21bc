//! ISO base media files: HEIC/HEIF and AVIF pictures, MP4 and MOV videos.
//! These are edited **in place**: every offset in the file (item locations,
//! chunk offsets) stays valid because no byte moves. Metadata boxes become
//! `free` boxes full of zeros, metadata items have their bytes zeroed, and
//! creation/modification times are set to zero. Frames, colour (`colr`) and
//! geometry (`irot`, `imir`, `clap`, the track matrix) are untouched.
//!
//! M4A songs keep one iTunes item, the gapless-playback data, in place
//! (`keep_gapless`); they are cleaned by the `formats` build.
//!
//! Classic QuickTime movies have no `ftyp`: they open with `moov`, `wide`,
//! `mdat`, `free` or `skip`. Those are recognised by their first atom
//! (never by the file's name or declared type) and cleaned as MOV, so no
//! movie is ever passed through because its opening is old-fashioned.

use super::exif;
use super::jpeg::contains;
use super::report::Report;
use super::{read, StripError};

const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];
const MAX_DEPTH: usize = 8;
const MAX_BOXES: usize = 100_000;

fn err(format: &'static str, what: &'static str) -> StripError {
    StripError::Malformed {
        format,
        problem: what,
    }
}

#[derive(Clone, Copy)]
pub(super) struct BoxRef {
    pub(super) kind: [u8; 4],
    /// Offset of the box's first byte.
    pub(super) start: usize,
    /// Offset of the payload (after size, type, and largesize/uuid).
    pub(super) body: usize,
    pub(super) end: usize,
}

/// The boxes in `data[from..to]` (also JPEG XL's container, which uses
/// the same box layout).
pub(super) fn boxes(
    data: &[u8],
    from: usize,
    to: usize,
    format: &'static str,
) -> Result<Vec<BoxRef>, StripError> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        if out.len() >= MAX_BOXES {
            return Err(err(format, "has too many boxes"));
        }
        let truncated = || err(format, "is truncated inside a box header");
        let size32 = read::be32(data, at).ok_or_else(truncated)? as usize;
        let kind: [u8; 4] = read::arr(data, at + 4).ok_or_else(truncated)?;
        let (size, mut body) = match size32 {
            0 => (to - at, at + 8),
            1 => {
                let l = read::be64(data, at + 8).ok_or_else(truncated)?;
                (
                    usize::try_from(l).map_err(|_| err(format, "has a box larger than memory"))?,
                    at + 16,
                )
            }
            n => (n, at + 8),
        };
        if &kind == b"uuid" {
            body += 16;
        }
        let end = at
            .checked_add(size)
            .ok_or_else(|| err(format, "has an impossible box size"))?;
        if size < body - at || end > to {
            return Err(err(format, "has a box that overruns its container"));
        }
        out.push(BoxRef {
            kind,
            start: at,
            body,
            end,
        });
        at = end;
    }
    Ok(out)
}

/// Turns a box into a `free` box of the same size, zeroing its content.
fn blank(out: &mut [u8], b: &BoxRef) {
    if let Some(kind) = out.get_mut(b.start + 4..b.start + 8) {
        kind.copy_from_slice(b"free");
    }
    // For a largesize box, keep the 64-bit size; zero from the payload on.
    let from = if b.body - b.start >= 16 && &b.kind != b"uuid" {
        b.start + 16
    } else {
        b.start + 8
    };
    if let Some(rest) = out.get_mut(from..b.end) {
        rest.fill(0);
    }
}

/// The atoms a QuickTime movie without `ftyp` may open with.
const QUICKTIME_OPENINGS: [&[u8; 4]; 5] = [b"moov", b"wide", b"mdat", b"free", b"skip"];

/// Whether `data` opens with an `ftyp` box (ISO media as written since
/// MP4; classic QuickTime may not).
pub(super) fn has_ftyp(data: &[u8]) -> bool {
    data.get(4..8) == Some(&b"ftyp"[..])
}

/// Whether `data`'s first bytes are a QuickTime atom header that a movie
/// without `ftyp` opens with: one of those types, and a size that a box
/// can have (0 = to the end, 1 = 64-bit size follows, else at least 8).
pub(super) fn is_quicktime_opening(data: &[u8]) -> bool {
    let size = read::be32(data, 0);
    let kind = data.get(4..8);
    matches!(size, Some(0 | 1 | 8..)) && QUICKTIME_OPENINGS.iter().any(|k| kind == Some(&k[..]))
}

/// Strips an ISO BMFF file held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let top = boxes(data, 0, data.len(), "ISO media")?;
    let first = top.first().ok_or_else(|| err("ISO media", "is empty"))?;
    let brands = match &first.kind {
        b"ftyp" => data.get(first.body..first.end).unwrap_or_default(),
        k if QUICKTIME_OPENINGS.contains(&k) => &b"qt  "[..],
        _ => {
            return Err(err(
                "ISO media",
                "does not start with an ftyp box or a QuickTime atom",
            ))
        }
    };
    let major = brands.get(..4).unwrap_or_default();
    let is_pict = |b: &[u8]| {
        matches!(
            b,
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis" | b"avif" | b"avis"
        )
    };
    let picture = is_pict(major)
        || brands.chunks(4).skip(2).any(is_pict) && !top.iter().any(|b| &b.kind == b"moov");
    let format: &'static str = match major {
        b"avif" | b"avis" => "AVIF",
        _ if picture => "HEIF",
        b"qt  " => "MOV",
        b"M4A " | b"M4B " | b"M4P " => "M4A",
        _ => "MP4",
    };
    let mut report = Report::new(format);
    let mut out = data.to_vec();
    for b in &top {
        match &b.kind {
            b"meta" if picture => heif_meta(data, &mut out, b, format, &mut report)?,
            b"moov" => movie(data, &mut out, b, format, &mut report, 0)?,
            b"meta" | b"udta" => {
                describe_meta(data, b, &mut report);
                blank(&mut out, b);
            }
            b"uuid" if data.get(b.start + 8..b.start + 24) == Some(&XMP_UUID[..]) => {
                report.removed("XMP");
                blank(&mut out, b);
            }
            _ => {}
        }
    }
    if picture {
        report.kept("colour and rotation");
    }
    Ok((out, report))
}

/// Video: zero times in mvhd/tkhd/mdhd, blank udta, meta and XMP boxes.
fn movie(
    data: &[u8],
    out: &mut [u8],
    parent: &BoxRef,
    format: &'static str,
    report: &mut Report,
    depth: usize,
) -> Result<(), StripError> {
    if depth > MAX_DEPTH {
        return Err(err(format, "nests boxes too deeply"));
    }
    for b in boxes(data, parent.body, parent.end, format)? {
        match &b.kind {
            b"trak" | b"mdia" | b"minf" => movie(data, out, &b, format, report, depth + 1)?,
            // QuickTime's handler names its maker ("appl"), a field the
            // format reserves: zeroed. Players do not read it.
            b"hdlr" => {
                if let Some(vendor) = out.get_mut(b.body + 12..b.body + 16) {
                    if vendor.iter().any(|&x| x != 0) {
                        report.removed("software vendor");
                    }
                    vendor.fill(0);
                }
            }
            b"mvhd" | b"tkhd" | b"mdhd" => {
                let version = *data.get(b.body).unwrap_or(&0);
                let width = if version == 1 { 8 } else { 4 };
                let times = b.body + 4..b.body + 4 + 2 * width;
                if let Some(t) = out.get_mut(times) {
                    if t.iter().any(|&x| x != 0) {
                        report.removed("recording date");
                    }
                    t.fill(0);
                }
            }
            b"udta" | b"meta" => {
                if gapless(data, out, &b, format)? {
                    report.kept("gapless playback data (iTunSMPB)");
                    // Already reduced to that one item (a cleaned file): nothing to report.
                    if out.get(b.start..b.end) != data.get(b.start..b.end) {
                        describe_meta(data, &b, report);
                    }
                } else {
                    describe_meta(data, &b, report);
                    blank(out, &b);
                }
            }
            b"uuid" if data.get(b.start + 8..b.start + 24) == Some(&XMP_UUID[..]) => {
                report.removed("XMP");
                blank(out, &b);
            }
            _ => {}
        }
    }
    Ok(())
}

/// [`keep_gapless`] for songs, in the build that cleans them.
fn gapless(
    data: &[u8],
    out: &mut [u8],
    b: &BoxRef,
    format: &'static str,
) -> Result<bool, StripError> {
    #[cfg(feature = "formats")]
    if format == "M4A" {
        return keep_gapless(data, out, b, format);
    }
    let _ = (data, out, b, format);
    Ok(false)
}

/// iTunes' gapless-playback item (`----` named `iTunSMPB`: the encoder's
/// delay and padding and the original sample count) tells players which
/// decoded samples are the song; without it an AAC file plays with extra
/// silence at both ends. When a `udta` holds one, everything else in it is
/// blanked and this one item is kept, in place: the `ilst` is shrunk to
/// hold only it, and a `free` box fills the rest of its old span inside
/// `meta` (where iTunes itself writes one), so no byte outside moves.
/// `false` when there is no such item (the caller blanks the whole box).
/// Songs only (M4A, which the page cleans in its formats module); a video
/// keeps no iTunes item.
#[cfg(feature = "formats")]
fn keep_gapless(
    data: &[u8],
    out: &mut [u8],
    udta: &BoxRef,
    format: &'static str,
) -> Result<bool, StripError> {
    if &udta.kind != b"udta"
        || !contains(
            data.get(udta.body..udta.end).unwrap_or_default(),
            b"iTunSMPB",
        )
    {
        return Ok(false);
    }
    let children = boxes(data, udta.body, udta.end, format)?;
    let Some(meta) = children.iter().find(|b| &b.kind == b"meta") else {
        return Ok(false);
    };
    // meta is a FullBox: 4 bytes of version and flags before its children.
    let inner = boxes(data, meta.body + 4, meta.end, format)?;
    let Some(ilst) = inner.iter().find(|b| &b.kind == b"ilst") else {
        return Ok(false);
    };
    let items = boxes(data, ilst.body, ilst.end, format)?;
    let Some(item) = items.iter().find(|b| {
        &b.kind == b"----" && contains(data.get(b.body..b.end).unwrap_or_default(), b"iTunSMPB")
    }) else {
        return Ok(false);
    };
    if ilst.body - ilst.start != 8 {
        return Ok(false); // a largesize ilst: not worth the special case
    }
    for b in children.iter().filter(|b| b.start != meta.start) {
        blank(out, b);
    }
    for b in inner
        .iter()
        .filter(|b| &b.kind != b"hdlr" && &b.kind != b"ilst")
    {
        blank(out, b);
    }
    // The handler's reserved field, where iTunes writes its maker ("appl").
    for b in inner.iter().filter(|b| &b.kind == b"hdlr") {
        if let Some(vendor) = out.get_mut(b.body + 12..b.body + 16) {
            vendor.fill(0);
        }
    }
    let kept = data.get(item.start..item.end).unwrap_or_default();
    let new_ilst_end = ilst.body + kept.len();
    let rest = ilst.end - new_ilst_end;
    if rest != 0 && rest < 8 {
        return Ok(false); // no room for a free box: cannot happen with another item present
    }
    let ilst_size =
        u32::try_from(8 + kept.len()).map_err(|_| err(format, "has an oversized item list"))?;
    // The new span: the shrunk ilst, then a free box over the rest.
    let mut span = Vec::with_capacity(ilst.end - ilst.start);
    span.extend_from_slice(&ilst_size.to_be_bytes());
    span.extend_from_slice(b"ilst");
    span.extend_from_slice(kept);
    if rest >= 8 {
        let size = u32::try_from(rest).map_err(|_| err(format, "has an oversized item list"))?;
        span.extend_from_slice(&size.to_be_bytes());
        span.extend_from_slice(b"free");
    }
    span.resize(ilst.end - ilst.start, 0);
    if let Some(old) = out.get_mut(ilst.start..ilst.end) {
        old.copy_from_slice(&span);
    }
    Ok(true)
}

/// Names what a udta/meta box holds, for the report.
fn describe_meta(data: &[u8], b: &BoxRef, report: &mut Report) {
    let body = data.get(b.start..b.end).unwrap_or_default();
    let mut any = false;
    let mut note = |hit: bool, what: &str| {
        if hit {
            report.removed(what.to_owned());
            any = true;
        }
    };
    note(
        contains(body, b"\xa9xyz") || contains(body, b"location.ISO6709") || contains(body, b"GPS"),
        "GPS position",
    );
    note(
        contains(body, b"\xa9mak")
            || contains(body, b"\xa9mod")
            || contains(body, b"com.apple.quicktime.make")
            || contains(body, b"com.apple.quicktime.model"),
        "camera make and model",
    );
    note(
        contains(body, b"\xa9swr") || contains(body, b"com.apple.quicktime.software"),
        "software",
    );
    note(
        contains(body, b"\xa9day") || contains(body, b"creationdate"),
        "recording date",
    );
    note(
        contains(body, b"\xa9ART") || contains(body, b"aART") || contains(body, b"\xa9wrt"),
        "artist and credits",
    );
    note(
        contains(body, b"\xa9nam") || contains(body, b"\xa9alb"),
        "title and album",
    );
    note(
        contains(body, b"\xa9too") || contains(body, b"\xa9enc"),
        "encoder and software",
    );
    note(contains(body, b"covr"), "embedded picture");
    note(
        contains(body, b"\xa9cmt") || contains(body, b"\xa9lyr"),
        "comments and lyrics",
    );
    let count = |needle: &[u8]| body.windows(needle.len()).filter(|w| *w == needle).count();
    note(
        count(b"----") > count(b"iTunSMPB"),
        "private and custom data",
    );
    if !any {
        report.removed("metadata box");
    }
}

/// HEIF/AVIF: zero the bytes of Exif and XMP items, wherever iloc puts them.
fn heif_meta(
    data: &[u8],
    out: &mut [u8],
    meta: &BoxRef,
    format: &'static str,
    report: &mut Report,
) -> Result<(), StripError> {
    // meta is a FullBox: 4 bytes of version and flags before its children.
    let children = boxes(data, meta.body + 4, meta.end, format)?;
    let mut targets: Vec<(u32, &'static str)> = Vec::new();
    let mut iloc = None;
    let mut idat = None;
    for b in &children {
        match &b.kind {
            b"iinf" => targets = item_infos(data, b, format)?,
            b"iloc" => iloc = Some(*b),
            b"idat" => idat = Some(*b),
            b"udta" | b"uuid" => {
                report.removed("metadata box");
                blank(out, b);
            }
            _ => {}
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let iloc = iloc.ok_or_else(|| err(format, "has metadata items but no item locations"))?;
    let locations = item_locations(data, &iloc, format)?;
    for (id, what) in targets {
        let mut bytes = Vec::new();
        for loc in locations.iter().filter(|l| l.id == id) {
            let base = match loc.method {
                0 => 0,
                1 => idat
                    .map(|b| b.body)
                    .ok_or_else(|| err(format, "points into a missing idat box"))?,
                _ => return Err(err(format, "uses an unsupported item construction method")),
            };
            for &(off, len) in &loc.extents {
                let start = base
                    .checked_add(off)
                    .ok_or_else(|| err(format, "has an impossible item offset"))?;
                let end = start
                    .checked_add(len)
                    .ok_or_else(|| err(format, "has an impossible item length"))?;
                let region = out
                    .get_mut(start..end)
                    .ok_or_else(|| err(format, "has an item outside the file"))?;
                bytes.extend_from_slice(data.get(start..end).unwrap_or_default());
                region.fill(0);
            }
        }
        if bytes.iter().all(|&b| b == 0) {
            continue; // Already blank (a file Veil cleaned before).
        }
        if what == "EXIF" {
            // Exif item payload: a 4-byte offset to the TIFF header, then the block.
            let skip = read::be32(&bytes, 0).map_or(0, |s| s as usize);
            match bytes.get(4 + skip..).and_then(exif::summarize) {
                Some(s) => s.report_into(report),
                None => report.removed("EXIF"),
            }
        } else {
            report.removed(what);
            if contains(&bytes, b"GPSLatitude") {
                report.removed("GPS position");
            }
        }
    }
    Ok(())
}

/// Item ids of Exif and XMP items, from `iinf`.
fn item_infos(
    data: &[u8],
    iinf: &BoxRef,
    format: &'static str,
) -> Result<Vec<(u32, &'static str)>, StripError> {
    let version = *data
        .get(iinf.body)
        .ok_or_else(|| err(format, "has a truncated iinf box"))?;
    let first = iinf.body + 4 + if version == 0 { 2 } else { 4 };
    let mut out = Vec::new();
    for b in boxes(data, first.min(iinf.end), iinf.end, format)? {
        if &b.kind != b"infe" {
            continue;
        }
        let body = data.get(b.body..b.end).unwrap_or_default();
        let v = *body.first().unwrap_or(&0);
        if v < 2 {
            continue; // Versions 0 and 1 have no item type (no Exif/XMP items).
        }
        let (id, rest) = if v == 2 {
            (read::be16(body, 4).map(u32::from), body.get(8..))
        } else {
            (read::be32(body, 4), body.get(10..))
        };
        let (Some(id), Some(rest)) = (id, rest) else {
            return Err(err(format, "has a truncated item entry"));
        };
        let item_type = rest.get(..4).unwrap_or_default();
        let after_name = rest.get(4..).unwrap_or_default();
        let name_end = after_name
            .iter()
            .position(|&c| c == 0)
            .map_or(after_name.len(), |p| p + 1);
        let content_type = after_name.get(name_end..).unwrap_or_default();
        match item_type {
            b"Exif" => out.push((id, "EXIF")),
            b"mime" if content_type.starts_with(b"application/rdf+xml") => out.push((id, "XMP")),
            b"mime" => out.push((id, "embedded metadata")),
            _ => {}
        }
    }
    Ok(out)
}

struct Location {
    id: u32,
    method: u64,
    extents: Vec<(usize, usize)>,
}

/// Parses `iloc` (versions 0, 1 and 2), every read bounds-checked.
fn item_locations(
    data: &[u8],
    iloc: &BoxRef,
    format: &'static str,
) -> Result<Vec<Location>, StripError> {
    let bad = || err(format, "has a malformed iloc box");
    let b = data.get(iloc.body..iloc.end).ok_or_else(bad)?;
    let mut r = Cursor { b, at: 0 };
    let version = r.uint(1).ok_or_else(bad)?;
    r.uint(3).ok_or_else(bad)?;
    let sizes = r.uint(2).ok_or_else(bad)?;
    let nibble = |shift: u32| usize::from(u8::try_from((sizes >> shift) & 0xF).unwrap_or(0));
    let (off_size, len_size, base_size) = (nibble(12), nibble(8), nibble(4));
    let index_size = if version >= 1 { nibble(0) } else { 0 };
    let count = r.uint(if version < 2 { 2 } else { 4 }).ok_or_else(bad)?;
    let mut out = Vec::new();
    for _ in 0..count {
        let id = u32::try_from(r.uint(if version < 2 { 2 } else { 4 }).ok_or_else(bad)?)
            .map_err(|_| bad())?;
        let method = if version >= 1 {
            r.uint(2).ok_or_else(bad)? & 0xF
        } else {
            0
        };
        r.uint(2).ok_or_else(bad)?; // data_reference_index
        let base = usize::try_from(r.uint(base_size).ok_or_else(bad)?).map_err(|_| bad())?;
        let extents_n = r.uint(2).ok_or_else(bad)?;
        let mut extents = Vec::new();
        for _ in 0..extents_n {
            r.uint(index_size).ok_or_else(bad)?;
            let off = usize::try_from(r.uint(off_size).ok_or_else(bad)?).map_err(|_| bad())?;
            let len = usize::try_from(r.uint(len_size).ok_or_else(bad)?).map_err(|_| bad())?;
            extents.push((base.checked_add(off).ok_or_else(bad)?, len));
        }
        out.push(Location {
            id,
            method,
            extents,
        });
    }
    Ok(out)
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// A big-endian unsigned integer of `n` bytes (0, 1, 2, 3, 4 or 8).
    fn uint(&mut self, n: usize) -> Option<u64> {
        if !matches!(n, 0..=4 | 8) {
            return None;
        }
        let bytes = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
}
