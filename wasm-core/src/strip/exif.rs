//! A small, bounded reader for EXIF (TIFF-structured) blocks, used only to
//! *describe* what is being removed and to recover the orientation; and the
//! writer of the one EXIF block Veil ever emits: Orientation alone.
//!
//! The TIFF structure is read by [`super::ifd`]; IFDs are visited at most
//! once, and the number of entries read is capped.

use super::ifd::{self, Endian, Entry};
use super::report::Report;

const MAX_IFDS: usize = 16;

/// Tags whose presence or value is worth telling the user about.
mod tag {
    pub const DESCRIPTION: u16 = 0x010E;
    pub const MAKE: u16 = 0x010F;
    pub const MODEL: u16 = 0x0110;
    pub const ORIENTATION: u16 = 0x0112;
    pub const SOFTWARE: u16 = 0x0131;
    pub const DATE_TIME: u16 = 0x0132;
    pub const ARTIST: u16 = 0x013B;
    pub const HOST: u16 = 0x013C;
    pub const COPYRIGHT: u16 = 0x8298;
    pub const EXIF_IFD: u16 = 0x8769;
    pub const GPS_IFD: u16 = 0x8825;
    pub const INTEROP_IFD: u16 = 0xA005;
    pub const DATE_ORIGINAL: u16 = 0x9003;
    pub const DATE_DIGITIZED: u16 = 0x9004;
    pub const MAKER_NOTE: u16 = 0x927C;
    pub const USER_COMMENT: u16 = 0x9286;
    pub const UNIQUE_ID: u16 = 0xA420;
    pub const OWNER: u16 = 0xA430;
    pub const BODY_SERIAL: u16 = 0xA431;
    pub const LENS_MAKE: u16 = 0xA433;
    pub const LENS_MODEL: u16 = 0xA434;
    pub const LENS_SERIAL: u16 = 0xA435;
    pub const THUMB_OFFSET: u16 = 0x0201;
    pub const GPS_VERSION: u16 = 0x0000;
    pub const IPTC: u16 = 0x83BB;
    pub const XMP: u16 = 0x02BC;
    pub const PHOTOSHOP: u16 = 0x8649;
}

#[derive(Clone, Copy)]
struct Tiff<'a> {
    data: &'a [u8],
    order: Endian,
}

impl Tiff<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        self.order.u16(self.data, at)
    }
    fn u32_at(&self, at: usize) -> Option<u32> {
        self.order.u32(self.data, at)
    }
}

/// What an EXIF block says, as far as Veil cares.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExifSummary {
    /// Orientation (1..=8) from IFD0, if present and valid.
    pub orientation: Option<u16>,
    /// Findings for the report, in order.
    pub findings: Vec<String>,
}

impl ExifSummary {
    /// Adds the findings to a report.
    pub fn report_into(&self, report: &mut Report) {
        for f in &self.findings {
            report.removed(f.clone());
        }
    }
}

/// Describes a TIFF-structured EXIF block (starting at `II*\0` or `MM\0*`).
/// Returns `None` if it is not TIFF at all; a damaged block still yields
/// whatever could be read (it is being removed either way).
#[must_use]
pub fn summarize(data: &[u8]) -> Option<ExifSummary> {
    let t = Tiff {
        data,
        order: Endian::from_header(data)?,
    };
    let mut s = ExifSummary::default();
    let mut visited: Vec<usize> = Vec::new();
    let mut make = String::new();
    let mut model = String::new();
    let mut ifd0 = true;
    // IFD0 and its chain (IFD1 = thumbnail), with sub-IFDs queued.
    let mut queue: Vec<(usize, Kind)> = Vec::new();
    if let Some(first) = t.u32_at(4) {
        queue.push((first as usize, Kind::Main));
    }
    while let Some((at, kind)) = queue.pop() {
        if at == 0 || visited.contains(&at) || visited.len() >= MAX_IFDS {
            continue;
        }
        visited.push(at);
        let Some(entries) = read_ifd(&t, at) else {
            continue;
        };
        if kind == Kind::Gps && entries.iter().any(|e| e.tag != tag::GPS_VERSION) {
            s.findings.push("GPS position".into());
        }
        for e in &entries {
            match (kind, e.tag) {
                (Kind::Main, tag::MAKE) if ifd0 => make = ascii(&t, e),
                (Kind::Main, tag::MODEL) if ifd0 => model = ascii(&t, e),
                (Kind::Main, tag::ORIENTATION) if ifd0 => {
                    s.orientation = t.u16_at(e.value_at).filter(|o| (1..=8).contains(o));
                }
                (Kind::Main, tag::SOFTWARE) => {
                    s.findings.push(format!("software: {}", ascii(&t, e)))
                }
                (Kind::Main, tag::DATE_TIME) => s.findings.push("date modified".into()),
                (Kind::Main, tag::ARTIST | tag::COPYRIGHT) => {
                    s.findings.push("author or copyright".into())
                }
                (Kind::Main, tag::DESCRIPTION) => s.findings.push("description".into()),
                (Kind::Main, tag::HOST) => s.findings.push("computer name".into()),
                (Kind::Main, tag::IPTC | tag::PHOTOSHOP) => s.findings.push("IPTC".into()),
                (Kind::Main, tag::XMP) => s.findings.push("XMP".into()),
                (Kind::Main, tag::THUMB_OFFSET) if !ifd0 => s.findings.push("thumbnail".into()),
                (Kind::Main, tag::EXIF_IFD) => {
                    queue.push((t.u32_at(e.value_at).unwrap_or(0) as usize, Kind::Exif))
                }
                (Kind::Main, tag::GPS_IFD) => {
                    queue.push((t.u32_at(e.value_at).unwrap_or(0) as usize, Kind::Gps))
                }
                (Kind::Exif, tag::DATE_ORIGINAL | tag::DATE_DIGITIZED) => {
                    s.findings.push("date taken".into())
                }
                (Kind::Exif, tag::MAKER_NOTE) => s.findings.push("maker notes".into()),
                (Kind::Exif, tag::USER_COMMENT) => s.findings.push("comment".into()),
                (Kind::Exif, tag::UNIQUE_ID) => s.findings.push("unique image ID".into()),
                (Kind::Exif, tag::OWNER) => s.findings.push("owner name".into()),
                (Kind::Exif, tag::BODY_SERIAL | tag::LENS_SERIAL) => {
                    s.findings.push("serial number".into())
                }
                (Kind::Exif, tag::LENS_MAKE | tag::LENS_MODEL) => s.findings.push("lens".into()),
                (Kind::Exif, tag::INTEROP_IFD) => {}
                _ => {}
            }
        }
        if kind == Kind::Main {
            // The next IFD in the main chain is IFD1 (the thumbnail's).
            let next_at = at + 2 + entries.len() * 12;
            if let Some(next) = t.u32_at(next_at) {
                queue.push((next as usize, Kind::Main));
            }
            ifd0 = false;
        }
    }
    let camera = format!("{} {}", make.trim(), model.trim());
    let camera = camera.trim();
    if !camera.is_empty() {
        s.findings.insert(0, format!("camera: {camera}"));
    }
    let mut seen = Vec::new();
    s.findings.retain(|f| {
        let fresh = !seen.contains(f);
        seen.push(f.clone());
        fresh
    });
    Some(s)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Exif,
    Gps,
}

fn read_ifd(t: &Tiff<'_>, at: usize) -> Option<Vec<Entry>> {
    ifd::entries(t.order, t.data, at)
}

fn ascii(t: &Tiff<'_>, e: &Entry) -> String {
    if e.kind != 2 {
        return String::new();
    }
    let len = (e.count as usize).min(128);
    let Some(bytes) = t.data.get(e.value_at..e.value_at.saturating_add(len)) else {
        return String::new();
    };
    let text: String = bytes
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect();
    text.trim().to_owned()
}

/// The minimal EXIF block Veil writes to keep a photo upright: a big-endian
/// TIFF header and one IFD holding only Orientation. 26 bytes.
#[must_use]
pub fn orientation_only(orientation: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(26);
    out.extend_from_slice(b"MM\0\x2a");
    out.extend_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    out.extend_from_slice(&1u16.to_be_bytes()); // one entry
    out.extend_from_slice(&tag::ORIENTATION.to_be_bytes());
    out.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    out.extend_from_slice(&1u32.to_be_bytes()); // count
    out.extend_from_slice(&orientation.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // value padding
    out.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_block_reads_back() {
        let b = orientation_only(6);
        assert_eq!(b.len(), 26);
        let s = summarize(&b).unwrap();
        assert_eq!(s.orientation, Some(6));
        assert!(s.findings.is_empty());
    }

    #[test]
    fn hostile_blocks_do_not_panic() {
        for data in [
            &b"MM\0\x2a\xff\xff\xff\xff"[..],
            b"II*\0\x08\0\0\0\xff\xff",
            b"MM\0*\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\x08",
        ] {
            let _ = summarize(data);
        }
        assert_eq!(summarize(b"nope"), None);
    }
}
