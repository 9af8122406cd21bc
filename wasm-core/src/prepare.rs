//! Preparing a file for sending, for every client: whether it is a
//! picture or video (then it is cleaned, or refused with the reason, and
//! sent unmodified only if the sender accepts that), and the report lines
//! sealed with a file that goes out as it is. Content decides, with the
//! type a name or browser claims as a second opinion: a file claiming to be
//! media is treated as media.

/// How many first bytes [`classify`] wants: an SVG's prologue (XML
/// declaration, comments, DOCTYPE) may come before its root element.
pub const HEAD_BYTES: usize = 4096;

/// What a file is, for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A picture, video, sound or document Veil recognises (by content),
    /// or a file claiming to be media (by its type): clean it.
    Media,
    /// Anything else: sent as it is.
    Other,
}

/// Classifies a file from its first bytes ([`HEAD_BYTES`] when it has them)
/// and its claimed type.
#[must_use]
pub fn classify(head: &[u8], declared: Option<&str>) -> Kind {
    let claims_media =
        declared.is_some_and(|d| crate::strip::claims_media(&d.to_ascii_lowercase()));
    if crate::strip::sniff(head).is_some() || claims_media {
        Kind::Media
    } else {
        Kind::Other
    }
}

/// The report sealed with a file sent without cleaning: for other files,
/// that nothing was cleaned; for media, why not (`reason`, or the sender's
/// own choice when `None`).
#[must_use]
pub fn as_is_report(kind: Kind, reason: Option<&str>) -> Vec<String> {
    match (kind, reason) {
        (Kind::Other, _) => vec!["not an image: sent as is".to_owned()],
        (Kind::Media, Some(r)) => vec![String::from("not cleaned: ") + r],
        (Kind::Media, None) => vec!["not cleaned: sent as is at the sender's request".to_owned()],
    }
}

/// What a camera-style file name gives away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameReveals {
    /// The date and time the picture was taken (`IMG_20240612_101530.jpg`,
    /// `PXL_20240612_101530123.jpg`, `Screenshot 2024-06-12 at 10.15.30.png`).
    CaptureTime,
    /// The kind of camera and its running count of pictures
    /// (`DSC_0042.JPG`, `DSCF1234.JPG`, `GOPR0042.MP4`).
    CameraNumbering,
}

/// A file name a camera, phone or screenshot tool gave, and the neutral
/// name to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraName {
    /// The path with its last part replaced: `photo.jpg`, `video.mp4`,
    /// `screenshot.png` (folders are kept; the share numbers duplicates).
    pub neutral: String,
    /// Why the original name would betray the sender.
    pub reveals: NameReveals,
}

/// Prefixes cameras, phones and their apps put before a number or a time
/// (compared without case); longer ones first where one begins another.
const CAMERA_PREFIXES: &[&[u8]] = &[
    b"screenshot",
    b"screen shot",
    b"screen recording",
    b"screenrecorder",
    b"whatsapp image",
    b"whatsapp video",
    b"signal",
    b"photo",
    b"mvimg",
    b"pano",
    b"burst",
    b"img",
    b"vid",
    b"pxl",
    b"dscn",
    b"dscf",
    b"_dsc",
    b"dsc",
    b"imag",
    b"cimg",
    b"gopr",
    b"dji",
    b"mov",
    b"sam",
    b"pict",
];
/// Words such names may hold beside digits (`…_HDR`, `…_BURST…_COVER`,
/// `IMG-20240612-WA0001`, `… at 10.15.30`), compared without case.
const CAMERA_WORDS: &[&[u8]] = &[
    b"at",
    b"wa",
    b"hdr",
    b"burst",
    b"cover",
    b"portrait",
    b"night",
    b"mp",
    b"ls",
    b"pano",
    b"edit",
    b"edited",
    b"e",
    b"p",
    b"s",
    b"img",
];

/// Whether `digits` (ASCII digits) hold a plausible date: 19xx or 20xx,
/// then a month and a day.
fn has_date(digits: &[u8]) -> bool {
    let two = |d: &[u8], at: usize| match (d.get(at), d.get(at + 1)) {
        (Some(a), Some(b)) => u32::from(a - b'0') * 10 + u32::from(b - b'0'),
        _ => 0,
    };
    digits.windows(8).any(|w| {
        matches!(two(w, 0), 19 | 20)
            && (1..=12).contains(&two(w, 4))
            && (1..=31).contains(&two(w, 6))
    })
}

/// Recognises a name a camera, phone or screenshot tool gave: a known
/// prefix (or none) followed only by digits, separators and a few words
/// such tools add, with a date in the digits or, after a camera prefix, a
/// picture count. A name a person chose (`holiday.jpg`, `IMG of Sam.jpg`)
/// is left alone.
#[must_use]
pub fn camera_name(path: &str) -> Option<CameraName> {
    // `rsplit_once`, not slicing by index: no char-boundary panic path,
    // whose formatting would cost the upload module kilobytes.
    let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match file.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.len() <= 5 => (s, e),
        _ => (file, ""),
    };
    let stem = stem.as_bytes();
    let starts = |p: &[u8]| {
        stem.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    let prefix = CAMERA_PREFIXES.iter().find(|p| starts(p)).copied();
    let rest = stem
        .get(prefix.map_or(0, <[u8]>::len)..)
        .unwrap_or_default();
    let mut digits = Vec::new();
    for token in rest.split(|b| !b.is_ascii_alphanumeric()) {
        // Digits, a known word, or a word glued to digits (`WA0001`,
        // `BURST20240612101530`).
        let start = token
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(token.len());
        let end = token
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(start, |i| i + 1);
        let letters = token.get(start..end).unwrap_or_default();
        if !letters.is_empty() && !CAMERA_WORDS.iter().any(|w| w.eq_ignore_ascii_case(letters)) {
            return None;
        }
        digits.extend(token.iter().copied().filter(u8::is_ascii_digit));
    }
    let screenshot = prefix.is_some_and(|p| p.starts_with(b"screen"));
    let reveals = if has_date(&digits) && (prefix.is_some() || digits.len() >= 12) {
        NameReveals::CaptureTime
    } else if prefix.is_some() && !screenshot && (3..=8).contains(&digits.len()) {
        NameReveals::CameraNumbering
    } else {
        return None;
    };
    let ext = ext.to_ascii_lowercase();
    let video = matches!(
        ext.as_str(),
        "mp4" | "mov" | "m4v" | "3gp" | "avi" | "mkv" | "webm"
    ) || prefix
        .is_some_and(|p| matches!(p, b"vid" | b"mov" | b"whatsapp video" | b"gopr"));
    let kind = match () {
        () if screenshot => "screenshot",
        () if video => "video",
        () => "photo",
    };
    let mut neutral = String::from(folder);
    if !folder.is_empty() {
        neutral.push('/');
    }
    neutral.push_str(kind);
    if !ext.is_empty() {
        neutral.push('.');
        neutral.push_str(&ext);
    }
    Some(CameraName { neutral, reveals })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_names_are_recognised_and_neutral_names_kept_simple() {
        let time = |n: &str, want: &str| {
            let c = camera_name(n).unwrap_or_else(|| panic!("{n} not recognised"));
            assert_eq!(
                (c.neutral.as_str(), c.reveals),
                (want, NameReveals::CaptureTime),
                "{n}"
            );
        };
        time("IMG_20240612_101530.jpg", "photo.jpg");
        time("PXL_20240612_101530123.MP.jpg", "photo.jpg");
        time("PXL_20240612_101530123.jpg", "photo.jpg");
        time("IMG_20240612_101530_HDR.JPG", "photo.jpg");
        time("IMG-20240612-WA0001.jpeg", "photo.jpeg");
        time("VID_20240612_101530.mp4", "video.mp4");
        time("20240612_101530.jpg", "photo.jpg");
        time("Screenshot_20240612-101530.png", "screenshot.png");
        time("Screenshot 2024-06-12 at 10.15.30.png", "screenshot.png");
        time("WhatsApp Image 2024-06-12 at 10.15.30.jpeg", "photo.jpeg");
        time("00000IMG_00000_BURST20240612101530_COVER.jpg", "photo.jpg");
        time(
            "DCIM/Camera/IMG_20240612_101530.jpg",
            "DCIM/Camera/photo.jpg",
        );
        let count = |n: &str, want: &str| {
            let c = camera_name(n).unwrap_or_else(|| panic!("{n} not recognised"));
            assert_eq!(
                (c.neutral.as_str(), c.reveals),
                (want, NameReveals::CameraNumbering),
                "{n}"
            );
        };
        count("DSC_0042.JPG", "photo.jpg");
        count("DSCF1234.JPG", "photo.jpg");
        count("IMG_1234.HEIC", "photo.heic");
        count("GOPR0042.MP4", "video.mp4");
        for mine in [
            "holiday.jpg",
            "IMG of Sam.jpg",
            "Imagine.png",
            "photo.jpg",
            "report 2024.pdf",
            "invoice_20240612.pdf",
            "Photos of the garden.jpg",
            "screenshot.png",
            "DSC.jpg",
            "",
            "12.jpg",
        ] {
            assert_eq!(camera_name(mine), None, "{mine}");
        }
    }

    #[test]
    fn content_or_claim_makes_media() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1];
        assert_eq!(classify(&jpeg, None), Kind::Media);
        assert_eq!(classify(b"%PDF-1.7", Some("image/png")), Kind::Media);
        assert_eq!(classify(b"%PDF-1.7\n", None), Kind::Media);
        assert_eq!(classify(b"Dear Sam,\n", Some("text/plain")), Kind::Other);
        // A PDF header needs its version; it may follow some junk.
        let mut late = vec![b' '; 900];
        late.extend_from_slice(b"%PDF-1.4\n");
        assert_eq!(classify(&late, None), Kind::Media);
        assert_eq!(classify(b"see %PDF- files", None), Kind::Other);
        assert_eq!(classify(b"%PDF-x.y", None), Kind::Other);
        assert_eq!(classify(b"{\\rtf1\\ansi", None), Kind::Media);
        assert_eq!(
            as_is_report(Kind::Other, Some("x")),
            ["not an image: sent as is"]
        );
        assert_eq!(
            as_is_report(Kind::Media, Some("too large")),
            ["not cleaned: too large"]
        );
    }
}
