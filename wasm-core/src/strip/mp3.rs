//! MP3 (MPEG audio): the tags around the frames go, the frames stay
//! byte for byte. Removed: ID3v2 tags at the start (with their pictures),
//! ID3v1, ID3v1-extended, APEv2, Lyrics3 and appended ID3v2 tags at the end.
//! The first MPEG frame (a LAME/Xing header when the encoder wrote one) is
//! audio data and is kept: players need it for the exact length and gapless
//! playback.
//!
//! Fail closed: what is left once the tags are gone must begin with an
//! MPEG audio frame header, or the file is refused. An ID3v2 tag in front
//! of FLAC is handed to [`super::flac`].

#[cfg(feature = "formats")]
use super::report::Report;
#[cfg(feature = "formats")]
use super::tags;
#[cfg(feature = "formats")]
use super::StripError;

#[cfg(feature = "formats")]
fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "MP3",
        problem: what,
    }
}

/// Whether `b` begins a plausible MPEG-1/2/2.5 audio frame header: sync,
/// no reserved version, layer, bitrate or sample rate.
pub(crate) fn is_frame_header(b: &[u8]) -> bool {
    match b {
        [0xFF, v, r, ..] => {
            v & 0xE0 == 0xE0
                && (v >> 3) & 3 != 1
                && (v >> 1) & 3 != 0
                && r >> 4 != 0xF
                && r >> 4 != 0
                && (r >> 2) & 3 != 3
        }
        _ => false,
    }
}

/// Whether the audio after the leading ID3v2 tags is FLAC.
#[cfg(feature = "formats")]
pub(crate) fn is_tagged_flac(data: &[u8]) -> bool {
    tags::id3v2_len(data)
        .and_then(|n| data.get(n..n + 4))
        .is_some_and(|m| m == b"fLaC")
}

/// Strips an MP3 (or an ID3-tagged FLAC) held in memory.
#[cfg(feature = "formats")]
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let start =
        tags::id3v2_len(data).ok_or_else(|| err("has an ID3v2 tag that runs past its end"))?;
    if is_tagged_flac(data) {
        return super::flac::strip(data);
    }
    let mut report = Report::new("MP3");
    if start > 0 {
        tags::report_fields(
            &mut report,
            tags::id3v2_frames(data).iter().map(String::as_str),
        );
        report.removed("ID3v2 tag");
    }
    let (end, trailers) = tags::trailers(data, data.len());
    for t in trailers {
        report.removed(t.name());
    }
    let audio = data
        .get(start..end)
        .filter(|a| is_frame_header(a))
        .ok_or_else(|| err("has no MPEG audio frame where the audio should begin"))?;
    Ok((audio.to_vec(), report))
}

#[cfg(all(test, feature = "formats"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frame_headers_are_told_from_other_bytes() {
        assert!(is_frame_header(&[0xFF, 0xFB, 0x90, 0x64]));
        assert!(is_frame_header(&[0xFF, 0xF3, 0x48, 0xC4])); // MPEG-2 layer III
        assert!(!is_frame_header(&[0xFF, 0xD8, 0xFF])); // JPEG
        assert!(!is_frame_header(&[0xFF, 0xF1, 0x50])); // AAC ADTS (layer 0)
        assert!(!is_frame_header(&[0xFF, 0xFB, 0xF0])); // bad bitrate
        assert!(!is_frame_header(&[0xFF, 0xFB]));
    }

    #[test]
    fn tags_go_frames_stay() {
        let mut f = b"ID3\x03\x00\x00\x00\x00\x00\x0B".to_vec();
        f.extend_from_slice(b"TIT2\x00\x00\x00\x01\x00\x00\x00");
        let frames = [0xFF, 0xFB, 0x90, 0x64, 1, 2, 3, 4];
        f.extend_from_slice(&frames);
        let mut v1 = b"TAG".to_vec();
        v1.resize(128, b'x');
        f.extend_from_slice(&v1);
        let (out, report) = strip(&f).unwrap();
        assert_eq!(out, frames);
        assert!(report.removed.contains(&"title".to_owned()));
        assert!(report.removed.contains(&"ID3v1 tag".to_owned()));
        // Nothing that looks like audio after the tag: refused.
        assert!(strip(b"ID3\x03\x00\x00\x00\x00\x00\x00junk").is_err());
    }
}
