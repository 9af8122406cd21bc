//! The `{id}` of `/api/v1/blobs/{id}` (and `…/{id}/head`) and
//! `/api/v1/uploads/{id}`, parsed
//! once at the edge. Anything that is not a well-formed id, including bytes
//! that are not UTF-8 once percent-decoded, is rejected exactly like an
//! unknown id: `404` with the usual JSON body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::ids::BlobId;

/// A blob or upload id: the path segment after `blobs` or `uploads`.
pub struct Id(pub BlobId);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // Ids are base64url: a percent sign or any other byte is simply not one.
        parts
            .uri
            .path()
            .split('/')
            .skip_while(|s| !matches!(*s, "blobs" | "uploads"))
            .nth(1)
            .and_then(BlobId::parse)
            .map(Id)
            .ok_or(ApiError::NotFound)
    }
}
