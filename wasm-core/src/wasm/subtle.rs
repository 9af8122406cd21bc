//! The bridge to the browser's SubtleCrypto: key import, AES-GCM
//! parameters, and JS byte arrays as a record source.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::SubtleCrypto;

use super::js_err;
use crate::stream::Source;

/// Imports a raw AES-256-GCM key into SubtleCrypto (not extractable).
pub(super) fn import_key(
    subtle: &SubtleCrypto,
    raw: &[u8; 32],
    usage: &str,
) -> Result<Promise, JsError> {
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
pub(super) fn gcm_params(nonce: &[u8]) -> Result<Object, JsValue> {
    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into())?;
    Reflect::set(
        &params,
        &"iv".into(),
        &Uint8Array::new_from_slice(nonce).into(),
    )?;
    Ok(params)
}

pub(super) fn subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

/// Resolves to the same shape as the WebCrypto path: an array of buffers.
#[cfg(feature = "send")]
pub(super) fn resolved(bytes: Vec<u8>) -> Promise {
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
