//! Resumable uploads: tus 1.0 core with the creation, expiration and
//! termination extensions, under `/api/v1/uploads`. The upload id is the
//! future blob id; the deletion token is handed out at creation (response
//! header `Veil-Delete-Token`), so the uploader holds everything before the
//! first byte is sent. Options travel in `Upload-Metadata` as `expires_in`,
//! `max_downloads` and `proof_hash`. A finished upload becomes a blob with
//! the same guarantees as a one-request upload.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::api::{stream_to_file, Options};
use crate::error::ApiError;
use crate::ids::{BlobId, DeleteToken};
use crate::record::{BlobRecord, UploadRecord};
use crate::AppState;

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,expiration,termination";

/// Uploads with a PATCH in flight: a second concurrent PATCH gets 409.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<BlobId>>);

struct Busy<'a>(&'a InFlight, BlobId);

impl InFlight {
    fn enter(&self, id: BlobId) -> Option<Busy<'_>> {
        let mut set = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.insert(id).then_some(Busy(self, id))
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0
             .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.1);
    }
}

fn tus_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("tus-resumable"),
        HeaderValue::from_static(TUS_VERSION),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn with_tus(mut resp: Response) -> Response {
    tus_headers(&mut resp);
    resp
}

fn check_version(h: &HeaderMap) -> Result<(), ApiError> {
    match h.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(ApiError::TusVersion),
    }
}

/// A decimal tus header (`Upload-Length`, `Upload-Offset`), if present.
fn number(h: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    h.get(name)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(crate::api::number)
                .ok_or(ApiError::BadRequest("invalid number in a tus header"))
        })
        .transpose()
}

/// Parses `Upload-Metadata` (`key base64,key base64`) into Veil's options.
fn metadata_options(h: &HeaderMap, s: &crate::config::Settings) -> Result<Options, ApiError> {
    let raw = match h.get("upload-metadata") {
        None => "",
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::BadRequest("invalid Upload-Metadata"))?,
    };
    let (mut expires, mut downloads, mut proof) = (None, None, None);
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let decoded = STANDARD
            .decode(value.trim())
            .map_err(|_| ApiError::BadRequest("invalid Upload-Metadata"))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| ApiError::BadRequest("invalid Upload-Metadata"))?;
        match key {
            "expires_in" => expires = Some(text),
            "max_downloads" => downloads = Some(text),
            "proof_hash" => proof = Some(text),
            _ => {} // Unknown keys (e.g. tus-js-client's filename) are ignored, never stored.
        }
    }
    Options::parse(
        expires.as_deref(),
        downloads.as_deref(),
        proof.as_deref(),
        s,
    )
}

fn expires_header(resp: &mut Response, unix: u64) {
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix));
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut()
            .insert(HeaderName::from_static("upload-expires"), v);
    }
}

/// `OPTIONS /api/v1/uploads`: what this server supports.
pub async fn options(State(st): State<AppState>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    tus_headers(&mut resp);
    let h = resp.headers_mut();
    h.insert(
        HeaderName::from_static("tus-version"),
        HeaderValue::from_static(TUS_VERSION),
    );
    h.insert(
        HeaderName::from_static("tus-extension"),
        HeaderValue::from_static(EXTENSIONS),
    );
    h.insert(
        HeaderName::from_static("tus-max-size"),
        HeaderValue::from(st.settings.max_blob_size),
    );
    resp
}

/// `POST /api/v1/uploads`: creates an upload (`Upload-Length` required).
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    create_inner(st, headers, body)
        .await
        .map_err(|e| with_tus(e.into_response()))
}

async fn create_inner(st: AppState, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    check_version(&headers)?;
    let length = number(&headers, "upload-length")?
        .ok_or(ApiError::BadRequest("Upload-Length is required"))?;
    if length > st.settings.max_blob_size {
        return Err(ApiError::TooLarge);
    }
    let opts = metadata_options(&headers, &st.settings)?;
    let id = BlobId::generate()?;
    let token = DeleteToken::generate()?;
    let now = st.clock.now();
    let mut rec = UploadRecord {
        length,
        offset: 0,
        upload_expires_at: now.saturating_add(st.settings.upload_expiry),
        expires_in: opts.expires_in,
        max_downloads: opts.max_downloads,
        delete_hash: token.hash(),
        proof_hash: opts.proof_hash,
    };
    let store = st.store.clone();
    tokio::task::spawn_blocking(move || store.create_upload(&id, &rec)).await??;
    // creation-with-upload: a body may already carry the first bytes.
    let has_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        == Some("application/offset+octet-stream");
    let mut done = None;
    if has_body || length == 0 {
        let busy = st.in_flight.enter(id).ok_or(ApiError::Conflict)?;
        let (r, d) = append(&st, &id, rec, if has_body { Some(body) } else { None }).await?;
        drop(busy);
        rec = r;
        done = d;
    }
    let mut resp = StatusCode::CREATED.into_response();
    tus_headers(&mut resp);
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/api/v1/uploads/{id}"))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(
        HeaderName::from_static("upload-offset"),
        HeaderValue::from(rec.offset),
    );
    h.insert(
        HeaderName::from_static("veil-blob-id"),
        HeaderValue::from_str(&id.to_string()).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(
        HeaderName::from_static("veil-delete-token"),
        HeaderValue::from_str(&token.encode()).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    if let Some(expires_at) = done {
        h.insert(
            HeaderName::from_static("veil-expires-at"),
            HeaderValue::from(expires_at),
        );
    }
    expires_header(&mut resp, rec.upload_expires_at);
    Ok(resp)
}

/// Appends a PATCH body (or nothing) and finishes the upload if complete.
/// Whatever arrived before an interruption is kept (tus resumption).
async fn append(
    st: &AppState,
    id: &BlobId,
    mut rec: UploadRecord,
    body: Option<Body>,
) -> Result<(UploadRecord, Option<u64>), ApiError> {
    let mut outcome = Ok(0);
    if let Some(body) = body {
        let store = st.store.clone();
        let (id2, offset) = (*id, rec.offset);
        let file = tokio::task::spawn_blocking(move || store.open_upload(&id2, offset)).await??;
        let mut file = tokio::fs::File::from_std(file);
        outcome = stream_to_file(body, &mut file, rec.offset, rec.length).await;
        // Make what did arrive durable before recording it.
        file.sync_all().await?;
        let written = file.metadata().await?.len().min(rec.length);
        rec.offset = written;
        let store = st.store.clone();
        let id2 = *id;
        tokio::task::spawn_blocking(move || store.set_upload_offset(&id2, &rec)).await??;
    }
    outcome?;
    if rec.offset < rec.length {
        return Ok((rec, None));
    }
    let blob = BlobRecord {
        size: rec.length,
        expires_at: st.clock.now().saturating_add(rec.expires_in),
        max_downloads: rec.max_downloads,
        downloads: 0,
        delete_hash: rec.delete_hash,
        proof_hash: rec.proof_hash,
    };
    let store = st.store.clone();
    let id2 = *id;
    tokio::task::spawn_blocking(move || store.finish_upload(&id2, &blob)).await??;
    Ok((rec, Some(blob.expires_at)))
}

/// `HEAD /api/v1/uploads/{id}`: the current offset.
pub async fn head(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match head_inner(st, id, headers).await {
        Ok(r) | Err(r) => r,
    }
}

async fn head_inner(st: AppState, id: String, headers: HeaderMap) -> Result<Response, Response> {
    let fail = |e: ApiError| {
        // HEAD answers carry no body; the status says it all.
        let mut r = e.into_response().status().into_response();
        tus_headers(&mut r);
        r
    };
    check_version(&headers).map_err(fail)?;
    let id = BlobId::parse(&id).ok_or(ApiError::NotFound).map_err(fail)?;
    let (store, now) = (st.store.clone(), st.clock.now());
    let found = tokio::task::spawn_blocking(move || -> Result<_, crate::store::StoreError> {
        Ok(match store.upload(&id, now)? {
            Some(u) => Some((u.offset, u.length, Some(u.upload_expires_at))),
            // Finished: report it complete so a resuming client stops.
            None => store.peek(&id, now)?.map(|b| (b.size, b.size, None)),
        })
    })
    .await
    .map_err(|e| fail(e.into()))?
    .map_err(|e| fail(e.into()))?;
    let (offset, length, expires) = found.ok_or(ApiError::NotFound).map_err(fail)?;
    let mut resp = StatusCode::OK.into_response();
    tus_headers(&mut resp);
    resp.headers_mut().insert(
        HeaderName::from_static("upload-offset"),
        HeaderValue::from(offset),
    );
    resp.headers_mut().insert(
        HeaderName::from_static("upload-length"),
        HeaderValue::from(length),
    );
    if let Some(e) = expires {
        expires_header(&mut resp, e);
    }
    Ok(resp)
}

/// `PATCH /api/v1/uploads/{id}`: appends at `Upload-Offset`.
pub async fn patch(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    patch_inner(st, id, headers, body)
        .await
        .map_err(|e| with_tus(e.into_response()))
}

async fn patch_inner(
    st: AppState,
    id: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/offset+octet-stream")
    {
        return Err(ApiError::MediaType);
    }
    let offset = number(&headers, "upload-offset")?
        .ok_or(ApiError::BadRequest("Upload-Offset is required"))?;
    let id = BlobId::parse(&id).ok_or(ApiError::NotFound)?;
    let _busy = st.in_flight.enter(id).ok_or(ApiError::Conflict)?;
    let (store, now) = (st.store.clone(), st.clock.now());
    let rec = tokio::task::spawn_blocking(move || store.upload(&id, now))
        .await??
        .ok_or(ApiError::NotFound)?;
    if offset != rec.offset {
        return Err(ApiError::Conflict);
    }
    let (rec, done) = append(&st, &id, rec, Some(body)).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    tus_headers(&mut resp);
    resp.headers_mut().insert(
        HeaderName::from_static("upload-offset"),
        HeaderValue::from(rec.offset),
    );
    match done {
        Some(expires_at) => {
            resp.headers_mut().insert(
                HeaderName::from_static("veil-expires-at"),
                HeaderValue::from(expires_at),
            );
        }
        None => expires_header(&mut resp, rec.upload_expires_at),
    }
    Ok(resp)
}

/// `DELETE /api/v1/uploads/{id}`: terminates an unfinished upload.
/// (Finished blobs are deleted with their token at `/api/v1/blobs/{id}`.)
pub async fn terminate(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    async {
        check_version(&headers)?;
        let id = BlobId::parse(&id).ok_or(ApiError::NotFound)?;
        let _busy = st.in_flight.enter(id).ok_or(ApiError::Conflict)?;
        let store = st.store.clone();
        if tokio::task::spawn_blocking(move || store.delete_upload(&id, None)).await?? {
            Ok(with_tus(StatusCode::NO_CONTENT.into_response()))
        } else {
            Err(ApiError::NotFound)
        }
    }
    .await
    .map_err(|e: ApiError| with_tus(e.into_response()))
}
