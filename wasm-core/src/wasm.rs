//! JavaScript bindings (wasm-bindgen, `--target web`), made to be driven
//! from a Web Worker.
//!
//! Encryption has two interchangeable paths producing identical bytes:
//! `push` seals records with the aes-gcm crate inside wasm; `pushAsync`
//! hands each record to the browser's SubtleCrypto (several times faster)
//! when `crypto.subtle` exists, and falls back to `push` where it does not
//! (pages served over plain HTTP). Errors become JS exceptions, never traps.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

use crate::keys::{Argon2Params, FileKey, Link};
use crate::metadata::{Metadata, MAX_FILE_SIZE};
use crate::stream::{self, PlainRecord};

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

    /// Encrypts, resolving to a `Uint8Array` of ciphertext: through
    /// SubtleCrypto when available, else with the aes-gcm crate. Await each
    /// call before the next one.
    #[wasm_bindgen(js_name = pushAsync)]
    pub fn push_async(&mut self, data: &[u8]) -> Result<Promise, JsError> {
        let Some((subtle, key)) = self.subtle_parts()? else {
            return Ok(resolved(self.inner.push(data).map_err(js_err)?));
        };
        let recs = self.inner.parts().0.push(data).map_err(js_err)?;
        Ok(seal_subtle(subtle, key, recs))
    }

    /// Like `pad`, through SubtleCrypto when available.
    #[wasm_bindgen(js_name = padAsync)]
    pub fn pad_async(&mut self, max: u32) -> Result<Promise, JsError> {
        let Some((subtle, key)) = self.subtle_parts()? else {
            return Ok(resolved(self.inner.pad(max as usize).map_err(js_err)?));
        };
        let recs = self.inner.parts().0.pad(max as usize).map_err(js_err)?;
        Ok(seal_subtle(subtle, key, recs))
    }

    /// Like `finish`, through SubtleCrypto when available.
    #[wasm_bindgen(js_name = finishAsync)]
    pub fn finish_async(mut self) -> Result<Promise, JsError> {
        let Some((subtle, key)) = self.subtle_parts()? else {
            return Ok(resolved(self.inner.finish().map_err(js_err)?));
        };
        let recs = self.inner.into_framer().finish().map_err(js_err)?;
        Ok(seal_subtle(subtle, key, recs))
    }

    fn subtle_parts(&mut self) -> Result<Option<(SubtleCrypto, Promise)>, JsError> {
        let Some(subtle) = subtle() else {
            return Ok(None);
        };
        if self.subtle_key.is_none() {
            let raw = Uint8Array::from(&self.inner.parts().1[..]);
            let algo = Object::new();
            Reflect::set(&algo, &"name".into(), &"AES-GCM".into())
                .map_err(|_| js_err("webcrypto"))?;
            let usages = Array::of1(&"encrypt".into());
            let p = subtle
                .import_key_with_object("raw", &raw, &algo, false, &usages)
                .map_err(|_| JsError::new("WebCrypto refused the key"))?;
            // importKey copied the bytes synchronously; wipe the JS copy.
            raw.fill(0, 0, raw.length());
            self.subtle_key = Some(p);
        }
        Ok(self.subtle_key.clone().map(|k| (subtle, k)))
    }
}

fn subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

fn resolved(bytes: Vec<u8>) -> Promise {
    Promise::resolve(&JsValue::from(Uint8Array::from(&bytes[..])))
}

/// Seals every record with SubtleCrypto at once (the browser runs them in
/// parallel) and concatenates the results in order.
fn seal_subtle(subtle: SubtleCrypto, key: Promise, recs: Vec<PlainRecord>) -> Promise {
    future_to_promise(async move {
        let key: CryptoKey = JsFuture::from(key).await?.unchecked_into();
        let pending = Array::new();
        for rec in &recs {
            let params = Object::new();
            Reflect::set(&params, &"name".into(), &"AES-GCM".into())?;
            Reflect::set(
                &params,
                &"iv".into(),
                &Uint8Array::from(&rec.nonce[..]).into(),
            )?;
            // SubtleCrypto copies its input synchronously (WebCrypto, "get a
            // copy of the bytes"), so the records can be wiped right after.
            let sealed = subtle.encrypt_with_object_and_u8_array(&params, &key, &rec.plaintext)?;
            pending.push(&JsValue::from(sealed));
        }
        drop(recs);
        let results: Array = JsFuture::from(Promise::all(&pending))
            .await?
            .unchecked_into();
        let parts: Vec<Uint8Array> = results.iter().map(|b| Uint8Array::new(&b)).collect();
        let total: u32 = parts.iter().map(Uint8Array::length).sum();
        let out = Uint8Array::new_with_length(total);
        let mut at = 0;
        for p in parts {
            out.set(&p, at);
            at += p.length();
        }
        Ok(out.into())
    })
}

/// Streaming decryptor for one container.
#[wasm_bindgen]
pub struct Decryptor {
    inner: stream::Decryptor,
}

#[wasm_bindgen]
impl Decryptor {
    /// A decryptor for the file `key` unlocks (the key is consumed).
    #[wasm_bindgen(constructor)]
    pub fn new(key: Key) -> Decryptor {
        Decryptor {
            inner: stream::Decryptor::new(key.inner),
        }
    }

    /// Feeds ciphertext; returns the plaintext of the records it completed.
    /// Throws one opaque error for any damage, truncation or wrong key.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, JsError> {
        self.inner.push(data).map_err(js_err)
    }

    /// `{name, type, size, report}` once the metadata has verified, else `null`.
    pub fn metadata(&self) -> JsValue {
        self.inner.metadata().map_or(JsValue::NULL, metadata_to_js)
    }

    /// Checks that the stream ended exactly after its last record.
    pub fn finish(self) -> Result<JsValue, JsError> {
        let meta = self.inner.finish().map_err(js_err)?;
        Ok(metadata_to_js(&meta))
    }
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
