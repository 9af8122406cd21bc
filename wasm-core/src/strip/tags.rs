//! The tag systems audio files carry (ID3v1/v2, APEv2, Lyrics3, Vorbis
//! comments, RIFF INFO): finding them, and naming what they held in the
//! report's words ("artist and credits", "embedded picture", "dates").
//! One home for these names, so MP3, FLAC, Ogg and WAV report alike.
//!
//! Nothing here keeps a tag: every tag system in an audio file is metadata,
//! and none is needed to play the sound.

use super::read;
use super::report::Report;

/// What a tag field held, in the report's words. `id` is an ID3v2 frame id
/// (`TPE1`, `APIC`, v2.2's `TP1`), a Vorbis comment field name (`ARTIST`,
/// `METADATA_BLOCK_PICTURE`) or a RIFF INFO id (`IART`), any case.
#[must_use]
pub(crate) fn describe(id: &str) -> &'static str {
    let id = id.to_ascii_uppercase();
    match id.as_str() {
        "TPE1" | "TPE2" | "TPE3" | "TPE4" | "TCOM" | "TEXT" | "TOLY" | "TOPE" | "TP1" | "TP2"
        | "TP3" | "TP4" | "TCM" | "TXT" | "TMCL" | "TIPL" | "IPLS" | "ARTIST" | "ALBUMARTIST"
        | "ALBUM ARTIST" | "COMPOSER" | "PERFORMER" | "CONDUCTOR" | "LYRICIST" | "ARRANGER"
        | "IART" | "IENG" | "ICMS" | "ITCH" => "artist and credits",
        "TIT1" | "TIT2" | "TIT3" | "TT1" | "TT2" | "TT3" | "TITLE" | "INAM" | "ISBJ" => "title",
        "TALB" | "TAL" | "TOAL" | "ALBUM" | "IPRD" => "album",
        "TDRC" | "TYER" | "TDAT" | "TIME" | "TDRL" | "TDEN" | "TDTG" | "TORY" | "TDOR" | "TYE"
        | "TDA" | "TIM" | "TOR" | "DATE" | "YEAR" | "ICRD" | "IDIT" => "dates",
        "COMM" | "COM" | "COMMENT" | "DESCRIPTION" | "ICMT" => "comments",
        "APIC" | "PIC" | "METADATA_BLOCK_PICTURE" | "COVERART" | "COVERARTMIME" => {
            "embedded picture"
        }
        "TENC" | "TSSE" | "TEN" | "TSS" | "ENCODER" | "ENCODED-BY" | "ENCODED_BY" | "ENCODING"
        | "ISFT" | "ITOC" => "encoder and software",
        "PRIV" | "UFID" | "UFI" | "TXXX" | "TXX" | "GEOB" | "GEO" | "MCDI" | "MCI" | "NCON" => {
            "private and custom data"
        }
        "USLT" | "SYLT" | "ULT" | "SLT" | "LYRICS" | "UNSYNCEDLYRICS" => "lyrics",
        "TCOP" | "TPUB" | "TPB" | "TCR" | "COPYRIGHT" | "LICENSE" | "ORGANIZATION" | "LABEL"
        | "ICOP" => "copyright and label",
        _ if id.starts_with('W') && id.len() <= 4 => "web links",
        _ if id.starts_with("MUSICBRAINZ") || id.starts_with("ACOUSTID") || id == "ISRC" => {
            "catalogue identifiers"
        }
        _ => "other tags",
    }
}

/// Records each field of a tag in the report, by what it held.
pub(crate) fn report_fields<'a>(report: &mut Report, ids: impl IntoIterator<Item = &'a str>) {
    let mut any = false;
    for id in ids {
        report.removed(describe(id));
        any = true;
    }
    if !any {
        report.removed("empty tag");
    }
}

/// The length of the ID3v2 tags at the start of `data` (several may follow
/// one another), or 0. `None` when a tag's header is cut short or its size
/// runs past the end.
pub(crate) fn id3v2_len(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    while data.get(at..at + 3) == Some(b"ID3") {
        let size = syncsafe(read::arr(data, at + 6)?)?;
        let flags = *data.get(at + 5)?;
        let footer = if flags & 0x10 != 0 { 10 } else { 0 };
        let end = at.checked_add(10 + footer)?.checked_add(size)?;
        if end > data.len() {
            return None;
        }
        at = end;
    }
    Some(at)
}

/// The frame ids in the ID3v2 tags at the start of `data` (best effort:
/// for the report only; an unreadable tag yields what was read).
pub(crate) fn id3v2_frames(data: &[u8]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut at = 0;
    while data.get(at..at + 3) == Some(b"ID3") {
        let (Some(&version), Some(&flags), Some(size)) = (
            data.get(at + 3),
            data.get(at + 5),
            read::arr(data, at + 6).and_then(syncsafe),
        ) else {
            break;
        };
        let body = data.get(at + 10..at + 10 + size).unwrap_or_default();
        // An extended header or unsynchronisation would shift the frames;
        // the tag is still removed whole, only its description is coarse.
        if flags & 0xC0 != 0 {
            ids.push("ID3v2".to_owned());
        } else {
            frames(body, version, &mut ids);
        }
        at += 10 + size + if flags & 0x10 != 0 { 10 } else { 0 };
    }
    ids
}

fn frames(body: &[u8], version: u8, ids: &mut Vec<String>) {
    let (id_len, header) = if version == 2 { (3, 6) } else { (4, 10) };
    let mut at = 0;
    while let Some(id) = body.get(at..at + id_len) {
        if !id
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            break; // padding
        }
        let size = match version {
            2 => read::arr::<3>(body, at + 3)
                .map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2])),
            3 => read::be32(body, at + 4).map(|s| s as usize),
            _ => read::arr(body, at + 4).and_then(syncsafe),
        };
        let Some(size) = size else { break };
        ids.push(String::from_utf8_lossy(id).into_owned());
        at = match at.checked_add(header + size) {
            Some(next) => next,
            None => break,
        };
    }
}

fn syncsafe(b: [u8; 4]) -> Option<usize> {
    if b.iter().any(|&x| x & 0x80 != 0) {
        return None;
    }
    Some(b.iter().fold(0usize, |n, &x| n << 7 | usize::from(x)))
}

/// A tag at the end of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trailer {
    /// ID3v1 (128 bytes, `TAG`), with ID3v1.2's 128 more when present.
    Id3v1,
    /// ID3v1 extended (`TAG+`, 227 bytes before an ID3v1).
    Id3v1Extended,
    /// APEv2 (or APEv1) with its 32-byte footer.
    Ape,
    /// Lyrics3 v2.
    Lyrics3,
    /// An ID3v2.4 tag appended at the end, found by its footer (`3DI`).
    Id3v2Appended,
}

impl Trailer {
    /// Its name in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Id3v1 | Self::Id3v1Extended => "ID3v1 tag",
            Self::Ape => "APE tag",
            Self::Lyrics3 => "Lyrics3 tag",
            Self::Id3v2Appended => "ID3v2 tag",
        }
    }
}

/// Peels tags off the end of `data[..end]` until none is left: the new end
/// and what was found, innermost last. A tag whose own sizes do not fit is
/// left in place (the caller's format check then decides).
pub(crate) fn trailers(data: &[u8], mut end: usize) -> (usize, Vec<Trailer>) {
    let mut found = Vec::new();
    // Each step removes at least 10 bytes, so this ends.
    loop {
        let tail = data.get(..end).unwrap_or_default();
        let step = if end >= 128 && tail.get(end - 128..end - 125) == Some(b"TAG") {
            let ext = end >= 355 && tail.get(end - 355..end - 351) == Some(b"TAG+");
            if ext {
                found.push(Trailer::Id3v1Extended);
                Some(355)
            } else {
                found.push(Trailer::Id3v1);
                Some(128)
            }
        } else if end >= 32 && tail.get(end - 32..end - 24) == Some(b"APETAGEX") {
            // Footer: version(4) size(4, tag without header) items(4) flags(4).
            let size = read::le32(tail, end - 20).map(|s| s as usize);
            let flags = read::le32(tail, end - 12).unwrap_or(0);
            let header = if flags & 0x8000_0000 != 0 { 32 } else { 0 };
            size.and_then(|s| s.checked_add(header))
                .filter(|&s| s >= 32 && s <= end)
                .inspect(|_| found.push(Trailer::Ape))
        } else if end >= 15 && tail.get(end - 9..end) == Some(b"LYRICS200") {
            std::str::from_utf8(tail.get(end - 15..end - 9).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .and_then(|s| s.checked_add(15))
                .filter(|&s| s <= end)
                .inspect(|_| found.push(Trailer::Lyrics3))
        } else if end >= 10 && tail.get(end - 10..end - 7) == Some(b"3DI") {
            read::arr(tail, end - 4)
                .and_then(syncsafe)
                .and_then(|s| s.checked_add(20))
                .filter(|&s| s <= end)
                .inspect(|_| found.push(Trailer::Id3v2Appended))
        } else {
            None
        };
        match step {
            Some(n) => end -= n,
            None => return (end, found),
        }
    }
}

/// The field names of a Vorbis comment block (`vendor_len vendor count
/// [len field]*`, little-endian), as FLAC, Ogg Vorbis and Opus carry it.
/// `None` when it does not parse. The vendor string (the encoder) counts as
/// a field named `ENCODER` when it is not empty.
pub(crate) fn vorbis_fields(body: &[u8]) -> Option<Vec<String>> {
    let vendor = read::le32(body, 0)? as usize;
    let mut at = 4usize.checked_add(vendor)?;
    let count = read::le32(body, at)? as usize;
    at += 4;
    let mut names = Vec::new();
    if vendor > 0 {
        names.push("ENCODER".to_owned());
    }
    for _ in 0..count {
        let len = read::le32(body, at)? as usize;
        let field = body.get(at + 4..at.checked_add(4)?.checked_add(len)?)?;
        at += 4 + len;
        let name = field.split(|&c| c == b'=').next().unwrap_or_default();
        names.push(String::from_utf8_lossy(name).into_owned());
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fields_are_named_in_plain_words() {
        assert_eq!(describe("TPE1"), "artist and credits");
        assert_eq!(describe("artist"), "artist and credits");
        assert_eq!(describe("APIC"), "embedded picture");
        assert_eq!(describe("WXXX"), "web links");
        assert_eq!(describe("MUSICBRAINZ_TRACKID"), "catalogue identifiers");
        assert_eq!(describe("XYZW"), "other tags");
    }

    #[test]
    fn id3v2_sizes_are_syncsafe_and_checked() {
        let mut tag = b"ID3\x04\x00\x00\x00\x00\x01\x00".to_vec(); // 128 bytes of body
        tag.resize(10 + 128, 0);
        tag.extend_from_slice(b"\xFF\xFB");
        assert_eq!(id3v2_len(&tag), Some(138));
        assert_eq!(id3v2_len(&tag[..100]), None);
        let mut bad = tag.clone();
        bad[8] = 0x80; // not syncsafe
        assert_eq!(id3v2_len(&bad), None);
        assert_eq!(id3v2_len(b"\xFF\xFB\x90"), Some(0));
    }

    #[test]
    fn trailers_peel_in_order() {
        let mut f = vec![0xAAu8; 400];
        let mut ape = b"APETAGEX".to_vec();
        ape.extend_from_slice(&2000u32.to_le_bytes());
        ape.extend_from_slice(&32u32.to_le_bytes()); // size incl. footer
        ape.extend_from_slice(&0u32.to_le_bytes());
        ape.extend_from_slice(&0u32.to_le_bytes());
        ape.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&ape);
        let mut v1 = b"TAG".to_vec();
        v1.resize(128, b' ');
        f.extend_from_slice(&v1);
        let (end, found) = trailers(&f, f.len());
        assert_eq!(end, 400);
        assert_eq!(found, vec![Trailer::Id3v1, Trailer::Ape]);
    }

    #[test]
    fn vorbis_fields_parse_and_refuse_lies() {
        let mut c = 3u32.to_le_bytes().to_vec();
        c.extend_from_slice(b"lib");
        c.extend_from_slice(&1u32.to_le_bytes());
        c.extend_from_slice(&8u32.to_le_bytes());
        c.extend_from_slice(b"ARTIST=x");
        assert_eq!(vorbis_fields(&c).unwrap(), vec!["ENCODER", "ARTIST"]);
        c[7 + 4] = 200; // field length past the end
        assert_eq!(vorbis_fields(&c), None);
    }
}
