//! WebP (lossy, lossless, alpha, animated): a walk over the RIFF chunks.
//! Kept: VP8, VP8L, VP8X, ALPH, ANIM, ANMF, ICCP. Dropped: EXIF, XMP and any
//! unknown chunk; VP8X's EXIF/XMP flags and the RIFF size are rewritten.
//! A non-trivial orientation is kept in a minimal EXIF chunk.

use super::exif;
use super::report::{human_bytes, Report};
use super::{read, StripError};

const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "WebP",
        problem: what,
    }
}

fn put_chunk(out: &mut Vec<u8>, kind: &[u8], body: &[u8]) {
    out.extend_from_slice(kind);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

/// Strips a WebP held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new("WebP");
    if data.get(..4) != Some(b"RIFF") || data.get(8..12) != Some(b"WEBP") {
        return Err(err("is not a RIFF WEBP file"));
    }
    let riff_len = read::le32(data, 4).ok_or_else(|| err("is truncated"))? as usize;
    let end = riff_len
        .checked_add(8)
        .ok_or_else(|| err("has an impossible size"))?;
    let body = data.get(12..end).ok_or_else(|| err("is truncated"))?;
    let mut kept: Vec<([u8; 4], &[u8])> = Vec::new();
    let mut orientation = None;
    let mut at = 0;
    let mut has_image = false;
    while at < body.len() {
        let truncated = || err("is truncated inside a chunk header");
        let kind: [u8; 4] = read::arr(body, at).ok_or_else(truncated)?;
        let len = read::le32(body, at + 4).ok_or_else(truncated)? as usize;
        let end = at
            .checked_add(8)
            .and_then(|x| x.checked_add(len))
            .ok_or_else(|| err("has an impossible chunk length"))?;
        let payload = body
            .get(at + 8..end)
            .ok_or_else(|| err("is truncated inside a chunk"))?;
        at = end + (len & 1);
        match &kind {
            b"VP8 " | b"VP8L" | b"ANMF" => {
                has_image = true;
                kept.push((kind, payload));
            }
            b"VP8X" | b"ALPH" | b"ANIM" => kept.push((kind, payload)),
            b"ICCP" => {
                report.kept("colour profile");
                kept.push((kind, payload));
            }
            b"EXIF" => {
                let tiff = payload.strip_prefix(b"Exif\0\0").unwrap_or(payload);
                match exif::summarize(tiff) {
                    Some(s) => {
                        s.report_into(&mut report);
                        orientation = orientation.or(s.orientation);
                    }
                    None => report.removed("EXIF"),
                }
            }
            b"XMP " => report.removed("XMP"),
            _ => report.removed(format!(
                "other data ({})",
                String::from_utf8_lossy(&kind).trim()
            )),
        }
    }
    if !has_image {
        return Err(err("has no image data"));
    }
    let trailing = data.len() - end;
    if trailing > 0 {
        report.removed(format!("{} of trailing data", human_bytes(trailing)));
    }
    let exif_block = orientation.filter(|&o| o != 1).map(exif::orientation_only);
    let mut out_body = Vec::with_capacity(body.len());
    let mut has_vp8x = false;
    for (kind, payload) in &kept {
        if kind == b"VP8X" {
            has_vp8x = true;
            let mut p = payload.to_vec();
            if let Some(flags) = p.first_mut() {
                *flags &= !(FLAG_EXIF | FLAG_XMP);
                if exif_block.is_some() {
                    *flags |= FLAG_EXIF;
                }
            }
            put_chunk(&mut out_body, kind, &p);
        } else {
            put_chunk(&mut out_body, kind, payload);
        }
    }
    // EXIF goes after the image data (the WebP container spec's order).
    if let (Some(block), true) = (&exif_block, has_vp8x) {
        put_chunk(&mut out_body, b"EXIF", block);
        if let Some(o) = orientation {
            report.kept(format!("orientation ({o})"));
        }
    }
    let mut out = Vec::with_capacity(out_body.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(
        &u32::try_from(out_body.len() + 4)
            .map_err(|_| err("is too large"))?
            .to_le_bytes(),
    );
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&out_body);
    Ok((out, report))
}
