//! Streaming encryption, with records sealed by SubtleCrypto where it
//! exists and by the aes-gcm crate where it does not.

use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{CryptoKey, SubtleCrypto};

use super::key::Key;
use super::subtle::{gcm_params, import_key, resolved, subtle};
use super::{js_err, size_from_js};
use crate::metadata::Metadata;
use crate::share::Manifest;
use crate::stream::{self, PlainRecord, RecordBytes};

/// Streaming encryptor for one file.
#[wasm_bindgen]
pub struct Encryptor {
    pub(super) inner: stream::Encryptor,
    /// The content key imported into SubtleCrypto, once, on first use.
    pub(super) subtle_key: Option<Promise>,
    /// The files' paths as the recipient will see them (made safe and
    /// unique by the core).
    pub(super) names: Vec<String>,
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
            names: vec![meta.name],
        })
    }

    /// Starts a share (version 2) of `files`, an array of `{name, type,
    /// size, report}` in the order their bytes will be pushed; `name` is
    /// the file's relative path (made safe and unique by the core).
    pub fn share(
        key: &Key,
        files: Vec<JsValue>,
        record_size: Option<u32>,
    ) -> Result<Encryptor, JsError> {
        let metas = files
            .iter()
            .map(metadata_from_js)
            .collect::<Result<Vec<_>, _>>()?;
        let manifest = Manifest::share(metas).map_err(js_err)?;
        let rs = record_size.unwrap_or(crate::format::DEFAULT_RECORD_SIZE);
        let inner = stream::Encryptor::for_manifest(&key.inner, &manifest, rs).map_err(js_err)?;
        Ok(Encryptor {
            inner,
            subtle_key: None,
            names: manifest.files().iter().map(|m| m.name.clone()).collect(),
        })
    }

    /// The files' paths as stored: what the recipient will see (a second
    /// `a.jpg` is `a (2).jpg`), for the sender's summary.
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
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

/// `{name, type, size, report}` from JavaScript.
/// What a share of `files` (as for [`Encryptor::share`]) will take on the
/// server, padding and metadata included: to check it against the
/// server's limit before anything is encrypted.
#[wasm_bindgen(js_name = shareLength)]
pub fn share_length(files: Vec<JsValue>) -> Result<f64, JsError> {
    let metas = files
        .iter()
        .map(metadata_from_js)
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest::share(metas).map_err(js_err)?;
    let n = stream::container_len(&manifest, crate::format::DEFAULT_RECORD_SIZE).map_err(js_err)?;
    Ok(n as f64)
}

fn metadata_from_js(v: &JsValue) -> Result<Metadata, JsError> {
    let get = |k: &str| Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let text = |k: &str| get(k).as_string().unwrap_or_default();
    let report = Array::from(&get("report"))
        .iter()
        .filter_map(|l| l.as_string())
        .collect();
    Ok(Metadata {
        name: text("name"),
        mime: text("type"),
        size: size_from_js(get("size").as_f64().unwrap_or(-1.0))?,
        report,
    })
}

/// Seals every record with SubtleCrypto at once (the browser runs them in
/// parallel) and concatenates the results in order. `input` is what
/// `RecordBytes::Input` ranges point into; `None` means padding (zeros).
pub(super) fn seal_subtle(
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
