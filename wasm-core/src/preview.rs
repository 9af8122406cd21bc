//! Which decrypted types a page may show inline. File types are hostile
//! (the sender chose them): only pictures and videos that browsers decode
//! natively, never SVG, HTML, PDF or anything scriptable; everything else
//! is saved as `application/octet-stream`. HEIC is not shown: only Safari
//! decodes it. One list, for the page's preview and for the type its
//! download worker gives the plaintext.

/// How a type may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inline {
    /// In an `<img>`.
    Image,
    /// In a `<video>`.
    Video,
}

/// `Some` if `mime` may be shown inline.
#[must_use]
pub fn inline(mime: &str) -> Option<Inline> {
    match mime {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif" | "image/bmp" => {
            Some(Inline::Image)
        }
        "video/mp4" | "video/webm" | "video/quicktime" => Some(Inline::Video),
        _ => None,
    }
}

/// The type to give decrypted bytes: `mime` if it may be shown inline,
/// else `application/octet-stream`.
#[must_use]
pub fn safe_type(mime: &str) -> &str {
    if inline(mime).is_some() {
        mime
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_pictures_and_videos_are_inline() {
        assert_eq!(inline("image/jpeg"), Some(Inline::Image));
        assert_eq!(inline("video/webm"), Some(Inline::Video));
        for hostile in [
            "image/svg+xml",
            "text/html",
            "application/pdf",
            "image/heic",
            "IMAGE/PNG",
            "image/png; x=1",
            "",
        ] {
            assert_eq!(inline(hostile), None, "{hostile}");
            assert_eq!(safe_type(hostile), "application/octet-stream");
        }
    }
}
