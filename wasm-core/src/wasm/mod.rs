//! JavaScript bindings (wasm-bindgen, `--target web`), made to be driven
//! from a Web Worker.
//!
//! Encryption and decryption each have two interchangeable paths: `push`
//! runs AES-GCM with the aes-gcm crate inside wasm; `pushAsync` keeps the
//! framing (header, metadata, nonces, padding checks) in Rust but hands each
//! record to the browser's SubtleCrypto (about twenty times faster) when
//! `crypto.subtle` exists, and falls back to `push` where it does not (pages
//! served over plain HTTP). Errors become JS exceptions, never traps.
//!
//! # Layout
//! - `key`: links, keys, proofs, proof of work;
//! - `files`: sniffing and cleaning (`send`);
//! - `encrypt` (`send`), `decrypt` (`receive`, with a share's splitting):
//!   the streaming containers;
//! - `subtle`: the SubtleCrypto bridge both use;
//! - `protocol`: the HTTP protocol and links, for the page's JavaScript;
//! - `tests`: wasm-bindgen tests in a real browser.

use wasm_bindgen::prelude::*;

// Four builds of this module (Cargo features): `send` for the upload page
// (links, keys, cleaning, encryption) and `receive` for the download and
// deletion pages (links, proofs, decryption, splitting a share). Each page
// loads only its half, and the upload page loads `formats` (the audio,
// JPEG XL, SVG and Office cleaners) or `pdf` only when such a file is
// picked; the tests and native builds have all four.
#[cfg(feature = "receive")]
mod decrypt;
#[cfg(feature = "send")]
mod encrypt;
// `formats` or `pdf` alone is one of the upload page's cleaner modules
// (web/pkg-formats, web/pkg-pdf): only the cleaning bindings.
#[cfg(any(feature = "send", feature = "formats", feature = "pdf"))]
mod files;
#[cfg(any(feature = "send", feature = "receive"))]
mod key;
#[cfg(any(feature = "send", feature = "receive"))]
mod protocol;
#[cfg(any(feature = "send", feature = "receive"))]
mod subtle;

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[cfg(any(feature = "send", feature = "receive"))]
pub(crate) fn size_from_js(size: f64) -> Result<u64, JsError> {
    if size.fract() != 0.0 || !(0.0..=crate::metadata::MAX_FILE_SIZE as f64).contains(&size) {
        return Err(JsError::new(
            "the file size must be a whole number of bytes below 2^53",
        ));
    }
    // In range and integral, checked above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(size as u64)
}

// Needs both halves (the crate's own dev-dependency turns both on).
#[cfg(test)]
mod tests;
