//! JPEG (baseline, progressive, CMYK/YCCK, MPO): an allow-list walk over the
//! marker segments. Kept: everything needed to decode (tables, frame and
//! scan headers, entropy-coded data), ICC profile segments in order, the
//! Adobe APP14 segment (CMYK colours depend on it) and JFIF without its
//! thumbnail. Dropped: every other APPn, COM, and all bytes after the first
//! end-of-image marker (MPO second images, motion-photo videos, trailers).
//! A non-trivial orientation is kept in a minimal EXIF segment.

use super::exif;
use super::report::{human_bytes, Report};
use super::{read, StripError};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const COM: u8 = 0xFE;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "JPEG",
        problem: what,
    }
}

/// Strips a JPEG held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new("JPEG");
    if data.get(..2) != Some(&[0xFF, SOI]) {
        return Err(err("does not start with a start-of-image marker"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut at = 2;
    let mut orientation: Option<u16> = None;
    let mut exif_slot: Option<usize> = None;
    let mut seen_frame = false;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if data.get(at) != Some(&0xFF) {
            return Err(err("is truncated or has bytes where a marker should be"));
        }
        while data.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *data.get(at).ok_or_else(|| err("is truncated"))?;
        at += 1;
        match marker {
            EOI => {
                if !seen_frame {
                    return Err(err("has no image data"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                let trailing = data.len() - at;
                if trailing > 0 {
                    if contains(data.get(at..).unwrap_or_default(), &[0xFF, SOI, 0xFF]) {
                        report.removed(format!(
                            "second image or embedded video after the picture ({})",
                            human_bytes(trailing)
                        ));
                    } else {
                        report.removed(format!("{} of trailing data", human_bytes(trailing)));
                    }
                }
                break;
            }
            0xD0..=0xD7 | 0x01 => {
                // Standalone markers outside a scan: keep.
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 => return Err(err("has a stuffed byte where a marker should be")),
            _ => {}
        }
        let len = usize::from(
            read::be16(data, at).ok_or_else(|| err("is truncated inside a segment header"))?,
        );
        if len < 2 {
            return Err(err("has a segment with an impossible length"));
        }
        let seg = data
            .get(at..at + len)
            .ok_or_else(|| err("is truncated inside a segment"))?;
        let body = seg.get(2..).unwrap_or_default();
        at += len;
        match marker {
            APP0 if body.starts_with(b"JFIF\0") && body.len() >= 14 => {
                if body.get(12..14).is_some_and(|t| t != [0, 0]) {
                    report.removed("thumbnail");
                }
                // JFIF header without the thumbnail: 16-byte segment.
                out.extend_from_slice(&[0xFF, APP0, 0, 16]);
                out.extend_from_slice(body.get(..12).unwrap_or_default());
                out.extend_from_slice(&[0, 0]);
            }
            APP0 if body.starts_with(b"JFXX\0") => report.removed("thumbnail"),
            APP1 if body.starts_with(b"Exif\0") => {
                let tiff = body.get(6..).unwrap_or_default();
                match exif::summarize(tiff) {
                    Some(s) => {
                        s.report_into(&mut report);
                        if orientation.is_none() {
                            orientation = s.orientation;
                        }
                    }
                    None => report.removed("EXIF"),
                }
                exif_slot.get_or_insert(out.len());
            }
            APP1 if body.starts_with(b"http://ns.adobe.com/xap/1.0/\0")
                || body.starts_with(b"http://ns.adobe.com/xmp/extension/\0") =>
            {
                report.removed("XMP");
                if contains(body, b"GPSLatitude") || contains(body, b"GPSLongitude") {
                    report.removed("GPS position");
                }
            }
            APP2 if body.starts_with(b"ICC_PROFILE\0") => {
                report.kept("colour profile");
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(seg);
            }
            APP2 if body.starts_with(b"MPF\0") => report.removed("multi-picture index (MPO)"),
            APP13 => report.removed("IPTC / Photoshop data"),
            APP14 if body.starts_with(b"Adobe") => {
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(seg);
            }
            0xE0..=0xEF => report.removed(format!("APP{} data", marker - APP0)),
            COM => report.removed("comment"),
            SOS => {
                if !seen_frame {
                    return Err(err("has image data before its frame header"));
                }
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(seg);
                // Entropy-coded data runs to the next marker that is neither
                // a stuffed 0xFF00 nor a restart marker.
                let start = at;
                loop {
                    let Some(rel) = data
                        .get(at..)
                        .and_then(|d| d.iter().position(|&b| b == 0xFF))
                    else {
                        return Err(err(
                            "is truncated inside the image data (no end-of-image marker)",
                        ));
                    };
                    at += rel;
                    match data.get(at + 1) {
                        Some(0x00 | 0xD0..=0xD7 | 0xFF) => at += 1,
                        Some(_) => break,
                        None => {
                            return Err(err(
                                "is truncated inside the image data (no end-of-image marker)",
                            ))
                        }
                    }
                }
                out.extend_from_slice(data.get(start..at).unwrap_or_default());
            }
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                seen_frame = true;
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(seg);
            }
            // Tables and the rest of the decoding machinery (DQT, DHT, DRI,
            // DNL, DAC, EXP, ...).
            _ => {
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(seg);
            }
        }
    }
    if let Some(o) = orientation.filter(|&o| o != 1) {
        let tiff = exif::orientation_only(o);
        let mut seg = Vec::with_capacity(tiff.len() + 10);
        seg.extend_from_slice(&[0xFF, APP1]);
        // 2 length bytes + "Exif\0\0" + the TIFF block: 34 bytes, fits u16.
        seg.extend_from_slice(&u16::try_from(tiff.len() + 8).unwrap_or(34).to_be_bytes());
        seg.extend_from_slice(b"Exif\0\0");
        seg.extend_from_slice(&tiff);
        let slot = exif_slot.unwrap_or(2);
        out.splice(slot..slot, seg);
        report.kept(format!("orientation ({o})"));
    }
    Ok((out, report))
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
