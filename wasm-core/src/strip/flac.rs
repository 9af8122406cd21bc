//! FLAC: a walk over the metadata blocks before the audio frames.
//! Kept: STREAMINFO (the decoder's setup, always first) and SEEKTABLE
//! (seek points; sample numbers and offsets only). Dropped: VORBIS_COMMENT
//! (the tags and the encoder's name), PICTURE, APPLICATION, CUESHEET (a
//! CD's catalogue number and track ISRCs), PADDING and anything unknown,
//! plus ID3 tags some taggers put before or after a FLAC stream. The last
//! kept block gets the "last" flag; the frames are copied byte for byte.

use super::report::Report;
use super::tags;
use super::{read, StripError};

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "FLAC",
        problem: what,
    }
}

const STREAMINFO: u8 = 0;
const PADDING: u8 = 1;
const APPLICATION: u8 = 2;
const SEEKTABLE: u8 = 3;
const VORBIS_COMMENT: u8 = 4;
const CUESHEET: u8 = 5;
const PICTURE: u8 = 6;

/// Strips a FLAC file (optionally behind ID3v2 tags) held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new("FLAC");
    let start =
        tags::id3v2_len(data).ok_or_else(|| err("has an ID3v2 tag that runs past its end"))?;
    if start > 0 {
        tags::report_fields(
            &mut report,
            tags::id3v2_frames(data).iter().map(String::as_str),
        );
        report.removed("ID3v2 tag");
    }
    let stream = data.get(start..).unwrap_or_default();
    if stream.get(..4) != Some(b"fLaC") {
        return Err(err("does not begin with the FLAC signature"));
    }
    let mut at = 4;
    let mut kept: Vec<(u8, &[u8])> = Vec::new();
    loop {
        let header = read::be32(stream, at).ok_or_else(|| err("is truncated in a block header"))?;
        // The top byte is the flag and type, the rest the length.
        let [flags, ..] = header.to_be_bytes();
        let (last, kind) = (flags & 0x80 != 0, flags & 0x7F);
        let len = (header & 0x00FF_FFFF) as usize;
        let body = stream
            .get(at + 4..at + 4 + len)
            .ok_or_else(|| err("is truncated inside a metadata block"))?;
        if kept.is_empty() && kind != STREAMINFO {
            return Err(err("does not begin with STREAMINFO"));
        }
        match kind {
            STREAMINFO if kept.is_empty() => kept.push((kind, body)),
            STREAMINFO => return Err(err("has a second STREAMINFO")),
            SEEKTABLE => kept.push((kind, body)),
            VORBIS_COMMENT => match tags::vorbis_fields(body) {
                Some(fields) => tags::report_fields(&mut report, fields.iter().map(String::as_str)),
                None => report.removed("tags"),
            },
            PICTURE => report.removed("embedded picture"),
            APPLICATION => report.removed("application data"),
            CUESHEET => report.removed("cue sheet (catalogue numbers)"),
            PADDING => {}
            127 => return Err(err("has an invalid metadata block")),
            _ => report.removed("other data"),
        }
        at += 4 + len;
        if last {
            break;
        }
    }
    let frames_end = {
        let (end, trailers) = tags::trailers(stream, stream.len());
        for t in &trailers {
            report.removed(t.name());
        }
        end.max(at)
    };
    let frames = stream.get(at..frames_end).unwrap_or_default();
    // A frame begins with the 14-bit sync 0b11111111_111110.
    if !frames.is_empty() && !matches!(frames, [0xFF, b, ..] if b & 0xFE == 0xF8) {
        return Err(err("has no audio frame after its metadata"));
    }
    let mut out = Vec::with_capacity(frames.len() + 64);
    out.extend_from_slice(b"fLaC");
    let count = kept.len();
    for (i, (kind, body)) in kept.into_iter().enumerate() {
        let last = if i + 1 == count { 0x80 } else { 0 };
        let len = u32::try_from(body.len()).unwrap_or(0);
        out.push(last | kind);
        out.extend_from_slice(len.to_be_bytes().get(1..).unwrap_or_default());
        out.extend_from_slice(body);
    }
    out.extend_from_slice(frames);
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn block(last: bool, kind: u8, body: &[u8]) -> Vec<u8> {
        let mut b = vec![if last { 0x80 | kind } else { kind }];
        b.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn tags_and_pictures_go_streaminfo_and_frames_stay() {
        let info = [7u8; 34];
        let mut comment = 0u32.to_le_bytes().to_vec();
        comment.extend_from_slice(&1u32.to_le_bytes());
        comment.extend_from_slice(&6u32.to_le_bytes());
        comment.extend_from_slice(b"DATE=1");
        let mut f = b"fLaC".to_vec();
        f.extend(block(false, STREAMINFO, &info));
        f.extend(block(false, VORBIS_COMMENT, &comment));
        f.extend(block(true, PICTURE, b"png"));
        f.extend_from_slice(&[0xFF, 0xF8, 1, 2, 3]);
        let (out, report) = strip(&f).unwrap();
        let mut want = b"fLaC".to_vec();
        want.extend(block(true, STREAMINFO, &info));
        want.extend_from_slice(&[0xFF, 0xF8, 1, 2, 3]);
        assert_eq!(out, want);
        assert!(report.removed.contains(&"dates".to_owned()));
        assert!(report.removed.contains(&"embedded picture".to_owned()));
        // Cut inside a block, or no STREAMINFO first: refused.
        assert!(strip(&f[..50]).is_err());
        let mut no_info = b"fLaC".to_vec();
        no_info.extend(block(true, PICTURE, b"x"));
        assert!(strip(&no_info).is_err());
    }
}
