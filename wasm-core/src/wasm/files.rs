//! What happens to a file before encryption: recognising and cleaning
//! pictures, videos and sound. (The QR code of a finished link is `wasm-qr`.)

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::js_err;

/// Recognises a picture, video or sound from its first bytes (up to 4 KiB:
/// an SVG's prologue may need them), never from the name: its media type
/// (e.g. `image/jpeg`), or `undefined`.
#[wasm_bindgen(js_name = sniffType)]
pub fn sniff_type(head: &[u8]) -> Option<String> {
    crate::strip::sniff(head).map(|m| m.mime(head).to_owned())
}

/// Which of the page's modules cleans this file (by its first bytes):
/// `pkg-formats` (feature `formats`: audio, JPEG XL, SVG and Office
/// files), `pkg-pdf` (feature `pdf`), or `undefined` for the module every
/// upload loads (pictures, videos, and files that are not media).
#[wasm_bindgen(js_name = cleanerModule)]
pub fn cleaner_module(head: &[u8]) -> Option<String> {
    use crate::strip::Cleaner;
    match crate::strip::sniff(head)?.cleaner() {
        Cleaner::Core => None,
        Cleaner::Formats => Some("pkg-formats".to_owned()),
        Cleaner::Pdf => Some("pkg-pdf".to_owned()),
    }
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

/// Whether a file is a picture or video to clean (by its first bytes, or
/// the type the browser claims), see `crate::prepare`.
#[wasm_bindgen(js_name = isMedia)]
pub fn is_media(head: &[u8], declared_type: Option<String>) -> bool {
    crate::prepare::classify(head, declared_type.as_deref()) == crate::prepare::Kind::Media
}

/// The report lines sealed with a file sent as it is: `media` tells which
/// kind, `reason` why a picture or video was not cleaned (`undefined`: the
/// sender chose to send it unmodified).
#[wasm_bindgen(js_name = asIsReport)]
pub fn as_is_report(media: bool, reason: Option<String>) -> Array {
    let kind = if media {
        crate::prepare::Kind::Media
    } else {
        crate::prepare::Kind::Other
    };
    crate::prepare::as_is_report(kind, reason.as_deref())
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect()
}

/// Whether a file's name (its path in the share) is one a camera, phone or
/// screenshot tool gave: `{name, reveals}` with the neutral name to send
/// instead and `reveals` either `'time'` (the capture time) or `'camera'`
/// (the camera's picture count), or `undefined` for a name a person chose
/// (see `crate::prepare::camera_name`).
#[cfg(feature = "send")]
#[wasm_bindgen(js_name = cameraName)]
pub fn camera_name(path: &str) -> JsValue {
    use crate::prepare::NameReveals;
    let Some(c) = crate::prepare::camera_name(path) else {
        return JsValue::UNDEFINED;
    };
    let o = Object::new();
    let reveals = match c.reveals {
        NameReveals::CaptureTime => "time",
        NameReveals::CameraNumbering => "camera",
    };
    // Setting plain data properties on a fresh object cannot fail.
    let _ = Reflect::set(&o, &"name".into(), &c.neutral.into());
    let _ = Reflect::set(&o, &"reveals".into(), &reveals.into());
    o.into()
}
