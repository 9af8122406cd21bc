//! JavaScript bindings (wasm-bindgen, `--target web`), made to be driven
//! from a Web Worker.
//!
//! Encryption and decryption each have two interchangeable paths: `push`
//! runs AES-GCM with the aes-gcm crate inside wasm; `pushAsync` keeps the
//! framing (header, metadata, nonces, padding checks) in Rust but hands each
//! record to the browser's SubtleCrypto (about twenty times faster) when
//! `crypto.subtle` exists, and falls back to `push` where it does not (pages
//! served over plain HTTP). Errors become JS exceptions, never traps.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

use crate::error::DecryptError;
use crate::keys::{Argon2Params, FileKey, Link};
use crate::metadata::{Metadata, MAX_FILE_SIZE};
use crate::stream::{self, PlainRecord, RecordBytes, SealedRecord, Source};
use std::cell::Cell;
use std::rc::Rc;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A fresh link fragment (the part after `#`); with `withPassword` it also
/// carries the Argon2id parameters the password will be hashed with.
#[wasm_bindgen(js_name = newLink)]
pub fn new_link(with_password: bool) -> Result<String, JsError> {
    let kdf = with_password.then_some(Argon2Params::DEFAULT);
    let link = Link::generate(kdf).map_err(js_err)?;
    Ok(link.fragment().to_string())
}

/// Whether a fragment is well formed and needs a password.
/// Throws for an incomplete or malformed fragment.
#[wasm_bindgen(js_name = linkNeedsPassword)]
pub fn link_needs_password(fragment: &str) -> Result<bool, JsError> {
    Ok(Link::parse_fragment(fragment)
        .map_err(js_err)?
        .needs_password())
}

/// The default record size (64 KiB).
#[wasm_bindgen(js_name = defaultRecordSize)]
pub fn default_record_size() -> u32 {
    crate::format::DEFAULT_RECORD_SIZE
}

/// Recognises a picture or video from its first bytes (at least 12), never
/// from the name: its media type (e.g. `image/jpeg`), or `undefined`.
#[wasm_bindgen(js_name = sniffType)]
pub fn sniff_type(head: &[u8]) -> Option<String> {
    crate::strip::sniff(head).map(|m| m.mime(head).to_owned())
}

/// Removes metadata. Resolves to `{data, changed, format, type, removed,
/// kept, lines}`: `data` is the cleaned file (or the input when it is not
/// media: `changed` is then false and `format` null), `lines` is the report
/// as sealed into the container. Throws an error naming the problem when a
/// file is, or claims to be (`declaredType`), a picture or video that
/// cannot be cleaned; the caller decides whether to send it unmodified.
#[wasm_bindgen(js_name = stripMetadata)]
pub fn strip_metadata(data: &[u8], declared_type: Option<String>) -> Result<JsValue, JsError> {
    let declared = declared_type.as_deref();
    let stripped = crate::strip::strip(data, declared).map_err(js_err)?;
    let o = Object::new();
    let report = &stripped.report;
    let list = |v: &[String]| -> Array { v.iter().map(|s| JsValue::from_str(s)).collect() };
    let changed = matches!(stripped.data, std::borrow::Cow::Owned(_));
    let mime = crate::strip::media_type(data, declared);
    // Setting plain data properties on a fresh object cannot fail.
    let _ = Reflect::set(
        &o,
        &"data".into(),
        &Uint8Array::new_from_slice(&stripped.data).into(),
    );
    let _ = Reflect::set(&o, &"changed".into(), &changed.into());
    let _ = Reflect::set(
        &o,
        &"format".into(),
        &report.format.map_or(JsValue::NULL, JsValue::from_str),
    );
    let _ = Reflect::set(&o, &"type".into(), &mime.into());
    let _ = Reflect::set(&o, &"removed".into(), &list(&report.removed).into());
    let _ = Reflect::set(&o, &"kept".into(), &list(&report.kept).into());
    let _ = Reflect::set(&o, &"lines".into(), &list(&report.lines()).into());
    Ok(o.into())
}

/// The share link as an SVG QR code (rendered here, never by a third party).
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str) -> Result<String, JsError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(js_err)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000"))
        .light_color(qrcode::render::svg::Color("#fff"))
        .build())
}

/// Solves the proof of work a server asked for (`Veil-Work-Bits`) for one
/// download attempt; the answer goes in the `Veil-Work` header (decimal).
/// A number, not a string: no formatting code in the module. Nonces stay
/// far below 2^53 (at the maximum difficulty a solve takes about 2^20
/// tries; 2^53 would take longer than the age of the universe).
#[wasm_bindgen(js_name = solveWork)]
pub fn solve_work(id: &str, proof: &str, bits: u8) -> f64 {
    // Exact below 2^53, see above.
    #[allow(clippy::cast_precision_loss)]
    let n = crate::work::solve(id, proof, bits) as f64;
    n
}

/// The file key: a link fragment unlocked with its password, if any.
#[wasm_bindgen]
pub struct Key {
    inner: FileKey,
}

#[wasm_bindgen]
impl Key {
    /// Parses `fragment` and, for password links, runs Argon2id on `password`.
    pub fn unlock(fragment: &str, password: Option<String>) -> Result<Key, JsError> {
        let link = Link::parse_fragment(fragment).map_err(js_err)?;
        let password = password.map(Zeroizing::new);
        let inner = link
            .unlock(password.as_ref().map(|p| p.as_bytes()))
            .map_err(js_err)?;
        Ok(Key { inner })
    }

    /// The download proof, base64url (the `Veil-Proof` request header).
    pub fn proof(&self) -> String {
        self.inner.download_proof().to_base64().to_string()
    }

    /// SHA-256 of the proof, base64url (the `Veil-Proof-Hash` upload option).
    #[wasm_bindgen(js_name = proofHash)]
    pub fn proof_hash(&self) -> String {
        self.inner.download_proof().verifier_base64()
    }
}

fn size_from_js(size: f64) -> Result<u64, JsError> {
    if size.fract() != 0.0 || !(0.0..=MAX_FILE_SIZE as f64).contains(&size) {
        return Err(JsError::new(
            "the file size must be a whole number of bytes below 2^53",
        ));
    }
    // In range and integral, checked above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(size as u64)
}

/// Streaming encryptor for one file.
#[wasm_bindgen]
pub struct Encryptor {
    inner: stream::Encryptor,
    /// The content key imported into SubtleCrypto, once, on first use.
    subtle_key: Option<Promise>,
}

#[wasm_bindgen]
impl Encryptor {
    /// Starts a container. `size` is the exact byte count that will be pushed.
    #[wasm_bindgen(constructor)]
    pub fn new(
        key: &Key,
        name: &str,
        mime: &str,
        size: f64,
        report: Vec<String>,
        record_size: Option<u32>,
    ) -> Result<Encryptor, JsError> {
        let meta = Metadata {
            name: name.to_owned(),
            mime: mime.to_owned(),
            size: size_from_js(size)?,
            report,
        };
        let rs = record_size.unwrap_or(crate::format::DEFAULT_RECORD_SIZE);
        let inner = stream::Encryptor::new(&key.inner, &meta, rs).map_err(js_err)?;
        Ok(Encryptor {
            inner,
            subtle_key: None,
        })
    }

    /// The header and sealed metadata: the first bytes to upload.
    pub fn header(&self) -> Vec<u8> {
        self.inner.header().to_vec()
    }

    /// The total container length, known in advance (for `Upload-Length`).
    #[wasm_bindgen(js_name = containerLength)]
    pub fn container_length(&self) -> f64 {
        self.inner.container_len() as f64
    }

    /// Bytes of padding still to seal after the last file byte.
    #[wasm_bindgen(js_name = paddingLeft)]
    pub fn padding_left(&self) -> f64 {
        self.inner.padding_left() as f64
    }

    /// Encrypts with the aes-gcm crate, synchronously.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, JsError> {
        self.inner.push(data).map_err(js_err)
    }

    /// Seals up to `max` bytes of padding, synchronously.
    pub fn pad(&mut self, max: u32) -> Result<Vec<u8>, JsError> {
        self.inner.pad(max as usize).map_err(js_err)
    }

    /// Seals the rest and the last record, synchronously.
    pub fn finish(self) -> Result<Vec<u8>, JsError> {
        self.inner.finish().map_err(js_err)
    }

    /// Whether `pushAsync` will use SubtleCrypto here.
    #[wasm_bindgen(js_name = webCryptoAvailable)]
    pub fn webcrypto_available() -> bool {
        subtle().is_some()
    }

    /// Encrypts, resolving to an array of `ArrayBuffer`s whose concatenation
    /// is the ciphertext (e.g. `new Blob(parts)`): through SubtleCrypto when
    /// available, else with the aes-gcm crate. Await each call before the next.
    /// Whole records are read straight from `data` by SubtleCrypto without
    /// entering wasm memory; `data` must stay unchanged until the promise settles.
    #[wasm_bindgen(js_name = pushAsync)]
    pub fn push_async(&mut self, data: &Uint8Array) -> Result<Promise, JsError> {
        let Some((subtle, key)) = self.subtle_parts()? else {
            return Ok(resolved(
                self.inner.push(&data.to_vec()[..]).map_err(js_err)?,
            ));
        };
        let recs = self.inner.parts().0.push(data).map_err(js_err)?;
        Ok(seal_subtle(subtle, key, recs, Some(data.clone())))
    }

    /// Like `pad`, through SubtleCrypto when available.
    #[wasm_bindgen(js_name = padAsync)]
    pub fn pad_async(&mut self, max: u32) -> Result<Promise, JsError> {
        let Some((subtle, key)) = self.subtle_parts()? else {
            return Ok(resolved(self.inner.pad(max as usize).map_err(js_err)?));
        };
        let recs = self.inner.parts().0.pad(max as usize).map_err(js_err)?;
        Ok(seal_subtle(subtle, key, recs, None))
    }

    /// Like `finish`, through SubtleCrypto when available.
    #[wasm_bindgen(js_name = finishAsync)]
    pub fn finish_async(mut self) -> Result<Promise, JsError> {
        let Some((subtle, key)) = self.subtle_parts()? else {
            return Ok(resolved(self.inner.finish().map_err(js_err)?));
        };
        let recs = self.inner.into_framer().finish().map_err(js_err)?;
        Ok(seal_subtle(subtle, key, recs, None))
    }

    fn subtle_parts(&mut self) -> Result<Option<(SubtleCrypto, Promise)>, JsError> {
        let Some(subtle) = subtle() else {
            return Ok(None);
        };
        if self.subtle_key.is_none() {
            self.subtle_key = Some(import_key(&subtle, self.inner.parts().1, "encrypt")?);
        }
        Ok(self.subtle_key.clone().map(|k| (subtle, k)))
    }
}

/// Imports a raw AES-256-GCM key into SubtleCrypto (not extractable).
fn import_key(subtle: &SubtleCrypto, raw: &[u8; 32], usage: &str) -> Result<Promise, JsError> {
    let raw = Uint8Array::new_from_slice(&raw[..]);
    let algo = Object::new();
    Reflect::set(&algo, &"name".into(), &"AES-GCM".into()).map_err(|_| js_err("webcrypto"))?;
    let usages = Array::of1(&usage.into());
    let p = subtle
        .import_key_with_object("raw", &raw, &algo, false, &usages)
        .map_err(|_| JsError::new("WebCrypto refused the key"))?;
    // importKey copied the bytes synchronously; wipe the JS copy.
    raw.fill(0, 0, raw.length());
    Ok(p)
}

/// `{name: "AES-GCM", iv: nonce}`.
fn gcm_params(nonce: &[u8]) -> Result<Object, JsValue> {
    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into())?;
    Reflect::set(
        &params,
        &"iv".into(),
        &Uint8Array::new_from_slice(nonce).into(),
    )?;
    Ok(params)
}

fn subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

/// Resolves to the same shape as the WebCrypto path: an array of buffers.
fn resolved(bytes: Vec<u8>) -> Promise {
    let parts = Array::of1(&Uint8Array::new_from_slice(&bytes[..]).buffer().into());
    Promise::resolve(&JsValue::from(parts))
}

impl Source for Uint8Array {
    fn len(&self) -> usize {
        self.length() as usize
    }
    fn copy_to(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        // Ranges come from the framer and lie within `len()` (< 4 GiB in JS).
        #[allow(clippy::cast_possible_truncation)]
        out.extend(self.subarray(range.start as u32, range.end as u32).to_vec());
    }
}

/// Seals every record with SubtleCrypto at once (the browser runs them in
/// parallel) and concatenates the results in order. `input` is what
/// `RecordBytes::Input` ranges point into; `None` means padding (zeros).
fn seal_subtle(
    subtle: SubtleCrypto,
    key: Promise,
    recs: Vec<PlainRecord>,
    input: Option<Uint8Array>,
) -> Promise {
    future_to_promise(async move {
        let key: CryptoKey = JsFuture::from(key).await?.unchecked_into();
        let pending = Array::new();
        for rec in recs {
            let params = gcm_params(&rec.nonce[..])?;
            // SubtleCrypto copies its input synchronously (WebCrypto: "get a
            // copy of the bytes held by data").
            #[allow(clippy::cast_possible_truncation)]
            let view = match (&rec.bytes, &input) {
                (RecordBytes::Input(r), Some(arr)) => arr.subarray(r.start as u32, r.end as u32),
                (RecordBytes::Input(r), None) => Uint8Array::new_with_length(r.len() as u32),
                (RecordBytes::Owned(v), _) => Uint8Array::new_from_slice(&v[..]),
            };
            let sealed = subtle.encrypt_with_object_and_buffer_source(&params, &key, &view)?;
            pending.push(&JsValue::from(sealed));
        }
        // An array of ArrayBuffers, one per record, in order: concatenating
        // here would cost a copy on the thread that feeds the crypto.
        JsFuture::from(Promise::all(&pending)).await
    })
}

/// Streaming decryptor for one container.
#[wasm_bindgen]
pub struct Decryptor {
    inner: stream::Decryptor,
    /// The content key imported into SubtleCrypto, once, on first use.
    subtle_key: Option<Promise>,
    /// Records handed to SubtleCrypto whose result has not verified yet.
    unverified: Rc<Cell<u64>>,
    /// Set once any record failed: nothing after it is trusted.
    failed: Rc<Cell<bool>>,
}

#[wasm_bindgen]
impl Decryptor {
    /// A decryptor for the file `key` unlocks (the key is consumed).
    #[wasm_bindgen(constructor)]
    pub fn new(key: Key) -> Decryptor {
        Decryptor {
            inner: stream::Decryptor::new(key.inner),
            subtle_key: None,
            unverified: Rc::default(),
            failed: Rc::default(),
        }
    }

    /// Feeds ciphertext; returns the plaintext of the records it completed,
    /// decrypted with the aes-gcm crate. Throws one opaque error for any
    /// damage, truncation or wrong key.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, JsError> {
        if self.failed.get() {
            return Err(js_err(DecryptError));
        }
        self.inner.push(data).map_err(|e| self.fail(e))
    }

    /// Like `push`, through SubtleCrypto when available: resolves to an
    /// array of `Uint8Array`s whose concatenation is the plaintext, or
    /// rejects with the same opaque error. Calls may overlap (each call's
    /// records are located synchronously, in order); resolve them in call
    /// order, and `data` must stay unchanged until its promise settles.
    #[wasm_bindgen(js_name = pushAsync)]
    pub fn push_async(&mut self, data: &Uint8Array) -> Result<Promise, JsError> {
        let Some(subtle) = subtle() else {
            let plain = self.push(&data.to_vec())?;
            let parts = Array::new();
            if !plain.is_empty() {
                parts.push(&Uint8Array::new_from_slice(&plain[..]).into());
            }
            return Ok(Promise::resolve(&JsValue::from(parts)));
        };
        if self.failed.get() {
            return Err(js_err(DecryptError));
        }
        let recs = self.inner.push_records(data).map_err(|e| self.fail(e))?;
        if recs.is_empty() {
            return Ok(Promise::resolve(&JsValue::from(Array::new())));
        }
        if self.subtle_key.is_none() {
            let raw = self
                .inner
                .content_key()
                .ok_or_else(|| self.fail(DecryptError))?;
            self.subtle_key = Some(import_key(&subtle, raw, "decrypt")?);
        }
        let key = self
            .subtle_key
            .clone()
            .ok_or_else(|| self.fail(DecryptError))?;
        self.unverified
            .set(self.unverified.get() + recs.len() as u64);
        Ok(open_subtle(
            subtle,
            key,
            recs,
            data.clone(),
            (self.unverified.clone(), self.failed.clone()),
        ))
    }

    /// `{name, type, size, report}` once the metadata has verified, else `null`.
    pub fn metadata(&self) -> JsValue {
        self.inner.metadata().map_or(JsValue::NULL, metadata_to_js)
    }

    /// Checks that the stream ended exactly after its last record and that
    /// every record verified (await every `pushAsync` first).
    pub fn finish(self) -> Result<JsValue, JsError> {
        if self.failed.get() || self.unverified.get() != 0 {
            return Err(js_err(DecryptError));
        }
        let meta = self.inner.finish().map_err(js_err)?;
        Ok(metadata_to_js(&meta))
    }

    fn fail(&self, e: DecryptError) -> JsError {
        self.failed.set(true);
        js_err(e)
    }
}

/// Opens every record with SubtleCrypto at once, then checks the padding
/// and keeps the file bytes, in order. Any failure marks the stream failed.
fn open_subtle(
    subtle: SubtleCrypto,
    key: Promise,
    recs: Vec<SealedRecord>,
    input: Uint8Array,
    (unverified, failed): (Rc<Cell<u64>>, Rc<Cell<bool>>),
) -> Promise {
    let count = recs.len() as u64;
    future_to_promise(async move {
        let opened = async {
            let key: CryptoKey = JsFuture::from(key).await?.unchecked_into();
            let pending = Array::new();
            let mut keeps = Vec::with_capacity(recs.len());
            for rec in recs {
                let params = gcm_params(&rec.nonce[..])?;
                #[allow(clippy::cast_possible_truncation)]
                let view = match &rec.bytes {
                    RecordBytes::Input(r) => input.subarray(r.start as u32, r.end as u32),
                    RecordBytes::Owned(v) => Uint8Array::new_from_slice(&v[..]),
                };
                pending.push(
                    &subtle
                        .decrypt_with_object_and_buffer_source(&params, &key, &view)?
                        .into(),
                );
                keeps.push(rec.keep);
            }
            let plains: Array = JsFuture::from(Promise::all(&pending))
                .await?
                .unchecked_into();
            let out = Array::new();
            for (plain, keep) in plains.iter().zip(keeps) {
                let plain = Uint8Array::new(&plain);
                // Records hold at most 16 MiB, so `keep` fits in u32.
                #[allow(clippy::cast_possible_truncation)]
                let keep = (keep as u32).min(plain.length());
                let pad = plain.subarray(keep, plain.length()).to_vec();
                if pad.iter().any(|&b| b != 0) {
                    return Err(JsValue::NULL);
                }
                if keep > 0 {
                    out.push(&plain.subarray(0, keep).into());
                }
            }
            Ok::<_, JsValue>(out)
        }
        .await;
        match opened {
            Ok(out) if !failed.get() => {
                unverified.set(unverified.get().saturating_sub(count));
                Ok(out.into())
            }
            // WebCrypto's own error says nothing either, but one message for all.
            _ => {
                failed.set(true);
                Err(JsError::new(&DecryptError.to_string()).into())
            }
        }
    })
}

fn metadata_to_js(m: &Metadata) -> JsValue {
    let o = Object::new();
    let report: Array = m.report.iter().map(|s| JsValue::from_str(s)).collect();
    // Setting plain data properties on a fresh object cannot fail.
    let _ = Reflect::set(&o, &"name".into(), &m.name.as_str().into());
    let _ = Reflect::set(&o, &"type".into(), &m.mime.as_str().into());
    let _ = Reflect::set(&o, &"size".into(), &(m.size as f64).into());
    let _ = Reflect::set(&o, &"report".into(), &report.into());
    o.into()
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::format::HEADER_LEN;
    use crate::stream::record_nonce;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    /// Concatenates what the async encryption methods resolve to.
    fn u8s(v: JsValue) -> Vec<u8> {
        let parts: Array = v.unchecked_into();
        parts
            .iter()
            .flat_map(|b| Uint8Array::new(&b).to_vec())
            .collect()
    }

    fn buf(v: JsValue) -> Vec<u8> {
        Uint8Array::new(&v).to_vec()
    }

    fn native_and_subtle(size: usize, rs: u32) -> (Vec<u8>, Encryptor, Encryptor, String) {
        let fragment = new_link(false).unwrap();
        let key = Key::unlock(&fragment, None).unwrap();
        let meta = Metadata {
            name: "w.bin".into(),
            mime: "x/y".into(),
            size: size as u64,
            report: vec!["XMP".into()],
        };
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
        let make = || Encryptor {
            inner: stream::Encryptor::new_with_salt(&key.inner, &meta, rs, [9; 32]).unwrap(),
            subtle_key: None,
        };
        (data, make(), make(), fragment)
    }

    #[wasm_bindgen_test]
    async fn webcrypto_path_is_byte_identical_and_decrypts() {
        assert!(Encryptor::webcrypto_available());
        for (size, rs) in [
            (0usize, 64u32),
            (1, 64),
            (64, 64),
            (1000, 64),
            (200_000, 65_536),
        ] {
            let (data, mut native, mut subtle, fragment) = native_and_subtle(size, rs);
            let mut a = native.header();
            let mut b = subtle.header();
            for chunk in data.chunks(333) {
                a.extend(native.push(chunk).unwrap());
                let arr = Uint8Array::new_from_slice(chunk);
                b.extend(u8s(JsFuture::from(subtle.push_async(&arr).unwrap())
                    .await
                    .unwrap()));
            }
            b.extend(u8s(JsFuture::from(subtle.pad_async(5).unwrap())
                .await
                .unwrap()));
            a.extend(native.finish().unwrap());
            b.extend(u8s(JsFuture::from(subtle.finish_async().unwrap())
                .await
                .unwrap()));
            assert_eq!(a.len(), b.len(), "length, size {size}");
            assert_eq!(a, b, "size {size}");

            let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
            let mut plain = Vec::new();
            for chunk in b.chunks(1000) {
                plain.extend(dec.push(chunk).unwrap());
            }
            dec.finish().unwrap();
            assert_eq!(plain, data);
        }
    }

    /// Decrypts `sealed` through `pushAsync` in `chunk`-byte pieces, all
    /// calls made before any is awaited (as the download worker overlaps
    /// them), then `finish`.
    async fn open_async(
        fragment: &str,
        sealed: &[u8],
        chunk: usize,
    ) -> (Vec<u8>, Result<JsValue, JsError>) {
        let mut dec = Decryptor::new(Key::unlock(fragment, None).unwrap());
        let mut pending = Vec::new();
        for piece in sealed.chunks(chunk) {
            match dec.push_async(&Uint8Array::new_from_slice(piece)) {
                Ok(p) => pending.push(p),
                Err(e) => return (Vec::new(), Err(e)),
            }
        }
        let mut plain = Vec::new();
        let mut rejected = false;
        for p in pending {
            match JsFuture::from(p).await {
                Ok(v) => plain.extend(u8s(v)),
                Err(_) => rejected = true,
            }
        }
        let finished = dec.finish();
        assert!(
            !rejected || finished.is_err(),
            "finish after a rejected record"
        );
        (plain, finished)
    }

    #[wasm_bindgen_test]
    async fn webcrypto_decryption_matches_and_fails_closed() {
        for (size, rs, chunk) in [
            (0usize, 64u32, 7usize),
            (1000, 64, 333),
            (1000, 64, 100_000),
            (200_000, 65_536, 8_191),
            (200_000, 16, 65_536),
        ] {
            let (data, mut native, _, fragment) = native_and_subtle(size, rs);
            let mut sealed = native.header();
            sealed.extend(native.push(&data).unwrap());
            sealed.extend(native.finish().unwrap());
            let (plain, finished) = open_async(&fragment, &sealed, chunk).await;
            let meta = finished.unwrap_or_else(|_| panic!("size {size} chunk {chunk}"));
            assert_eq!(plain, data, "size {size} chunk {chunk}");
            let name = Reflect::get(&meta, &"name".into()).unwrap();
            assert_eq!(name.as_string().as_deref(), Some("w.bin"));

            // A flipped bit in the last byte (a record's tag), a cut stream,
            // an appended byte: never a successful finish.
            let mut flipped = sealed.clone();
            *flipped.last_mut().unwrap() ^= 1;
            assert!(open_async(&fragment, &flipped, chunk).await.1.is_err());
            assert!(open_async(&fragment, &sealed[..sealed.len() - 1], chunk)
                .await
                .1
                .is_err());
            let mut longer = sealed.clone();
            longer.push(0);
            assert!(open_async(&fragment, &longer, chunk).await.1.is_err());
        }
    }

    /// Padding that is not zeros, sealed with the right key, is refused by
    /// both paths (it could otherwise carry hidden data).
    #[wasm_bindgen_test]
    async fn webcrypto_decryption_refuses_nonzero_padding() {
        use aes_gcm::aead::{AeadInPlace, KeyInit};
        // 1000 bytes pad to 1024: the last 256-byte record ends in 24 padding bytes.
        let (data, native, _, fragment) = native_and_subtle(1000, 256);
        let mut sealed = native.header();
        let mut enc = native.inner;
        let cipher = aes_gcm::Aes256Gcm::new(&(*enc.parts().1).into());
        let mut framer = enc.into_framer();
        let mut recs = framer.push(&data[..]).unwrap();
        recs.extend(framer.finish().unwrap());
        for rec in recs {
            let mut plain = match rec.bytes {
                RecordBytes::Input(r) => data[r].to_vec(),
                RecordBytes::Owned(v) => v,
            };
            if rec.nonce[11] == 1 {
                *plain.last_mut().unwrap() = 1;
            }
            cipher
                .encrypt_in_place(&rec.nonce.into(), &[], &mut plain)
                .unwrap();
            sealed.extend(plain);
        }
        assert_eq!(
            sealed.len() as f64,
            native_and_subtle(1000, 256).1.container_length()
        );
        assert!(open_async(&fragment, &sealed, 4096).await.1.is_err());
        let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
        assert!(dec.push(&sealed).is_err());
    }

    /// A record sealed by the module opens with the browser's own AES-GCM,
    /// given the derived key and nonce: the format is standard AES-GCM.
    #[wasm_bindgen_test]
    async fn webcrypto_opens_a_record_sealed_in_wasm() {
        let (data, mut native, _, fragment) = native_and_subtle(100, 64);
        let mut sealed = native.header();
        sealed.extend(native.push(&data).unwrap());
        sealed.extend(native.finish().unwrap());
        let header: [u8; HEADER_LEN] = sealed[..HEADER_LEN].try_into().unwrap();
        let key = Link::parse_fragment(&fragment)
            .unwrap()
            .unlock(None)
            .unwrap();
        let (content, _, prefix) = key.subkeys_for_vectors(&header);
        let meta_len = u32::from_be_bytes(header[56..60].try_into().unwrap()) as usize;
        // 100 bytes pad to 104: record 0 is 64 bytes, record 1 (last) is 40.
        let rec0 = &sealed[HEADER_LEN + meta_len..HEADER_LEN + meta_len + 64 + 16];
        let subtle = subtle().unwrap();
        let algo = Object::new();
        Reflect::set(&algo, &"name".into(), &"AES-GCM".into()).unwrap();
        let usages = Array::of1(&"decrypt".into());
        let k = subtle
            .import_key_with_object(
                "raw",
                &Uint8Array::new_from_slice(&content[..]),
                &algo,
                false,
                &usages,
            )
            .unwrap();
        let k: CryptoKey = JsFuture::from(k).await.unwrap().unchecked_into();
        let open = |last: bool| {
            let params = Object::new();
            Reflect::set(&params, &"name".into(), &"AES-GCM".into()).unwrap();
            let nonce = record_nonce(&prefix, 0, last);
            Reflect::set(
                &params,
                &"iv".into(),
                &Uint8Array::new_from_slice(&nonce[..]).into(),
            )
            .unwrap();
            JsFuture::from(
                subtle
                    .decrypt_with_object_and_u8_array(&params, &k, rec0)
                    .unwrap(),
            )
        };
        let plain = buf(open(false).await.unwrap());
        assert_eq!(plain, data[..64]);
        // The same record with the last-record flag set must not open.
        assert!(open(true).await.is_err());
    }

    #[wasm_bindgen_test]
    fn tampering_and_bad_input_throw_instead_of_trapping() {
        let (data, mut native, _, fragment) = native_and_subtle(500, 64);
        let mut sealed = native.header();
        sealed.extend(native.push(&data).unwrap());
        sealed.extend(native.finish().unwrap());
        for at in [0, 5, 59, 70, sealed.len() / 2, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 0x40;
            let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
            let pushed = dec.push(&bad);
            assert!(pushed.is_err() || dec.finish().is_err(), "flip at {at}");
        }
        let mut dec = Decryptor::new(Key::unlock(&fragment, None).unwrap());
        dec.push(&sealed[..sealed.len() - 1]).unwrap();
        assert!(dec.finish().is_err(), "truncated");
        assert!(Key::unlock("not a link", None).is_err());
        assert!(Key::unlock(&fragment, Some("pw".into())).is_err());
        assert!(link_needs_password(&new_link(true).unwrap()).unwrap());
        let key = Key::unlock(&fragment, None).unwrap();
        assert!(Encryptor::new(&key, "n", "t", -1.0, vec![], None).is_err());
        assert!(Encryptor::new(&key, "n", "t", 0.5, vec![], None).is_err());
        assert!(Encryptor::new(&key, "n", "t", 1.0, vec![], Some(3)).is_err());
    }

    #[wasm_bindgen_test]
    fn strip_from_js_cleans_and_reports_and_never_traps() {
        // A tiny JPEG: SOI, a COM segment, a frame header, a scan, EOI.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xFE, 0, 5, b'h', b'i', b'!', 0xFF, 0xC0, 0, 2, 0xFF, 0xDA, 0, 2, 1,
            2, 3, 0xFF, 0xD9,
        ];
        let r = strip_metadata(&jpeg, Some("image/jpeg".into())).unwrap();
        let get = |k: &str| Reflect::get(&r, &k.into()).unwrap();
        assert_eq!(get("format").as_string().as_deref(), Some("JPEG"));
        assert_eq!(get("type").as_string().as_deref(), Some("image/jpeg"));
        let removed: Array = get("removed").unchecked_into();
        assert_eq!(removed.get(0).as_string().as_deref(), Some("comment"));
        assert_eq!(
            buf(Uint8Array::new(&get("data")).buffer().into()).len(),
            jpeg.len() - 7
        );
        // Truncated or hostile inputs throw instead of trapping.
        for cut in 0..jpeg.len() {
            let _ = strip_metadata(&jpeg[..cut], Some("image/jpeg".into()));
        }
        assert!(strip_metadata(b"not really", Some("image/png".into())).is_err());
        let text = strip_metadata(b"hello", Some("text/plain".into())).unwrap();
        assert_eq!(
            Reflect::get(&text, &"changed".into()).unwrap().as_bool(),
            Some(false)
        );
        assert_eq!(sniff_type(&jpeg).as_deref(), Some("image/jpeg"));
    }

    #[wasm_bindgen_test]
    fn password_links_round_trip_in_the_browser() {
        let fragment = new_link(true).unwrap();
        let key = Key::unlock(&fragment, Some("hunter2".into())).unwrap();
        let mut enc = Encryptor::new(&key, "p.txt", "text/plain", 3.0, vec![], None).unwrap();
        let mut sealed = enc.header();
        sealed.extend(enc.push(b"abc").unwrap());
        sealed.extend(enc.finish().unwrap());
        let wrong = Key::unlock(&fragment, Some("hunter3".into())).unwrap();
        assert_ne!(wrong.proof_hash(), key.proof_hash());
        assert!(Decryptor::new(wrong).push(&sealed).is_err());
        let mut dec = Decryptor::new(Key::unlock(&fragment, Some("hunter2".into())).unwrap());
        assert_eq!(dec.push(&sealed).unwrap(), b"abc");
        assert!(dec.finish().is_ok());
    }
}
