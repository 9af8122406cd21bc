//! The HTTP handlers, one file per resource, and what they share: the
//! header names of Veil's own protocol and the deletion-token extractor.
//!
//! - [`blobs`]: `/api/v1/blobs` (one-request upload, download, HEAD, DELETE);
//! - [`uploads`]: `/api/v1/uploads` (tus 1.0);
//! - [`service`]: `/api/v1/config`, `/healthz`, and the JSON answers for
//!   unknown paths and methods.

pub mod blobs;
pub mod service;
pub mod uploads;

use axum::http::{header, HeaderMap, HeaderName};

use crate::error::ApiError;
use crate::ids::{DeleteToken, Digest32};

/// The download proof (request).
pub const H_PROOF: HeaderName = HeaderName::from_static("veil-proof");
/// A proof of work's nonce, decimal (request, after [`H_WORK_BITS`]).
pub const H_WORK: HeaderName = HeaderName::from_static("veil-work");
/// The work a download attempt must carry (a `429` answer).
pub const H_WORK_BITS: HeaderName = HeaderName::from_static("veil-work-bits");
/// The blob's expiry, Unix seconds (answers).
pub const H_EXPIRES_AT: HeaderName = HeaderName::from_static("veil-expires-at");
/// Whether downloads need [`H_PROOF`], `0`/`1` (answers).
pub const H_PROOF_REQUIRED: HeaderName = HeaderName::from_static("veil-proof-required");
/// Downloads left after this one, for limited blobs (answers).
pub const H_DOWNLOADS_LEFT: HeaderName = HeaderName::from_static("veil-downloads-left");
/// The future blob id of a tus upload (creation answer).
pub const H_BLOB_ID: HeaderName = HeaderName::from_static("veil-blob-id");
/// The deletion token of a tus upload (creation answer).
pub const H_DELETE_TOKEN: HeaderName = HeaderName::from_static("veil-delete-token");

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
