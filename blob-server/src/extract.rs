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

/// The client's address, only when per-client upload limits are on
/// ([`crate::limits`]): from the header the operator named (set by a proxy
/// they trust), else from the connection. Never stored, never logged:
/// [`crate::limits::Limits::admit`] turns it into an HMAC at once.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<crate::AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &crate::AppState) -> Result<Self, ApiError> {
        let s = st.limits.settings();
        if s.per_client_per_hour.is_none() {
            return Ok(Self(None));
        }
        let from_header = s.client_header.as_deref().and_then(|h| {
            parts
                .headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        });
        let from_conn = || {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip())
        };
        Ok(Self(from_header.or_else(from_conn)))
    }
}
