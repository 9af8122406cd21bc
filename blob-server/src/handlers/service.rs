//! What is not a blob: `/api/v1/config` (the limits the page shows),
//! `/healthz`, and the JSON answers for unknown API paths and methods.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::ApiError;
use crate::AppState;

/// `GET /api/v1/config`.
pub async fn config(State(st): State<AppState>) -> Response {
    let s = &st.settings;
    let mut resp = Json(serde_json::json!({
        "api_version": 1,
        "max_blob_size": s.max_blob_size,
        // What that limit leaves for one file, once encrypted and padded.
        "largest_file": veil_core::largest_file(s.max_blob_size),
        "default_expiry": s.default_expiry,
        "max_expiry": s.max_expiry,
        "max_downloads": s.max_downloads,
        "upload_expiry": s.upload_expiry,
        "uploads": veil_core::protocol::UPLOADS,
        "report_key": s.report_key,
        "upload_work": s.limits.upload_work.is_some(),
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Any other `/api/` path: the same 404 as a missing blob.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// A known path with a method it does not have.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
