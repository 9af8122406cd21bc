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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_or_claim_makes_media() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1];
        assert_eq!(classify(&jpeg, None), Kind::Media);
        assert_eq!(classify(b"%PDF-1.7", Some("image/png")), Kind::Media);
        assert_eq!(classify(b"%PDF-1.7\n", None), Kind::Media);
        assert_eq!(classify(b"Dear Sam,\n", Some("text/plain")), Kind::Other);
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
