//! The HTTP handlers, one file per resource, and what they share: the
//! header names of Veil's own protocol and the deletion-token extractor.
//!
//! - [`blobs`]: `/api/v1/blobs` (one-request upload, download, HEAD, DELETE);
//! - [`uploads`]: `/api/v1/uploads` (tus 1.0);
//! - [`moderation`]: reports, transparency, the admin API;
//! - [`service`]: `/api/v1/config`, `/healthz`, and the JSON answers for
//!   unknown paths and methods.
//!
//! Header names and paths are the protocol's (`veil_core::protocol`).

pub mod blobs;
pub mod moderation;
pub mod service;
pub mod uploads;

use axum::http::{header, HeaderMap, HeaderName};

use crate::error::ApiError;
use crate::ids::{DeleteToken, Digest32};

use veil_core::protocol::header as names;

/// The download proof (request).
pub const H_PROOF: HeaderName = HeaderName::from_static(names::PROOF);
/// A proof of work's nonce (request).
pub const H_WORK: HeaderName = HeaderName::from_static(names::WORK);
/// The work a download attempt must carry (a `429` answer).
pub const H_WORK_BITS: HeaderName = HeaderName::from_static(names::WORK_BITS);
/// The challenge an upload's creation must solve (a `429` answer).
pub const H_WORK_CHALLENGE: HeaderName = HeaderName::from_static(names::WORK_CHALLENGE);
/// The blob's expiry (answers).
pub const H_EXPIRES_AT: HeaderName = HeaderName::from_static(names::EXPIRES_AT);
/// Whether downloads need a proof (answers).
pub const H_PROOF_REQUIRED: HeaderName = HeaderName::from_static(names::PROOF_REQUIRED);
/// Downloads left after this one (answers).
pub const H_DOWNLOADS_LEFT: HeaderName = HeaderName::from_static(names::DOWNLOADS_LEFT);
/// The future blob id of a tus upload (creation answer).
pub const H_BLOB_ID: HeaderName = HeaderName::from_static(names::BLOB_ID);
/// The deletion token of a tus upload (creation answer).
pub const H_DELETE_TOKEN: HeaderName = HeaderName::from_static(names::DELETE_TOKEN);

/// The SHA-256 of the deletion token in `Authorization: Bearer <token>`
/// (the scheme is case-insensitive, RFC 9110 §11.1). No header: `400`; a
/// malformed token is just a wrong one (`404` where it is checked).
pub fn bearer(headers: &HeaderMap) -> Result<Option<Digest32>, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::BadRequest("missing Authorization: Bearer token"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(ApiError::BadRequest("missing Authorization: Bearer token"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::BadRequest("missing Authorization: Bearer token"));
    }
    Ok(DeleteToken::parse(token.trim()).map(|t| t.hash()))
}
