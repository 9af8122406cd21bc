//! Streaming decryption, with records opened by SubtleCrypto where it
//! exists and by the aes-gcm crate where it does not.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{CryptoKey, SubtleCrypto};

use super::key::Key;
use super::subtle::{gcm_params, import_key, subtle};
use super::{js_err, size_from_js};
use crate::error::DecryptError;
use crate::metadata::Metadata;
use crate::share::Manifest;
use crate::stream::{self, RecordBytes, SealedRecord};

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

    /// Once the metadata has verified, `{share, files: [{name, type, size,
    /// report, offset}]}` (`name`: the path to save the file under, made
    /// safe; `offset`: where its bytes start in the content), else `null`.
    pub fn manifest(&self) -> JsValue {
        self.inner.manifest().map_or(JsValue::NULL, manifest_to_js)
    }

    /// Right after exactly the head was pushed: restricts decryption to
    /// files `first..=last`. Returns `{from, to, contentStart}`: fetch the
    /// container bytes `[from, to)` (`Range: bytes=from-(to-1)`) and push
    /// them; their plaintext starts at content offset `contentStart`.
    pub fn select(&mut self, first: usize, last: usize) -> Result<JsValue, JsError> {
        let range = self
            .inner
            .manifest()
            .and_then(|m| m.content_range(first, last))
            .ok_or_else(|| JsError::new("no such files in this share"))?;
        let sel = self.inner.select(range).map_err(js_err)?;
        let o = Object::new();
        #[allow(clippy::cast_precision_loss)]
        for (k, v) in [
            ("from", sel.bytes.start),
            ("to", sel.bytes.end),
            ("contentStart", sel.content_start),
        ] {
            let _ = Reflect::set(&o, &k.into(), &(v as f64).into());
        }
        Ok(o.into())
    }

    /// A splitter for files `first..=last`, plaintext starting at content
    /// offset `contentStart` (0 for the whole share).
    pub fn splitter(
        &self,
        first: usize,
        last: usize,
        content_start: f64,
    ) -> Result<Splitter, JsError> {
        let start = size_from_js(content_start)?;
        self.inner
            .manifest()
            .and_then(|m| crate::share::Splitter::new(m, first, last, start))
            .map(Splitter)
            .ok_or_else(|| JsError::new("no such files in this share"))
    }

    /// Checks that the stream ended exactly after its last record (or the
    /// last one selected) and that every record verified (await every
    /// `pushAsync` first).
    pub fn finish(self) -> Result<JsValue, JsError> {
        if self.failed.get() || self.unverified.get() != 0 {
            return Err(js_err(DecryptError));
        }
        let manifest = self.inner.finish().map_err(js_err)?;
        Ok(manifest_to_js(&manifest))
    }

    fn fail(&self, e: DecryptError) -> JsError {
        self.failed.set(true);
        js_err(e)
    }
}

/// Opens every record with SubtleCrypto at once, then checks the padding
/// and keeps the file bytes, in order. Any failure marks the stream failed.
pub(super) fn open_subtle(
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

/// Cuts decrypted plaintext into a share's files (`veil_core::share::Splitter`).
#[wasm_bindgen]
pub struct Splitter(crate::share::Splitter);

#[wasm_bindgen]
impl Splitter {
    /// The pieces of the next `len` plaintext bytes, flat: for each,
    /// `file, start, end, flags` (flags: 1 its first piece, 2 its last).
    /// Call once more with 0 after the last bytes.
    pub fn split(&mut self, len: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for p in self.0.split(len) {
            let flags = u8::from(p.starts) | (u8::from(p.ends) << 1);
            #[allow(clippy::cast_precision_loss)]
            out.extend([
                p.file as f64,
                p.range.start as f64,
                p.range.end as f64,
                f64::from(flags),
            ]);
        }
        out
    }

    /// Whether every chosen file has ended.
    pub fn done(&self) -> bool {
        self.0.done()
    }
}

fn manifest_to_js(m: &Manifest) -> JsValue {
    let files: Array = (0..m.files().len())
        .filter_map(|i| {
            let f = m.files().get(i)?;
            let o = metadata_to_js(f);
            let name = m.save_path(i).unwrap_or_default();
            let _ = Reflect::set(&o, &"name".into(), &name.into());
            #[allow(clippy::cast_precision_loss)]
            let _ = Reflect::set(&o, &"offset".into(), &(m.offset(i) as f64).into());
            Some(o)
        })
        .collect();
    let o = Object::new();
    let _ = Reflect::set(&o, &"share".into(), &m.is_share().into());
    let _ = Reflect::set(&o, &"files".into(), &files.into());
    o.into()
}

pub(super) fn metadata_to_js(m: &Metadata) -> JsValue {
    let o = Object::new();
    let report: Array = m.report.iter().map(|s| JsValue::from_str(s)).collect();
    // Setting plain data properties on a fresh object cannot fail.
    let _ = Reflect::set(&o, &"name".into(), &m.name.as_str().into());
    let _ = Reflect::set(&o, &"type".into(), &m.mime.as_str().into());
    let _ = Reflect::set(&o, &"size".into(), &(m.size as f64).into());
    let _ = Reflect::set(&o, &"report".into(), &report.into());
    o.into()
}

/// The name to save a received file under (the sender's name made safe:
/// see `crate::metadata::safe_file_name`).
#[wasm_bindgen(js_name = safeFileName)]
pub fn safe_file_name(name: &str) -> String {
    crate::metadata::safe_file_name(name)
}
