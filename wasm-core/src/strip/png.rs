//! PNG and APNG: an allow-list over chunks. Kept: what decoding and colour
//! need (IHDR, PLTE, tRNS, IDAT, IEND, gAMA, cHRM, sRGB, iCCP, cICP, mDCV,
//! cLLI, sBIT, and the APNG chunks acTL, fcTL, fdAT). Dropped wherever they
//! sit (also after IDAT): text chunks (tEXt, zTXt, iTXt: comments, XMP,
//! ImageMagick's hex-encoded EXIF), eXIf, tIME and every other ancillary
//! chunk, and all bytes after IEND. A non-trivial orientation is kept in a
//! minimal eXIf chunk before the first IDAT.
//!
//! Files with a bad CRC or without IEND display in browsers but are
//! rejected here: a damaged chunk cannot be classified with confidence, and
//! the stripper never passes unverified bytes through as clean.

use super::exif;
use super::report::{human_bytes, Report};
use super::{read, StripError};

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
const KEEP: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP",
    b"mDCV", b"cLLI", b"sBIT", b"acTL", b"fcTL", b"fdAT",
];

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "PNG",
        problem: what,
    }
}

/// CRC-32 (ISO 3309, as PNG uses), with a 1 KiB table built at compile
/// time: a slice-by-16 crate would add 16 KiB to the wasm for no gain on
/// pictures of a few megabytes.
// Every index is below 256 by construction (a loop bound, or a u8 into a
// 256-entry table), and `c as u8` keeps the low byte on purpose.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[n] = c;
            n += 1;
        }
        t
    };
    !data
        .iter()
        .fold(!0u32, |c, &b| TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8))
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    // Chunk bodies Veil writes are tiny (eXIf: 26 bytes).
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Strips a PNG held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new("PNG");
    if data.get(..8) != Some(&SIGNATURE[..]) {
        return Err(err("does not start with the PNG signature"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(SIGNATURE);
    let mut at = 8;
    let mut orientation = None;
    let mut first_idat: Option<usize> = None;
    let mut first = true;
    loop {
        let truncated = || err("is truncated (no IEND chunk)");
        let len = read::be32(data, at).ok_or_else(truncated)? as usize;
        let kind: [u8; 4] = read::arr(data, at + 4).ok_or_else(truncated)?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(err("has a chunk with an invalid type"));
        }
        let end = at
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .ok_or_else(|| err("has an impossible chunk length"))?;
        let whole = data
            .get(at..end)
            .ok_or_else(|| err("is truncated inside a chunk"))?;
        // `whole` is exactly 12 + len bytes: length, type, body, CRC.
        let body = whole.get(8..8 + len).unwrap_or_default();
        let stored_crc = read::be32(whole, 8 + len);
        if Some(crc32(whole.get(4..8 + len).unwrap_or_default())) != stored_crc {
            return Err(err("has a chunk with a bad checksum"));
        }
        if first && &kind != b"IHDR" {
            return Err(err("does not start with an IHDR chunk"));
        }
        first = false;
        at = end;
        if KEEP.contains(&&kind) {
            if &kind == b"IDAT" && first_idat.is_none() {
                first_idat = Some(out.len());
            }
            if &kind == b"iCCP" || &kind == b"sRGB" || &kind == b"cICP" {
                report.kept("colour profile");
            }
            out.extend_from_slice(whole);
            if &kind == b"IEND" {
                break;
            }
            continue;
        }
        if kind[0].is_ascii_uppercase() {
            return Err(err("has an unknown critical chunk"));
        }
        match &kind {
            b"eXIf" => match exif::summarize(body.strip_prefix(b"Exif\0\0").unwrap_or(body)) {
                Some(s) => {
                    s.report_into(&mut report);
                    orientation = orientation.or(s.orientation);
                }
                None => report.removed("EXIF"),
            },
            b"tEXt" | b"zTXt" | b"iTXt" => {
                let keyword = body.split(|&b| b == 0).next().unwrap_or_default();
                report.removed(describe_text(keyword, body));
            }
            b"tIME" => report.removed("date modified"),
            b"pHYs" | b"bKGD" | b"hIST" | b"sPLT" => {
                report.removed("display hints (pHYs, bKGD...)")
            }
            _ => report.removed(format!("other data ({})", String::from_utf8_lossy(&kind))),
        }
    }
    let trailing = data.len() - at;
    if trailing > 0 {
        report.removed(format!("{} of trailing data", human_bytes(trailing)));
    }
    if let (Some(o), Some(slot)) = (orientation.filter(|&o| o != 1), first_idat) {
        let mut c = Vec::new();
        chunk(&mut c, b"eXIf", &exif::orientation_only(o));
        out.splice(slot..slot, c);
        report.kept(format!("orientation ({o})"));
    }
    if first_idat.is_none() {
        return Err(err("has no image data"));
    }
    Ok((out, report))
}

fn describe_text(keyword: &[u8], body: &[u8]) -> String {
    let k = String::from_utf8_lossy(keyword);
    match k.as_ref() {
        "XML:com.adobe.xmp" => {
            if super::jpeg::contains(body, b"GPSLatitude") {
                "GPS position".into()
            } else {
                "XMP".into()
            }
        }
        k if k.starts_with("Raw profile type exif") || k.starts_with("Raw profile type APP1") => {
            "EXIF (as text)".into()
        }
        k if k.starts_with("Raw profile type iptc") || k.starts_with("Raw profile type 8bim") => {
            "IPTC".into()
        }
        k if k.starts_with("Raw profile type xmp") => "XMP".into(),
        "Comment" | "Description" => "comment".into(),
        "Author" | "Copyright" => "author or copyright".into(),
        "Creation Time" | "date:create" | "date:modify" | "date:timestamp" => "dates".into(),
        "Software" => "software".into(),
        _ => "text".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32 check value of "123456789" (ISO 3309 / ITU-T V.42).
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b"IEND"), 0xAE42_6082);
    }
}
