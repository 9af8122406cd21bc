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
    /// Too many wrong proofs for this blob recently: the attempt must carry
    /// a proof of work of this many bits (`Veil-Work-Bits`).
    #[error("proof of work required")]
    WorkRequired(u8),
    /// A malformed request; the message is fixed text naming the field.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The body is larger than the server accepts.
    #[error("too large")]
    TooLarge,
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
    /// Out of file descriptors or connections: try again shortly.
    #[error("busy")]
    Busy,
    /// The record store or object store is unreachable: try again shortly.
    #[error("storage unavailable")]
    Unavailable,
    /// The blob does not begin with a container header this server reads
    /// (its head cannot be served).
    #[error("not a Veil container")]
    NotAContainer,
    /// A `Range` outside the blob (`416`); the blob's size.
    #[error("range not satisfiable")]
    RangeNotSatisfiable(u64),
    /// The operator removed this blob after a report (`410`).
    #[error("removed after a report")]
    Removed,
    /// A global upload rate is reached: wait this many seconds (`503`).
    #[error("upload rate reached")]
    Limited(u64),
    /// This client's uploads for the hour are used up: wait this many
    /// seconds (`429`, only with per-client limits on).
    #[error("client upload limit reached")]
    ClientLimited(u64),
    /// An upload's creation must carry work of this many bits on this
    /// challenge (`429` with `Veil-Work-Bits` and `Veil-Work-Challenge`).
    #[error("upload proof of work required")]
    UploadWorkRequired(u8, String),
    /// The operator's storage quota would be passed (`507`).
    #[error("quota reached")]
    QuotaFull,
    /// This blob has as many reports as are kept per blob (`429`).
    #[error("reported enough")]
    ReportedEnough,
    /// The admin token is missing or wrong (`401`).
    #[error("unauthorized")]
    Unauthorized,
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Anything else; the cause is logged.
    #[error("internal: {0}")]
    Internal(String),
}

/// Linux errno values (std has no names for them).
const ENFILE: i32 = 23;
const EMFILE: i32 = 24;
const ENOSPC: i32 = 28;
const EDQUOT: i32 = 122;

/// Seconds a client is told to wait after [`ApiError::Busy`].
pub const BUSY_RETRY_AFTER: u64 = 5;
/// The body text of [`ApiError::Busy`] (also sent, canned, past the
/// connection cap).
pub const BUSY_MESSAGE: &str = "busy; try again shortly";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Unavailable(cause) = &e {
            tracing::warn!(error = %cause, "storage unavailable");
            return Self::Unavailable;
        }
        if let StoreError::Io(io) = &e {
            match io.raw_os_error() {
                Some(ENOSPC | EDQUOT) => return Self::Full,
                Some(EMFILE | ENFILE) => return Self::Busy,
                _ => {}
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

impl From<veil_core::Error> for ApiError {
    fn from(e: veil_core::Error) -> Self {
        // Only the CSPRNG can fail where the server uses the core.
        Self::Internal(e.to_string())
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
            Self::WorkRequired(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many wrong attempts: proof of work required",
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, *m),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too large"),
            Self::Conflict => (StatusCode::CONFLICT, "offset mismatch"),
            Self::TusVersion => (StatusCode::PRECONDITION_FAILED, "unsupported tus version"),
            Self::MediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported media type"),
            Self::Full => (StatusCode::INSUFFICIENT_STORAGE, "insufficient storage"),
            Self::QuotaFull => (
                StatusCode::INSUFFICIENT_STORAGE,
                "the server's storage quota is reached; try again later, when shares have expired",
            ),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, BUSY_MESSAGE),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable; try again shortly",
            ),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
            Self::Removed => (StatusCode::GONE, "removed by the operator after a report"),
            Self::Limited(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is taking as many uploads as its operator allows; try again later",
            ),
            Self::ClientLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many uploads from this network this hour; try again later",
            ),
            Self::UploadWorkRequired(..) => (
                StatusCode::TOO_MANY_REQUESTS,
                "proof of work required to upload",
            ),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::ReportedEnough => (
                StatusCode::TOO_MANY_REQUESTS,
                "this link was reported many times already: the operator has been told",
            ),
            Self::NotAContainer => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "the blob is not a Veil container",
            ),
            Self::RangeNotSatisfiable(_) => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable")
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        };
        let mut resp = (status, Json(serde_json::json!({ "error": message }))).into_response();
        match self {
            Self::WorkRequired(bits) => {
                resp.headers_mut().insert(
                    crate::handlers::H_WORK_BITS,
                    HeaderValue::from(u16::from(bits)),
                );
            }
            Self::UploadWorkRequired(bits, challenge) => {
                resp.headers_mut().insert(
                    crate::handlers::H_WORK_BITS,
                    HeaderValue::from(u16::from(bits)),
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    resp.headers_mut()
                        .insert(crate::handlers::H_WORK_CHALLENGE, v);
                }
            }
            Self::Limited(secs) | Self::ClientLimited(secs) => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Self::Unauthorized => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Busy | Self::Unavailable => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER));
            }
            Self::RangeNotSatisfiable(size) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_is_503_with_retry_after_not_500() {
        for errno in [EMFILE, ENFILE] {
            let resp = ApiError::from(std::io::Error::from_raw_os_error(errno)).into_response();
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
        }
        let full = ApiError::from(std::io::Error::from_raw_os_error(ENOSPC)).into_response();
        assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
    }
}
