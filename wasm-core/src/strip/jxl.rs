//! JPEG XL. A bare codestream (`FF 0A`) has nowhere to keep metadata but
//! its own header (size, colour, orientation), so it is sent unchanged.
//! The container (ISO/IEC 18181-2, the ISO BMFF box layout) is rebuilt from
//! an allow-list of boxes: `JXL ` (signature), `ftyp`, `jxll` (level),
//! `jxlc`/`jxlp` (the codestream), `jxli` (frame index). Dropped: `Exif`,
//! `xml ` (XMP), `jumb` (JUMBF, e.g. C2PA provenance), `brob` (any of those,
//! Brotli-compressed), `jbrd` (JPEG reconstruction data, which can carry the
//! original JPEG's comments and application segments) and anything unknown.
//! Colour profile and orientation live in the codestream and are untouched.

#[cfg(feature = "formats")]
use super::report::Report;
#[cfg(feature = "formats")]
use super::{exif, isobmff, read, StripError};

#[cfg(feature = "formats")]
const FORMAT: &str = "JPEG XL";
/// The container's first box: `JXL ` and its fixed payload.
pub(crate) const SIGNATURE: [u8; 12] =
    [0, 0, 0, 12, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A];

#[cfg(feature = "formats")]
fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: FORMAT,
        problem: what,
    }
}

/// Strips a JPEG XL file held in memory.
#[cfg(feature = "formats")]
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new(FORMAT);
    if data.starts_with(&[0xFF, 0x0A]) {
        report.kept("colour and orientation");
        return Ok((data.to_vec(), report));
    }
    if !data.starts_with(&SIGNATURE) {
        return Err(err("does not begin with a JPEG XL signature"));
    }
    let mut out = Vec::with_capacity(data.len());
    let mut codestream = false;
    for b in isobmff::boxes(data, 0, data.len(), FORMAT)? {
        let whole = data
            .get(b.start..b.end)
            .ok_or_else(|| err("is truncated"))?;
        match &b.kind {
            b"JXL " | b"ftyp" | b"jxll" | b"jxli" => out.extend_from_slice(whole),
            b"jxlc" | b"jxlp" => {
                codestream = true;
                out.extend_from_slice(whole);
            }
            b"Exif" => {
                // A 4-byte offset to the TIFF header, then the block.
                let skip = read::be32(data, b.body).map_or(0, |s| s as usize);
                match data
                    .get(b.body.saturating_add(4).saturating_add(skip)..b.end)
                    .and_then(exif::summarize)
                {
                    Some(s) => s.report_into(&mut report),
                    None => report.removed("EXIF"),
                }
            }
            b"xml " => report.removed("XMP"),
            b"jumb" => report.removed("JUMBF (provenance data)"),
            b"brob" => match data.get(b.body..b.body + 4) {
                Some(b"Exif") => report.removed("EXIF (compressed)"),
                Some(b"xml ") => report.removed("XMP (compressed)"),
                _ => report.removed("compressed metadata"),
            },
            b"jbrd" => report.removed("JPEG reconstruction data"),
            _ => report.removed(format!(
                "other data ({})",
                String::from_utf8_lossy(&b.kind).trim()
            )),
        }
    }
    if !codestream {
        return Err(err("has no codestream"));
    }
    report.kept("colour and orientation");
    Ok((out, report))
}

#[cfg(all(test, feature = "formats"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn boxed(kind: &[u8], body: &[u8]) -> Vec<u8> {
        let mut b = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn metadata_boxes_go_codestream_stays() {
        let ftyp = boxed(b"ftyp", b"jxl \0\0\0\0jxl ");
        let code = boxed(b"jxlc", &[0xFF, 0x0A, 1, 2, 3]);
        let f = [
            SIGNATURE.to_vec(),
            ftyp.clone(),
            boxed(b"xml ", b"<x:xmpmeta/>"),
            code.clone(),
            boxed(b"brob", b"Exif...."),
        ]
        .concat();
        let (out, report) = strip(&f).unwrap();
        assert_eq!(out, [SIGNATURE.to_vec(), ftyp.clone(), code].concat());
        assert!(report.removed.contains(&"XMP".to_owned()));
        assert!(report.removed.contains(&"EXIF (compressed)".to_owned()));
        assert!(
            strip(&[SIGNATURE.to_vec(), ftyp].concat()).is_err(),
            "no codestream"
        );
        assert!(strip(&f[..f.len() - 2]).is_err(), "cut box");
    }
}
