//! `/api/v1/blobs`: one-request upload, download (whole or one range)
//! behind the proof check and an atomic claim, the look at a container's
//! head that consumes nothing, HEAD, and DELETE with the deletion token.

use std::ops::Range;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{bearer, H_DOWNLOADS_LEFT, H_EXPIRES_AT, H_PROOF, H_PROOF_REQUIRED, H_WORK};
use crate::engine::{Download, NewBlob};
use crate::error::ApiError;
use crate::extract::{ClientAddr, Id};
use crate::ids::{slot, BlobId, DeleteToken, Proof, Slot};
use crate::options::{number, Options};
use crate::record::BlobRecord;
use crate::AppState;
use veil_core::protocol::BLOBS;

/// `POST /api/v1/blobs`: the body is the ciphertext.
pub async fn create(
    State(st): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let opts = Options::from_headers(&headers, &st.settings)?;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(number);
    if length.is_some_and(|len| len > st.settings.max_blob_size) {
        return Err(ApiError::TooLarge);
    }
    // Without a length (chunked), the largest blob is reserved until the
    // body is in.
    let reservation = st.limits.admit(
        length.unwrap_or(st.settings.max_blob_size),
        work_header(&headers),
        client,
        Instant::now(),
        st.clock.now(),
    )?;
    let id = BlobId::generate()?;
    let token = DeleteToken::generate()?;
    let new = NewBlob {
        expires_in: opts.expires_in,
        max_downloads: opts.max_downloads,
        delete_hash: token.hash(),
        proof_hash: opts.proof_hash,
    };
    let limit = length.unwrap_or(st.settings.max_blob_size);
    let (expires_at, size) = st
        .engine
        .put_blob(slot(&id), body, limit, new, st.clock.now())
        .await?;
    reservation.recorded(size);
    created(&id, &token, expires_at)
}

/// The `Veil-Work` header of an upload's creation (`CHALLENGE NONCE`).
pub(super) fn work_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(H_WORK).and_then(|v| v.to_str().ok())
}

/// A blob that is not there: `410` if the operator removed it after a
/// report (the page says so), else the usual `404`.
async fn gone(st: &AppState, slot: Slot, e: ApiError) -> ApiError {
    if !matches!(e, ApiError::NotFound) {
        return e;
    }
    match st.engine.removal(slot).await {
        Ok(Some(_)) => ApiError::Removed,
        Ok(None) => ApiError::NotFound,
        Err(e) => e,
    }
}

/// The 201 answer for a new blob.
fn created(id: &BlobId, token: &DeleteToken, expires_at: u64) -> Result<Response, ApiError> {
    let mut resp = (
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": id.to_string(), "delete_token": token.encode(), "expires_at": expires_at })),
    )
        .into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("{BLOBS}/{id}"))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
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
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(H_EXPIRES_AT, HeaderValue::from(rec.expires_at));
    h.insert(
        H_PROOF_REQUIRED,
        HeaderValue::from_static(if rec.proof_hash.is_some() { "1" } else { "0" }),
    );
    if let Some(left) = rec.downloads_left() {
        h.insert(H_DOWNLOADS_LEFT, HeaderValue::from(left));
    }
}

/// `HEAD /api/v1/blobs/{id}`: size and expiry; consumes nothing.
pub async fn head(State(st): State<AppState>, Id(id): Id) -> Result<Response, ApiError> {
    let (slot, now) = (slot(&id), st.clock.now());
    let rec = match st.engine.peek(slot, now).await? {
        Some(rec) => rec,
        None => return Err(gone(&st, slot, ApiError::NotFound).await),
    };
    let mut resp = StatusCode::OK.into_response();
    blob_headers(&mut resp, &rec);
    Ok(resp)
}

/// A proof-checked attempt on one blob, in progress: holds the blob's gate
/// from reading the failure count until the outcome is recorded (see
/// throttle::GATES).
struct Attempt<'a> {
    gate: Option<tokio::sync::MutexGuard<'a, ()>>,
    proof: Option<crate::ids::Digest32>,
}

/// Admits an attempt (a download or a look): a request without a proof
/// guesses nothing, so it is neither gated nor counted (a blob that needs
/// a proof just answers 403); one with a proof waits for the blob's gate
/// and, after wrong proofs, must carry work bound to that proof.
async fn admit<'a>(
    st: &'a AppState,
    id: &BlobId,
    slot: &Slot,
    headers: &HeaderMap,
) -> Result<Attempt<'a>, ApiError> {
    // A malformed proof is simply a wrong one.
    let proof_text = headers
        .get(H_PROOF)
        .and_then(|v| v.to_str().ok())
        .filter(|p| Proof::parse(p).is_some());
    let gate = match proof_text {
        Some(_) => Some(st.throttle.gate(slot).await),
        None => None,
    };
    let bits = match gate {
        Some(_) => st.throttle.required_bits(slot, Instant::now()),
        None => 0,
    };
    if bits > 0 {
        let nonce = headers
            .get(H_WORK)
            .and_then(|v| v.to_str().ok())
            .and_then(number);
        let worked = match (proof_text, nonce) {
            (Some(p), Some(n)) => veil_core::work::verify(&id.to_string(), p, n, bits),
            _ => false,
        };
        if !worked {
            return Err(ApiError::WorkRequired(bits));
        }
    }
    Ok(Attempt {
        gate,
        proof: proof_text.and_then(Proof::parse).map(|p| p.hash()),
    })
}

impl Attempt<'_> {
    /// Records the outcome (a wrong proof counts against the blob; a right
    /// one clears its count) and lets the next attempt in.
    fn settle(
        self,
        st: &AppState,
        slot: &Slot,
        outcome: Download,
    ) -> Result<(BlobRecord, Body), ApiError> {
        match outcome {
            Download::Gone => Err(ApiError::NotFound),
            Download::WrongProof => {
                if self.gate.is_some() {
                    st.throttle.failed(slot, Instant::now());
                }
                Err(ApiError::WrongProof)
            }
            Download::Granted { record, body } => {
                st.throttle.succeeded(slot);
                Ok((record, body))
            }
        }
    }
}

/// The one byte range a download asks for (`Range: bytes=…`, RFC 9110
/// §14), checked against the blob's size before anything is claimed.
/// `None`: no `Range`, or one this server ignores (several ranges, or not
/// `bytes`), and the whole blob is sent.
async fn wanted_range(
    st: &AppState,
    slot: Slot,
    headers: &HeaderMap,
) -> Result<Option<Range<u64>>, ApiError> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Ok(parsed) = http_range_header::parse_range_header(value) else {
        return Ok(None);
    };
    if parsed.ranges.len() != 1 {
        return Ok(None);
    }
    let rec = st
        .engine
        .peek(slot, st.clock.now())
        .await?
        .ok_or(ApiError::NotFound)?;
    match parsed.validate(rec.size).as_deref() {
        // An empty blob has no byte to range over (the parser would
        // clamp `0-` to `0-0`).
        Ok([one]) if rec.size > 0 && *one.start() < rec.size => {
            Ok(Some(*one.start()..one.end() + 1))
        }
        _ => Err(ApiError::RangeNotSatisfiable(rec.size)),
    }
}

/// `GET /api/v1/blobs/{id}`: checks the proof (and, after wrong proofs,
/// the work bound to it), claims one download, then streams it (or the
/// one `Range` asked for: `206`).
pub async fn download(
    State(st): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let slot = slot(&id);
    match download_inner(&st, id, slot, &headers).await {
        Ok(r) => Ok(r),
        Err(e) => Err(gone(&st, slot, e).await),
    }
}

async fn download_inner(
    st: &AppState,
    id: BlobId,
    slot: Slot,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let st = st.clone();
    let range = wanted_range(&st, slot, headers).await?;
    let attempt = admit(&st, &id, &slot, headers).await?;
    let outcome = st
        .engine
        .claim(slot, st.clock.now(), attempt.proof, range.clone())
        .await?;
    let (record, body) = attempt.settle(&st, &slot, outcome)?;
    let mut resp = body.into_response();
    blob_headers(&mut resp, &record);
    if let Some(r) = range {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        let h = resp.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(r.end - r.start));
        let value = format!("bytes {}-{}/{}", r.start, r.end - 1, record.size);
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
    }
    Ok(resp)
}

/// `GET /api/v1/blobs/{id}/head`: the container's header and sealed
/// metadata (a share's manifest), behind the same proof check and
/// throttle as a download, **consuming nothing**: the recipient sees what
/// a link holds before any download counts.
pub async fn look(
    State(st): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let slot = slot(&id);
    let attempt = admit(&st, &id, &slot, &headers).await?;
    let outcome = st.engine.look(slot, st.clock.now(), attempt.proof).await?;
    let (record, body) = match attempt.settle(&st, &slot, outcome) {
        Ok(granted) => granted,
        Err(e) => return Err(gone(&st, slot, e).await),
    };
    let mut resp = body.into_response();
    blob_headers(&mut resp, &record);
    // The head's own length, not the blob's.
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    Ok(resp)
}

/// `DELETE /api/v1/blobs/{id}` with `Authorization: Bearer <delete_token>`:
/// deletes a blob, or an unfinished upload (cancelling a running PATCH).
pub async fn delete(
    State(st): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Unknown ids, malformed tokens and wrong tokens all answer 404.
    let hash = bearer(&headers)?.ok_or(ApiError::NotFound)?;
    let slot = slot(&id);
    if st.engine.delete(slot, hash).await? {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // Perhaps still an upload (or one that became a blob a moment ago:
    // discard looks again).
    super::uploads::discard(&st, id, hash).await
}
