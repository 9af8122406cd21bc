//! Ogg Vorbis and Ogg Opus: the comment header is replaced by an empty one
//! (no vendor string, no fields), every other packet is kept byte for byte.
//!
//! An Ogg stream is a run of pages (RFC 3533); the codec's headers open it:
//! Vorbis has three (identification, comment, setup), Opus two
//! (`OpusHead`, `OpusTags`, RFC 7845). Both codecs put the identification
//! header alone on the first page and start the audio on a fresh page, so
//! the pages holding the rest of the headers are rebuilt with the empty
//! comment and the audio pages are copied, with their sequence numbers
//! shifted (and their CRC recomputed) when the header took fewer pages.
//!
//! Fail closed: every page's CRC is checked; a stream that mixes several
//! logical streams (chained or multiplexed files), another codec (Theora,
//! FLAC, Speex) or audio sharing a page with the headers is refused.

use super::report::{human_bytes, Report};
use super::tags;
use super::{read, StripError};

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "Ogg",
        problem: what,
    }
}

const CONTINUED: u8 = 0x01;
const FIRST: u8 = 0x02;
const MAX_PAGES: usize = 10_000_000;

/// CRC-32 of Ogg pages: polynomial 0x04C11DB7, not reflected, initial 0
/// (PNG's CRC is the reflected one, so the tables differ).
// Built at compile time: an index out of range would fail the build, and
// `i` is below 256.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04C1_1DB7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

fn crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |c, &b| {
        // The index is one byte, so always in the table.
        let i = usize::from((c >> 24) as u8 ^ b);
        (c << 8) ^ CRC_TABLE.get(i).copied().unwrap_or(0)
    })
}

/// Stores the CRC of a whole page (CRC field zeroed first) into it.
fn seal(page: &mut [u8]) {
    if let Some(f) = page.get_mut(22..26) {
        f.fill(0);
    }
    let c = crc(page);
    if let Some(f) = page.get_mut(22..26) {
        f.copy_from_slice(&c.to_le_bytes());
    }
}

#[derive(Clone, Copy)]
struct Page<'a> {
    flags: u8,
    serial: u32,
    seq: u32,
    lacing: &'a [u8],
    body: &'a [u8],
    raw: &'a [u8],
}

fn pages(data: &[u8]) -> Result<(Vec<Page<'_>>, usize), StripError> {
    let mut out = Vec::new();
    let mut at = 0;
    while data.get(at..at + 4) == Some(b"OggS") {
        if out.len() >= MAX_PAGES {
            return Err(err("has too many pages"));
        }
        let cut = || err("is truncated inside a page");
        if *data.get(at + 4).ok_or_else(cut)? != 0 {
            return Err(err("uses an unknown page version"));
        }
        let flags = *data.get(at + 5).ok_or_else(cut)?;
        let serial = read::le32(data, at + 14).ok_or_else(cut)?;
        let seq = read::le32(data, at + 18).ok_or_else(cut)?;
        let stored = read::le32(data, at + 22).ok_or_else(cut)?;
        let n = usize::from(*data.get(at + 26).ok_or_else(cut)?);
        let lacing = data.get(at + 27..at + 27 + n).ok_or_else(cut)?;
        let len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let end = at + 27 + n + len;
        let raw = data.get(at..end).ok_or_else(cut)?;
        let mut check = raw.to_vec();
        check.get_mut(22..26).map(|f| f.fill(0)).ok_or_else(cut)?;
        if crc(&check) != stored {
            return Err(err("has a damaged page (CRC mismatch)"));
        }
        let body = data.get(at + 27 + n..end).ok_or_else(cut)?;
        out.push(Page {
            flags,
            serial,
            seq,
            lacing,
            body,
            raw,
        });
        at = end;
    }
    Ok((out, at))
}

/// The codec: how many header packets it has, and its comment header's
/// prefix (what comes before the Vorbis comment block) and suffix.
struct Codec {
    name: &'static str,
    headers: usize,
    comment_prefix: &'static [u8],
    comment_suffix: &'static [u8],
}

fn codec(first: &[u8]) -> Result<Codec, StripError> {
    if first.starts_with(b"\x01vorbis") {
        Ok(Codec {
            name: "Ogg Vorbis",
            headers: 3,
            comment_prefix: b"\x03vorbis",
            comment_suffix: &[1], // the framing bit
        })
    } else if first.starts_with(b"OpusHead") {
        Ok(Codec {
            name: "Ogg Opus",
            headers: 2,
            comment_prefix: b"OpusTags",
            comment_suffix: &[],
        })
    } else if first.starts_with(b"\x80theora") {
        Err(StripError::Unsupported("Ogg Theora video".to_owned()))
    } else if first.starts_with(b"\x7fFLAC") {
        Err(StripError::Unsupported("Ogg FLAC".to_owned()))
    } else if first.starts_with(b"Speex   ") {
        Err(StripError::Unsupported("Ogg Speex".to_owned()))
    } else {
        Err(err("holds a codec Veil does not know"))
    }
}

/// Strips an Ogg Vorbis or Opus file held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let (pages, end) = pages(data)?;
    let first = pages.first().ok_or_else(|| err("has no page"))?;
    if pages.iter().any(|p| p.serial != first.serial) {
        return Err(StripError::Unsupported(
            "Ogg files holding several streams".to_owned(),
        ));
    }
    // The first page begins the stream and holds exactly the
    // identification header.
    if first.flags & FIRST == 0
        || first.lacing.last().is_none_or(|&l| l == 255)
        || first.lacing.iter().rev().skip(1).any(|&l| l < 255)
    {
        return Err(err(
            "does not have its first header alone on the first page",
        ));
    }
    let codec = codec(first.body)?;
    let mut report = Report::new(codec.name);

    // Gather the remaining header packets from the following pages.
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut current = Vec::new();
    let mut audio_page = None;
    for (i, page) in pages.iter().enumerate().skip(1) {
        let mut offset = 0;
        for (s, &l) in page.lacing.iter().enumerate() {
            let seg = page
                .body
                .get(offset..offset + usize::from(l))
                .ok_or_else(|| err("is truncated inside a page"))?;
            offset += usize::from(l);
            current.extend_from_slice(seg);
            if l < 255 {
                packets.push(std::mem::take(&mut current));
                if packets.len() == codec.headers - 1 {
                    if s + 1 != page.lacing.len() {
                        return Err(err("starts its audio on a header page"));
                    }
                    audio_page = Some(i + 1);
                }
            }
        }
        if audio_page.is_some() {
            break;
        }
    }
    let audio_page = audio_page.ok_or_else(|| err("ends inside its headers"))?;
    let comment = packets
        .first()
        .and_then(|p| p.strip_prefix(codec.comment_prefix))
        .ok_or_else(|| err("has no comment header where it belongs"))?;
    match tags::vorbis_fields(comment) {
        Some(fields) if fields.is_empty() => {}
        Some(fields) => tags::report_fields(&mut report, fields.iter().map(String::as_str)),
        None => return Err(err("has a comment header that does not parse")),
    }

    let mut empty = codec.comment_prefix.to_vec();
    empty.extend_from_slice(&[0; 8]); // no vendor string, no fields
    empty.extend_from_slice(codec.comment_suffix);
    let mut headers = vec![empty];
    headers.extend(packets.into_iter().skip(1));

    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(first.raw);
    let new_pages = write_headers(&mut out, &headers, first.serial, first.seq)?;
    // Pages after the headers: same bytes, sequence numbers shifted.
    let old_pages = u32::try_from(audio_page - 1).map_err(|_| err("has too many pages"))?;
    for page in pages.iter().skip(audio_page) {
        let start = out.len();
        out.extend_from_slice(page.raw);
        if new_pages != old_pages {
            let seq = page
                .seq
                .wrapping_sub(old_pages)
                .wrapping_add(new_pages)
                .to_le_bytes();
            if let Some(page) = out.get_mut(start..) {
                if let Some(f) = page.get_mut(18..22) {
                    f.copy_from_slice(&seq);
                }
                seal(page);
            }
        }
    }
    if end < data.len() {
        report.removed(format!(
            "{} of trailing data",
            human_bytes(data.len() - end)
        ));
    }
    Ok((out, report))
}

/// Lays `packets` out in pages after the first (sequence `first_seq + 1`
/// on): the number of pages written.
fn write_headers(
    out: &mut Vec<u8>,
    packets: &[Vec<u8>],
    serial: u32,
    first_seq: u32,
) -> Result<u32, StripError> {
    // Every segment, tagged with the packet's bytes it carries and whether
    // it ends the packet.
    let mut segments: Vec<(&[u8], bool)> = Vec::new();
    for p in packets {
        let mut chunks = p.chunks(255).peekable();
        let mut any = false;
        while let Some(c) = chunks.next() {
            any = true;
            let last = chunks.peek().is_none();
            segments.push((c, last && c.len() < 255));
            if last && c.len() == 255 {
                segments.push((&[], true));
            }
        }
        if !any {
            segments.push((&[], true));
        }
    }
    let mut written = 0u32;
    let mut continued = false;
    for page in segments.chunks(255) {
        written += 1;
        let ends_packet = page.iter().any(|&(_, end)| end);
        let granule: u64 = if ends_packet { 0 } else { u64::MAX };
        let start = out.len();
        out.extend_from_slice(b"OggS\0");
        out.push(if continued { CONTINUED } else { 0 });
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&serial.to_le_bytes());
        out.extend_from_slice(&first_seq.wrapping_add(written).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(u8::try_from(page.len()).map_err(|_| err("has too many segments"))?);
        for (c, _) in page {
            out.push(u8::try_from(c.len()).map_err(|_| err("has an oversized segment"))?);
        }
        for (c, _) in page {
            out.extend_from_slice(c);
        }
        continued = page.last().is_some_and(|&(_, end)| !end);
        if let Some(p) = out.get_mut(start..) {
            seal(p);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn page(flags: u8, seq: u32, packets: &[&[u8]]) -> Vec<u8> {
        let mut lacing = Vec::new();
        let mut body = Vec::new();
        for p in packets {
            for c in p.chunks(255) {
                lacing.push(u8::try_from(c.len()).unwrap());
            }
            if p.len() % 255 == 0 {
                lacing.push(0);
            }
            body.extend_from_slice(p);
        }
        let mut out = b"OggS\0".to_vec();
        out.push(flags);
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&7u32.to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(u8::try_from(lacing.len()).unwrap());
        out.extend(lacing);
        out.extend(body);
        seal(&mut out);
        out
    }

    #[test]
    fn crc_matches_the_reference() {
        // CRC-32/CKSUM (same polynomial, init 0, unreflected) ends with an
        // xor by 0xFFFFFFFF and checks as 0x765E7680; without it, 0x89A1897F.
        assert_eq!(crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn opus_tags_are_emptied_audio_pages_kept() {
        let mut tags_packet = b"OpusTags".to_vec();
        tags_packet.extend_from_slice(&3u32.to_le_bytes());
        tags_packet.extend_from_slice(b"lib");
        tags_packet.extend_from_slice(&1u32.to_le_bytes());
        tags_packet.extend_from_slice(&8u32.to_le_bytes());
        tags_packet.extend_from_slice(b"ARTIST=x");
        tags_packet.resize(600, 0); // spans pages in the original
        let f = [
            page(2, 0, &[b"OpusHead\x01\x02"]),
            page(0, 1, &[&tags_packet]),
            page(0, 2, &[b"audio1", b"audio2"]),
            page(4, 3, &[b"audio3"]),
        ]
        .concat();
        let (out, report) = strip(&f).unwrap();
        assert!(report.removed.contains(&"artist and credits".to_owned()));
        let (pages, _) = pages(&out).unwrap();
        assert_eq!(pages.len(), 4);
        assert_eq!(pages[1].body, b"OpusTags\0\0\0\0\0\0\0\0");
        assert_eq!(pages[2].raw, &page(0, 2, &[b"audio1", b"audio2"])[..]);
        // Cleaning again changes nothing.
        assert_eq!(strip(&out).unwrap().0, out);
        // A flipped byte breaks the CRC: refused.
        let mut bad = f.clone();
        bad[40] ^= 1;
        assert!(strip(&bad).is_err());
        // Audio on the header page: refused.
        let mixed = [
            page(2, 0, &[b"OpusHead\x01\x02"]),
            page(0, 1, &[b"OpusTags\0\0\0\0\0\0\0\0", b"audio"]),
        ]
        .concat();
        assert!(strip(&mixed).is_err());
    }
}
