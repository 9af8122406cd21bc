//! The ZIP archive a recipient saves a whole share as ([`zip`]), and its
//! JavaScript bindings. A WebAssembly module of its own, apart from
//! `wasm-core`, because only the download page needs it and only when
//! saving several files at once; the upload page never loads it.
#![forbid(unsafe_code)]

pub mod zip;

pub use zip::{ZipError, ZipWriter};

#[cfg(target_arch = "wasm32")]
mod wasm {
    use wasm_bindgen::prelude::*;

    fn js_err(e: crate::ZipError) -> JsError {
        JsError::new(&e.to_string())
    }

    /// A streaming ZIP writer: `begin`, `data`…, `end` per file, then
    /// `finish`; each returns the bytes to append (`data` returns none:
    /// the caller appends the file's bytes itself).
    #[wasm_bindgen]
    pub struct Zip(crate::ZipWriter);

    #[wasm_bindgen]
    impl Zip {
        /// An empty archive.
        #[wasm_bindgen(constructor)]
        #[allow(clippy::new_without_default)]
        pub fn new() -> Zip {
            Zip(crate::ZipWriter::new())
        }

        /// The local header of an entry of exactly `size` bytes at `name`.
        pub fn begin(&mut self, name: &str, size: f64) -> Result<Vec<u8>, JsError> {
            if size.fract() != 0.0 || !(0.0..=9.007_199_254_740_991e15).contains(&size) {
                return Err(JsError::new(
                    "a ZIP entry's size must be a whole number of bytes",
                ));
            }
            // In range and integral, checked above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            self.0.begin(name, size as u64).map_err(js_err)
        }

        /// Counts and checksums the next bytes of the open entry.
        pub fn data(&mut self, bytes: &[u8]) -> Result<(), JsError> {
            self.0.data(bytes).map_err(js_err)
        }

        /// The open entry's data descriptor.
        pub fn end(&mut self) -> Result<Vec<u8>, JsError> {
            self.0.end().map_err(js_err)
        }

        /// The central directory and end records.
        pub fn finish(&mut self) -> Result<Vec<u8>, JsError> {
            self.0.finish().map_err(js_err)
        }
    }

    /// The exact length of the archive of these entries, before writing it.
    #[wasm_bindgen(js_name = zipLength)]
    pub fn zip_length(names: Vec<String>, sizes: Vec<f64>) -> Result<f64, JsError> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let entries = names
            .iter()
            .map(String::as_str)
            .zip(sizes.iter().map(|&s| s as u64));
        #[allow(clippy::cast_precision_loss)]
        crate::ZipWriter::archive_len(entries)
            .map(|n| n as f64)
            .map_err(js_err)
    }
}
