//! WAV (RIFF WAVE): a walk over the RIFF chunks. Kept: `fmt ` (the sample
//! format), `fact` (the sample count compressed formats need) and `data`
//! (the samples, byte for byte). Dropped: `LIST` (INFO tags: artist, title,
//! software, dates; adtl labels), `id3 `, `bext` (broadcast originator,
//! dates, coding history), `iXML`, `_PMX` (XMP), `cue `, `smpl`, `DISP`,
//! `JUNK` and anything unknown; the RIFF size is rewritten.
//!
//! RF64 and BW64 (over 4 GiB) are refused: their sizes live in a `ds64`
//! chunk this walk does not rewrite.

use super::report::Report;
use super::tags;
use super::{read, StripError};

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "WAV",
        problem: what,
    }
}

fn put_chunk(out: &mut Vec<u8>, kind: &[u8], body: &[u8]) -> Result<(), StripError> {
    out.extend_from_slice(kind);
    let len = u32::try_from(body.len()).map_err(|_| err("is too large"))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    Ok(())
}

/// The INFO ids inside a `LIST` chunk of type `INFO` (for the report).
fn info_ids(list: &[u8]) -> Option<Vec<String>> {
    if list.get(..4) != Some(b"INFO") {
        return None;
    }
    let mut ids = Vec::new();
    let mut at = 4;
    while let (Some(id), Some(len)) = (list.get(at..at + 4), read::le32(list, at + 4)) {
        ids.push(String::from_utf8_lossy(id).into_owned());
        at = at.checked_add(8 + len as usize + (len as usize & 1))?;
    }
    Some(ids)
}

/// Strips a WAV file held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    match data.get(..4) {
        Some(b"RIFF") => {}
        Some(b"RF64" | b"BW64") => {
            return Err(StripError::Unsupported("RF64 (WAV over 4 GiB)".to_owned()))
        }
        _ => return Err(err("is not a RIFF file")),
    }
    if data.get(8..12) != Some(b"WAVE") {
        return Err(err("is not a RIFF WAVE file"));
    }
    let mut report = Report::new("WAV");
    let riff_len = read::le32(data, 4).ok_or_else(|| err("is truncated"))? as usize;
    // Many writers leave the RIFF size wrong; the chunks decide, within the file.
    let end = riff_len.saturating_add(8).min(data.len());
    let mut at = 12;
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WAVE");
    let (mut fmt, mut samples) = (false, false);
    while at + 8 <= end {
        let kind: [u8; 4] = read::arr(data, at).ok_or_else(|| err("is truncated"))?;
        let len = read::le32(data, at + 4).ok_or_else(|| err("is truncated"))? as usize;
        let body = data
            .get(at + 8..at.saturating_add(8).saturating_add(len))
            .ok_or_else(|| err("is truncated inside a chunk"))?;
        match &kind {
            b"fmt " => {
                fmt = true;
                put_chunk(&mut out, &kind, body)?;
            }
            b"data" if fmt => {
                samples = true;
                put_chunk(&mut out, &kind, body)?;
            }
            b"data" => return Err(err("has samples before their format")),
            b"fact" => put_chunk(&mut out, &kind, body)?,
            b"LIST" => match info_ids(body) {
                Some(ids) => tags::report_fields(&mut report, ids.iter().map(String::as_str)),
                None => report.removed("labels and notes"),
            },
            b"id3 " | b"ID3 " => {
                let ids = tags::id3v2_frames(body);
                tags::report_fields(&mut report, ids.iter().map(String::as_str));
                report.removed("ID3v2 tag");
            }
            b"bext" => report.removed("broadcast originator and dates"),
            b"_PMX" => report.removed("XMP"),
            b"iXML" => report.removed("recorder notes (iXML)"),
            b"cue " | b"smpl" | b"plst" => report.removed("cue points"),
            b"JUNK" | b"junk" | b"PAD " | b"FLLR" | b"pad " => {}
            _ => report.removed(format!(
                "other data ({})",
                String::from_utf8_lossy(&kind).trim()
            )),
        }
        at = at + 8 + len + (len & 1);
    }
    if !samples {
        return Err(err("has no samples"));
    }
    let trailing = data.len().saturating_sub(at.min(data.len()));
    if trailing > 0 {
        report.removed(format!(
            "{} of trailing data",
            super::report::human_bytes(trailing)
        ));
    }
    let riff = u32::try_from(out.len() - 8).map_err(|_| err("is too large"))?;
    if let Some(size) = out.get_mut(4..8) {
        size.copy_from_slice(&riff.to_le_bytes());
    }
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chunk(kind: &[u8], body: &[u8]) -> Vec<u8> {
        let mut c = Vec::new();
        put_chunk(&mut c, kind, body).unwrap();
        c
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        f.extend_from_slice(b"WAVE");
        f.extend(body);
        f
    }

    #[test]
    fn info_goes_samples_stay() {
        let fmt = chunk(b"fmt ", &[1; 16]);
        let data = chunk(b"data", &[9, 8, 7]);
        let mut info = b"INFO".to_vec();
        info.extend(chunk(b"IART", b"me\0"));
        let f = riff(&[fmt.clone(), chunk(b"LIST", &info), data.clone()]);
        let (out, report) = strip(&f).unwrap();
        assert_eq!(out, riff(&[fmt.clone(), data]));
        assert_eq!(report.removed, vec!["artist and credits"]);
        assert!(strip(&riff(&[fmt])).is_err(), "no samples");
        assert!(strip(&f[..f.len() - 3]).is_err(), "cut inside data");
        assert!(matches!(
            strip(b"RF64\xff\xff\xff\xffWAVE"),
            Err(StripError::Unsupported(_))
        ));
    }
}
