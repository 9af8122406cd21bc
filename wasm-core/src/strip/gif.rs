//! GIF: a walk over the block structure. Kept: the screen descriptor, colour
//! tables, images, graphic control extensions (timing, transparency), the
//! NETSCAPE2.0/ANIMEXTS1.0 looping extension and an ICC profile extension.
//! Dropped: comments, plain-text extensions, XMP and every other
//! application extension, and bytes after the trailer.

use super::report::{human_bytes, Report};
use super::StripError;

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "GIF",
        problem: what,
    }
}

/// Length of a run of data sub-blocks starting at `at` (terminator included).
fn sub_blocks(data: &[u8], mut at: usize) -> Result<usize, StripError> {
    let start = at;
    loop {
        let n = usize::from(
            *data
                .get(at)
                .ok_or_else(|| err("is truncated inside a data block"))?,
        );
        at += 1 + n;
        if n == 0 {
            return Ok(at - start);
        }
        if at > data.len() {
            return Err(err("is truncated inside a data block"));
        }
    }
}

fn color_table_len(flags: u8) -> usize {
    if flags & 0x80 != 0 {
        3 << ((flags & 0x07) + 1)
    } else {
        0
    }
}

/// Strips a GIF held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new("GIF");
    if !matches!(data.get(..6), Some(b"GIF87a" | b"GIF89a")) {
        return Err(err("does not start with a GIF signature"));
    }
    let flags = *data.get(10).ok_or_else(|| err("is truncated"))?;
    let mut at = 13 + color_table_len(flags);
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(
        data.get(..at)
            .ok_or_else(|| err("is truncated inside the colour table"))?,
    );
    let mut images = 0;
    loop {
        match *data
            .get(at)
            .ok_or_else(|| err("is truncated (no trailer)"))?
        {
            0x3B => {
                out.push(0x3B);
                at += 1;
                break;
            }
            0x2C => {
                let packed = *data
                    .get(at + 9)
                    .ok_or_else(|| err("is truncated inside an image descriptor"))?;
                let lct = color_table_len(packed);
                // Descriptor, local colour table, LZW code size, then sub-blocks.
                let data_at = at + 10 + lct + 1;
                let n = sub_blocks(data, data_at)?;
                let end = data_at + n;
                out.extend_from_slice(
                    data.get(at..end)
                        .ok_or_else(|| err("is truncated inside an image"))?,
                );
                at = end;
                images += 1;
            }
            0x21 => {
                let label = *data.get(at + 1).ok_or_else(|| err("is truncated"))?;
                let n = sub_blocks(data, at + 2)?;
                let end = at + 2 + n;
                let block = data
                    .get(at..end)
                    .ok_or_else(|| err("is truncated inside an extension"))?;
                match label {
                    0xF9 => out.extend_from_slice(block),
                    0xFE => report.removed("comment"),
                    0x01 => report.removed("text overlay"),
                    0xFF => {
                        let app = block.get(3..14).unwrap_or_default();
                        match app {
                            b"NETSCAPE2.0" | b"ANIMEXTS1.0" => out.extend_from_slice(block),
                            b"ICCRGBG1012" => {
                                report.kept("colour profile");
                                out.extend_from_slice(block);
                            }
                            b"XMP DataXMP" => report.removed("XMP"),
                            _ => report.removed("application data"),
                        }
                    }
                    _ => report.removed("unknown extension"),
                }
                at = end;
            }
            _ => return Err(err("has an unknown block")),
        }
    }
    if images == 0 {
        return Err(err("has no image"));
    }
    let trailing = data.len() - at;
    if trailing > 0 {
        report.removed(format!("{} of trailing data", human_bytes(trailing)));
    }
    Ok((out, report))
}
