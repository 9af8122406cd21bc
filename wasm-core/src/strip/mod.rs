//! Metadata removal that removes all metadata and nothing else.
//!
//! An allow-list per format: keep what decoding and correct display need
//! (image data, colour profile, orientation, animation), drop everything
//! else, and say what was dropped in a [`Report`]. Pixels are never
//! re-encoded. Each format lives in its own module:
//!
//! - [`jpeg`]: segment walk (also progressive, CMYK, MPO);
//! - [`png`]: chunk walk with CRC checks (also APNG);
//! - [`webp`]: RIFF chunk walk;
//! - [`gif`]: block walk;
//! - [`isobmff`]: HEIC/HEIF, AVIF, MP4 and MOV, edited in place;
//! - [`tiff`]: IFD0 rewritten in place;
//! - [`exif`]: reads EXIF to describe it, writes the Orientation-only block.
//!
//! Orientation: a photo whose EXIF says "rotate" (values 2..=8) keeps a
//! 26-byte EXIF block holding only that tag (JPEG, PNG, WebP, TIFF keep the
//! tag itself), so it still displays upright. HEIF/AVIF/video carry
//! rotation in `irot` boxes or the track matrix, which are untouched.
//!
//! Fail closed: a file that looks like (or claims to be) a picture or video
//! but cannot be parsed is an error; the original bytes are never returned
//! as "clean". Anything that is not media passes through untouched.

use std::borrow::Cow;

pub mod exif;
pub mod gif;
mod ifd;
pub mod isobmff;
pub mod jpeg;
pub mod png;
pub mod report;
pub mod tiff;
pub mod webp;

pub use report::Report;

/// Why a file could not be cleaned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StripError {
    /// The file is (or claims to be) in `format` but its structure is broken.
    #[error("this {format} file {problem}, so its metadata cannot be removed safely")]
    Malformed {
        /// Format name, e.g. `JPEG`.
        format: &'static str,
        /// What is wrong, as the end of a sentence.
        problem: &'static str,
    },
    /// A picture or video type Veil cannot clean.
    #[error("Veil cannot remove metadata from {0} files")]
    Unsupported(String),
    /// The declared type says picture or video but the content is not one Veil recognises.
    #[error("the file claims to be {0} but its content is not a picture or video Veil recognises")]
    NotWhatItClaims(String),
}

/// A media type Veil recognises from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Media {
    /// JPEG (also MPO).
    Jpeg,
    /// PNG / APNG.
    Png,
    /// WebP.
    Webp,
    /// GIF.
    Gif,
    /// An ISO BMFF file: HEIF/HEIC, AVIF, MP4 or MOV.
    IsoBmff,
    /// TIFF.
    Tiff,
}

impl Media {
    /// The usual media type for the format.
    #[must_use]
    pub fn mime(self, data: &[u8]) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
            Self::Tiff => "image/tiff",
            Self::IsoBmff if !isobmff::has_ftyp(data) => "video/quicktime",
            Self::IsoBmff => match data.get(8..12) {
                Some(b"avif" | b"avis") => "image/avif",
                Some(b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis") => "image/heic",
                Some(b"qt  ") => "video/quicktime",
                _ => "video/mp4",
            },
        }
    }
}

/// Recognises a picture or video from its first bytes (never the name).
#[must_use]
pub fn sniff(data: &[u8]) -> Option<Media> {
    match data {
        [0xFF, 0xD8, 0xFF, ..] => Some(Media::Jpeg),
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', ..] => Some(Media::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Media::Gif),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Media::Webp),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some(Media::IsoBmff),
        _ if isobmff::is_quicktime_opening(data) => Some(Media::IsoBmff),
        // TIFF, and BigTIFF (43), which is refused rather than passed through.
        [b'I', b'I', 42 | 43, 0, ..] | [b'M', b'M', 0, 42 | 43, ..] => Some(Media::Tiff),
        _ => None,
    }
}

/// The media type to record for a file: from content when recognised,
/// else what the caller declared, else `application/octet-stream`.
#[must_use]
pub fn media_type(data: &[u8], declared: Option<&str>) -> String {
    match sniff(data) {
        Some(m) => m.mime(data).to_owned(),
        None => declared
            .filter(|d| !d.is_empty())
            .unwrap_or("application/octet-stream")
            .to_owned(),
    }
}

/// A cleaned file (or an untouched non-media file) and its report.
#[derive(Debug)]
pub struct Stripped<'a> {
    /// The bytes to send: borrowed when nothing was changed.
    pub data: Cow<'a, [u8]>,
    /// What was found and removed.
    pub report: Report,
}

/// Removes metadata from `data`. `declared` is the type the file claims
/// (browser `File.type`, or one guessed from its name): a file that claims
/// to be a picture or video must be one Veil can clean.
pub fn strip<'a>(data: &'a [u8], declared: Option<&str>) -> Result<Stripped<'a>, StripError> {
    let (bytes, report) = match sniff(data) {
        Some(Media::Jpeg) => jpeg::strip(data)?,
        Some(Media::Png) => png::strip(data)?,
        Some(Media::Webp) => webp::strip(data)?,
        Some(Media::Gif) => gif::strip(data)?,
        Some(Media::IsoBmff) => isobmff::strip(data)?,
        Some(Media::Tiff) => tiff::strip(data)?,
        None => {
            let declared = declared.unwrap_or_default().to_ascii_lowercase();
            if declared.starts_with("image/") || declared.starts_with("video/") {
                // Pictures without metadata containers pass; anything else
                // claiming to be media is refused rather than waved through.
                return match declared.as_str() {
                    "image/bmp" | "image/x-ms-bmp" => Ok(Stripped {
                        data: Cow::Borrowed(data),
                        report: Report::new("BMP"),
                    }),
                    "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/heic"
                    | "image/heif" | "image/avif" | "image/tiff" | "video/mp4"
                    | "video/quicktime" => Err(StripError::NotWhatItClaims(declared)),
                    other => Err(StripError::Unsupported(other.to_owned())),
                };
            }
            return Ok(Stripped {
                data: Cow::Borrowed(data),
                report: Report::default(),
            });
        }
    };
    Ok(Stripped {
        data: Cow::Owned(bytes),
        report,
    })
}

/// Bounds-checked readers: the parsers read multi-byte fields only through
/// these, so no length or offset in a file can cause a panic.
pub(crate) mod read {
    /// `N` bytes at `at`.
    pub(crate) fn arr<const N: usize>(d: &[u8], at: usize) -> Option<[u8; N]> {
        d.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    /// Big-endian u16 at `at`.
    pub(crate) fn be16(d: &[u8], at: usize) -> Option<u16> {
        arr(d, at).map(u16::from_be_bytes)
    }
    /// Big-endian u32 at `at`.
    pub(crate) fn be32(d: &[u8], at: usize) -> Option<u32> {
        arr(d, at).map(u32::from_be_bytes)
    }
    /// Little-endian u32 at `at`.
    pub(crate) fn le32(d: &[u8], at: usize) -> Option<u32> {
        arr(d, at).map(u32::from_le_bytes)
    }
    /// Big-endian u64 at `at`.
    pub(crate) fn be64(d: &[u8], at: usize) -> Option<u64> {
        arr(d, at).map(u64::from_be_bytes)
    }
}
