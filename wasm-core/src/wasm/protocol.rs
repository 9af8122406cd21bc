//! The HTTP protocol and links for the page's JavaScript, from
//! `crate::protocol` and `crate::preview`: the page spells no path,
//! header or link syntax of its own.

use wasm_bindgen::prelude::*;

use crate::protocol as p;

/// Paths and header names as a JSON object (see `protocol::as_json`).
#[wasm_bindgen(js_name = protocolJson)]
pub fn protocol_json() -> String {
    p::as_json()
}

/// The share link for blob `id` on `origin` with `fragment`.
#[cfg(feature = "send")]
#[wasm_bindgen(js_name = shareLink)]
pub fn share_link(origin: &str, id: &str, fragment: &str) -> Result<String, JsError> {
    let id = p::BlobId::parse(id).ok_or_else(|| JsError::new("malformed blob id"))?;
    Ok(p::ShareLink {
        origin: origin.to_owned(),
        id,
        fragment: fragment.to_owned(),
    }
    .to_string())
}

/// The deletion link for blob `id` on `origin` with `token`.
#[cfg(feature = "send")]
#[wasm_bindgen(js_name = deletionLink)]
pub fn deletion_link(origin: &str, id: &str, token: &str) -> Result<String, JsError> {
    let id = p::BlobId::parse(id).ok_or_else(|| JsError::new("malformed blob id"))?;
    Ok(p::DeletionLink {
        origin: origin.to_owned(),
        id,
        token: token.to_owned(),
    }
    .to_string())
}

#[cfg(feature = "receive")]
fn parts(origin: &str, id: String, secret: &str, key: &str) -> Result<JsValue, JsError> {
    let o = js_sys::Object::new();
    let set =
        |k: &str, v: &str| js_sys::Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    set("origin", origin)
        .and_then(|_| set("id", &id))
        .and_then(|_| set(key, secret))
        .map_err(|_| JsError::new("cannot build the link object"))?;
    Ok(o.into())
}

/// Parses a share link: `{origin, id, fragment}`; throws naming what is wrong.
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = parseShareLink)]
pub fn parse_share_link(link: &str) -> Result<JsValue, JsError> {
    let l = p::ShareLink::parse(link).map_err(super::js_err)?;
    parts(
        &l.origin,
        crate::b64::encode(l.id.as_bytes()),
        &l.fragment,
        "fragment",
    )
}

/// Parses a deletion link: `{origin, id, token}`; throws naming what is wrong.
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = parseDeletionLink)]
pub fn parse_deletion_link(link: &str) -> Result<JsValue, JsError> {
    let l = p::DeletionLink::parse(link).map_err(super::js_err)?;
    parts(
        &l.origin,
        crate::b64::encode(l.id.as_bytes()),
        &l.token,
        "token",
    )
}

/// The tus `Upload-Metadata` value for the options (`maxDownloads` 0 or
/// absent: unlimited).
#[cfg(feature = "send")]
#[wasm_bindgen(js_name = uploadMetadata)]
pub fn upload_metadata(
    expires_in: Option<f64>,
    max_downloads: Option<u32>,
    proof_hash: Option<String>,
) -> String {
    // Whole seconds from a form field; out-of-range values are the server's to refuse.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let expires_in = expires_in.filter(|e| *e >= 1.0).map(|e| e as u64);
    p::upload_metadata(&p::UploadOptions {
        expires_in,
        max_downloads: max_downloads.filter(|d| *d > 0),
        proof_hash,
    })
}

/// What a download answer means: `granted`, `gone`, `password`, `link`,
/// `work`, `busy` or `failed` (see `DownloadAnswer`).
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = downloadAnswer)]
pub fn download_answer(status: u16, password: bool, work_bits: Option<String>) -> String {
    p::DownloadAnswer::classify(status, password, work_bits.as_deref())
        .code()
        .to_owned()
}

/// How a decrypted file of `mime` may be shown: `image`, `video`, or
/// `undefined` (then it is only saved, as `application/octet-stream`).
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = previewKind)]
pub fn preview_kind(mime: &str) -> Option<String> {
    crate::preview::inline(mime).map(|k| match k {
        crate::preview::Inline::Image => "image".to_owned(),
        crate::preview::Inline::Video => "video".to_owned(),
    })
}
