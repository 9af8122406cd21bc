//! Passwords as the format defines them (FORMAT.md, "Passwords"): the
//! UTF-8 bytes of the password in Unicode Normalization Form C. The same
//! password typed as composed "é" or as "e" plus a combining accent (as
//! some keyboards and systems produce) must open the same file, in every
//! client, so normalisation happens here, inside [`crate::Link::unlock`],
//! and nowhere else.
//!
//! Natively the tables come from `unicode-normalization`; in the browser
//! from the platform (`String.prototype.normalize`), which implements the
//! same Unicode algorithm without adding its tables to the page. The
//! vector `password-nfd` checks both give the format's bytes.

use zeroize::Zeroizing;

/// The NFC form of `password`.
#[must_use]
pub fn normalize(password: &str) -> Zeroizing<String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use unicode_normalization::UnicodeNormalization;
        Zeroizing::new(password.nfc().collect())
    }
    #[cfg(target_arch = "wasm32")]
    {
        Zeroizing::new(String::from(
            js_sys::JsString::from(password).normalize("NFC"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_combining_marks() {
        assert_eq!(normalize("e\u{301}te\u{301}").as_str(), "\u{e9}t\u{e9}");
        assert_eq!(normalize("\u{e9}").as_str(), "\u{e9}");
        // Hangul jamo compose; a compatibility character does not change (NFC, not NFKC).
        assert_eq!(normalize("\u{1100}\u{1161}").as_str(), "\u{ac00}");
        assert_eq!(normalize("\u{fb01}").as_str(), "\u{fb01}");
    }
}
