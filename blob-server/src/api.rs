//! The blob API (`/api/v1/blobs`): one-request upload, download behind an
//! atomic claim, HEAD, DELETE; and `/api/v1/config`, `/healthz`.

use std::path::PathBuf;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::ids::{BlobId, DeleteToken, Digest32, Proof};
use crate::record::BlobRecord;
use crate::store::Claim;
use crate::AppState;

/// Upload option headers (documented in docs/API.md).
pub const H_EXPIRES_IN: &str = "veil-expires-in";
/// See [`H_EXPIRES_IN`].
pub const H_MAX_DOWNLOADS: &str = "veil-max-downloads";
/// See [`H_EXPIRES_IN`].
pub const H_PROOF_HASH: &str = "veil-proof-hash";
/// The download proof.
pub const H_PROOF: &str = "veil-proof";

/// Blob options, however they arrived (headers, or tus `Upload-Metadata`).
#[derive(Clone, Copy)]
pub struct Options {
    /// Seconds to live, already capped at the server's maximum.
    pub expires_in: u64,
    /// Download limit, 0 = unlimited.
    pub max_downloads: u32,
    /// SHA-256 of the download proof.
    pub proof_hash: Option<Digest32>,
}

/// Parses a plain decimal number: digits only, no sign, no spaces, at most 19 digits.
pub fn number(v: &str) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

impl Options {
    /// Validates raw option values against the settings.
    pub fn parse(
        expires_in: Option<&str>,
        max_downloads: Option<&str>,
        proof_hash: Option<&str>,
        s: &crate::config::Settings,
    ) -> Result<Self, ApiError> {
        let expires_in = match expires_in {
            None => s.default_expiry,
            Some(v) => number(v)
                .filter(|&n| n > 0)
                .ok_or(ApiError::BadRequest("invalid Veil-Expires-In"))?,
        }
        .min(s.max_expiry);
        let max_downloads = match max_downloads {
            None => 0,
            Some(v) => number(v)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n <= s.max_downloads)
                .ok_or(ApiError::BadRequest("invalid Veil-Max-Downloads"))?,
        };
        let proof_hash = match proof_hash {
            None => None,
            Some(v) => {
                Some(Digest32::parse(v).ok_or(ApiError::BadRequest("invalid Veil-Proof-Hash"))?)
            }
        };
        Ok(Self {
            expires_in,
            max_downloads,
            proof_hash,
        })
    }

    fn from_headers(h: &HeaderMap, s: &crate::config::Settings) -> Result<Self, ApiError> {
        let get = |name: &str| -> Result<Option<&str>, ApiError> {
            h.get(name)
                .map(|v| {
                    v.to_str()
                        .map_err(|_| ApiError::BadRequest("header is not ASCII"))
                })
                .transpose()
        };
        Self::parse(
            get(H_EXPIRES_IN)?,
            get(H_MAX_DOWNLOADS)?,
            get(H_PROOF_HASH)?,
            s,
        )
    }
}

/// Deletes a partly written file if the request ends early (error, client
/// gone, server shutting down) before it is committed.
pub struct TempGuard(Option<PathBuf>);

impl TempGuard {
    /// Guards `path`.
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }
    /// The file is now someone else's.
    pub fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            // Partial ciphertext; plain removal suffices (it was never served).
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Streams `body` into `file` at its current position, refusing to go past
/// `limit` total bytes; returns the bytes written. Never buffers the body.
pub async fn stream_to_file(
    body: Body,
    file: &mut tokio::fs::File,
    already: u64,
    limit: u64,
) -> Result<u64, ApiError> {
    // 256 KiB buffers: large enough for throughput, small enough that 64
    // concurrent uploads stay within a few tens of MiB.
    file.set_max_buf_size(256 * 1024);
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    let mut outcome = Ok(());
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            // Keep what arrived (tus resumes from it); the caller decides.
            outcome = Err(ApiError::BadRequest("the request body was interrupted"));
            break;
        };
        if already + written + chunk.len() as u64 > limit {
            outcome = Err(ApiError::TooLarge);
            break;
        }
        out.write_all(&chunk).await?;
        written += chunk.len() as u64;
    }
    out.flush().await?;
    outcome.map(|()| written)
}

/// `POST /api/v1/blobs`: the body is the ciphertext.
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let opts = Options::from_headers(&headers, &st.settings)?;
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(number)
    {
        if len > st.settings.max_blob_size {
            return Err(ApiError::TooLarge);
        }
    }
    let id = BlobId::generate()?;
    let token = DeleteToken::generate()?;
    let tmp = st.store.temp_path(&id);
    let mut guard = TempGuard::new(tmp.clone());
    let mut file = tokio::fs::File::create(&tmp).await?;
    let size = stream_to_file(body, &mut file, 0, st.settings.max_blob_size).await?;
    file.sync_all().await?;
    drop(file);
    let record = BlobRecord {
        size,
        expires_at: st.clock.now().saturating_add(opts.expires_in),
        max_downloads: opts.max_downloads,
        downloads: 0,
        delete_hash: token.hash(),
        proof_hash: opts.proof_hash,
    };
    let store = st.store.clone();
    tokio::task::spawn_blocking(move || store.commit(&id, &tmp, &record)).await??;
    guard.disarm();
    created(&id, &token, record.expires_at)
}

/// The 201 answer for a new blob (also used by tus creation).
pub fn created(id: &BlobId, token: &DeleteToken, expires_at: u64) -> Result<Response, ApiError> {
    let location = format!("/api/v1/blobs/{id}");
    let mut resp = (
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": id.to_string(), "delete_token": token.encode(), "expires_at": expires_at })),
    )
        .into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

fn blob_headers(resp: &mut Response, rec: &BlobRecord) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(rec.size));
    h.insert("veil-expires-at", HeaderValue::from(rec.expires_at));
    h.insert(
        "veil-proof-required",
        HeaderValue::from_static(if rec.proof_hash.is_some() { "1" } else { "0" }),
    );
    if let Some(left) = rec.downloads_left() {
        h.insert("veil-downloads-left", HeaderValue::from(left));
    }
}

/// `HEAD /api/v1/blobs/{id}`: size and expiry; consumes nothing.
pub async fn head(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = BlobId::parse(&id).ok_or(ApiError::NotFound)?;
    let (store, now) = (st.store.clone(), st.clock.now());
    let rec = tokio::task::spawn_blocking(move || store.peek(&id, now))
        .await??
        .ok_or(ApiError::NotFound)?;
    let mut resp = StatusCode::OK.into_response();
    blob_headers(&mut resp, &rec);
    Ok(resp)
}

/// `GET /api/v1/blobs/{id}`: claims one download, then streams it.
pub async fn download(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = BlobId::parse(&id).ok_or(ApiError::NotFound)?;
    st.throttle
        .check(&id, Instant::now())
        .map_err(ApiError::SlowDown)?;
    // A malformed proof is simply a wrong one.
    let proof = headers
        .get(H_PROOF)
        .and_then(|v| v.to_str().ok())
        .and_then(Proof::parse)
        .map(|p| p.hash());
    let (store, now) = (st.store.clone(), st.clock.now());
    let claim = tokio::task::spawn_blocking(move || store.claim(&id, now, proof)).await??;
    let (record, file, reading) = match claim {
        Claim::Gone => return Err(ApiError::NotFound),
        Claim::WrongProof => {
            st.throttle.failed(&id, Instant::now());
            return Err(ApiError::WrongProof);
        }
        Claim::Granted {
            record,
            file,
            reading,
        } => (record, file, reading),
    };
    st.throttle.succeeded(&id);
    let file = tokio::fs::File::from_std(file);
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |chunk| {
        let _keep = &reading; // dropped with the body: then the file may be erased
        chunk
    });
    let mut resp = Body::from_stream(stream).into_response();
    blob_headers(&mut resp, &record);
    Ok(resp)
}

/// `DELETE /api/v1/blobs/{id}` with `Authorization: Bearer <delete_token>`.
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::BadRequest("missing Authorization: Bearer token"))?;
    // Unknown ids, malformed tokens and wrong tokens all answer 404.
    let id = BlobId::parse(&id).ok_or(ApiError::NotFound)?;
    let hash = DeleteToken::parse(token.trim())
        .ok_or(ApiError::NotFound)?
        .hash();
    let store = st.store.clone();
    if tokio::task::spawn_blocking(move || store.delete(&id, hash)).await?? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

/// `GET /api/v1/config`: the limits the page shows.
pub async fn config(State(st): State<AppState>) -> Response {
    let s = &st.settings;
    let mut resp = Json(serde_json::json!({
        "api_version": 1,
        "max_blob_size": s.max_blob_size,
        "default_expiry": s.default_expiry,
        "max_expiry": s.max_expiry,
        "max_downloads": s.max_downloads,
        "upload_expiry": s.upload_expiry,
        "uploads": "/api/v1/uploads",
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Any other `/api/` path: the same 404 as a missing blob.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}
