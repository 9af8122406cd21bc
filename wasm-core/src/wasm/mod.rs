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
//! - `files`: sniffing and cleaning, the QR code;
//! - `encrypt`, `decrypt`: the streaming containers;
//! - `subtle`: the SubtleCrypto bridge both use;
//! - `protocol`: the HTTP protocol and links, for the page's JavaScript;
//! - `tests`: wasm-bindgen tests in a real browser.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

use crate::error::DecryptError;
use crate::keys::{Argon2Params, FileKey, Link};
use crate::metadata::{Metadata, MAX_FILE_SIZE};
use crate::share::Manifest;
use crate::stream::{self, PlainRecord, RecordBytes, SealedRecord, Source};
use std::cell::Cell;
use std::rc::Rc;

mod decrypt;
mod encrypt;
mod files;
mod key;
mod protocol;
mod subtle;

#[cfg(test)]
use decrypt::Decryptor;
#[cfg(test)]
use encrypt::Encryptor;
use key::Key;
use subtle::{gcm_params, import_key, resolved, subtle};

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

pub(crate) fn size_from_js(size: f64) -> Result<u64, JsError> {
    if size.fract() != 0.0 || !(0.0..=MAX_FILE_SIZE as f64).contains(&size) {
        return Err(JsError::new(
            "the file size must be a whole number of bytes below 2^53",
        ));
    }
    // In range and integral, checked above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(size as u64)
}

#[cfg(test)]
mod tests;
