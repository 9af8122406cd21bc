//! The one place where failures become HTTP responses: fixed public
//! messages and status codes; causes go to the log, never to the client.
//! Unknown, expired, burned and deleted blobs are all [`ApiError::NotFound`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::store::StoreError;

/// Everything a handler can answer with besides success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Unknown, expired, used up or deleted.
    #[error("not found")]
    NotFound,
    /// The download proof is missing or wrong.
    #[error("wrong proof")]
    WrongProof,
    /// Too many wrong proofs for this blob recently.
    #[error("slow down")]
    SlowDown(u64),
    /// A malformed request; the message is fixed text naming the field.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The body is larger than the server accepts.
    #[error("too large")]
    TooLarge,
    /// Wrong deletion token (or no such blob).
    #[error("forbidden")]
    Forbidden,
    /// tus: the offset does not match the upload.
    #[error("conflict")]
    Conflict,
    /// tus: unsupported protocol version.
    #[error("unsupported tus version")]
    TusVersion,
    /// tus: wrong content type for PATCH.
    #[error("unsupported media type")]
    MediaType,
    /// The disk is full.
    #[error("insufficient storage")]
    Full,
    /// Anything else; the cause is logged.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Io(io) = &e {
            if io.raw_os_error() == Some(28) {
                return Self::Full; // ENOSPC
            }
        }
        Self::Internal(e.to_string())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e).into()
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("blocking task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not found"),
            Self::WrongProof => (StatusCode::FORBIDDEN, "wrong proof"),
            Self::SlowDown(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many attempts; try again later",
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, *m),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too large"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Conflict => (StatusCode::CONFLICT, "offset mismatch"),
            Self::TusVersion => (StatusCode::PRECONDITION_FAILED, "unsupported tus version"),
            Self::MediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported media type"),
            Self::Full => (StatusCode::INSUFFICIENT_STORAGE, "insufficient storage"),
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        let mut resp = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if let Self::SlowDown(secs) = self {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
