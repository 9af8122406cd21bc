//! `/api/v1/blobs`: one-request upload, download behind the proof check and
//! an atomic claim, HEAD, and DELETE with the deletion token.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;

use super::{bearer, H_DOWNLOADS_LEFT, H_EXPIRES_AT, H_PROOF, H_PROOF_REQUIRED, H_WORK};
use crate::blocking::blocking;
use crate::body::{stream_to_file, TempGuard};
use crate::error::ApiError;
use crate::extract::Id;
use crate::ids::{slot, BlobId, DeleteToken, Proof};
use crate::options::{number, Options};
use crate::record::BlobRecord;
use crate::store::Claim;
use crate::AppState;
use veil_core::protocol::BLOBS;

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
    let (file_name, tmp) = st.store.new_temp()?;
    // Removes the partial file if this future is dropped (client gone);
    // failures below remove it before answering.
    let mut guard = TempGuard::new(tmp.clone());
    let received = receive(&st, &tmp, body).await;
    guard.disarm();
    let size = match received {
        Ok(size) => size,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    let record = BlobRecord {
        size,
        expires_at: st.clock.now().saturating_add(opts.expires_in),
        max_downloads: opts.max_downloads,
        downloads: 0,
        delete_hash: token.hash(),
        proof_hash: opts.proof_hash,
        file: file_name,
    };
    let slot = slot(&id);
    blocking(&st.store, move |s| s.commit(&slot, &tmp, &record)).await?;
    created(&id, &token, record.expires_at)
}

/// Streams a one-request upload's body into `tmp` and makes it durable.
async fn receive(st: &AppState, tmp: &std::path::Path, body: Body) -> Result<u64, ApiError> {
    let mut file = tokio::fs::File::create(tmp).await?;
    let received = stream_to_file(body, &mut file, 0, st.settings.max_blob_size, None).await?;
    received.outcome?;
    file.sync_all().await?;
    Ok(received.written)
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
    let rec = blocking(&st.store, move |s| s.peek(&slot, now))
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut resp = StatusCode::OK.into_response();
    blob_headers(&mut resp, &rec);
    Ok(resp)
}

/// `GET /api/v1/blobs/{id}`: checks the proof (and, after wrong proofs,
/// the work bound to it), claims one download, then streams it.
pub async fn download(
    State(st): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let slot = slot(&id);
    // A malformed proof is simply a wrong one.
    let proof_text = headers
        .get(H_PROOF)
        .and_then(|v| v.to_str().ok())
        .filter(|p| Proof::parse(p).is_some());
    // A request without a proof guesses nothing: it is neither gated nor
    // counted (a blob that needs a proof just answers 403). A request with
    // one is checked one at a time per blob, from reading the count to
    // recording the outcome (see throttle::GATES); the transfer runs
    // outside the gate.
    let gate = match proof_text {
        Some(_) => Some(st.throttle.gate(&slot).await),
        None => None,
    };
    let bits = match gate {
        Some(_) => st.throttle.required_bits(&slot, Instant::now()),
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
    let proof = proof_text.and_then(Proof::parse).map(|p| p.hash());
    let now = st.clock.now();
    let served = blocking(&st.store, move |s| {
        Ok(match s.claim(&slot, now, proof)? {
            // Small blobs are read in the same trip to the blocking pool:
            // one hop per request instead of three (a 1 KiB GET is mostly
            // overhead).
            Claim::Granted {
                record, mut file, ..
            } if record.size <= SMALL_BLOB => {
                let mut bytes = Vec::with_capacity(usize::try_from(record.size).unwrap_or(0));
                std::io::Read::read_to_end(&mut file, &mut bytes)?;
                Served::Whole(record, bytes)
            }
            other => Served::Streamed(other),
        })
    })
    .await?;
    let (record, body) = match served {
        Served::Whole(record, bytes) => (record, Body::from(bytes)),
        Served::Streamed(Claim::Gone) => return Err(ApiError::NotFound),
        Served::Streamed(Claim::WrongProof) => {
            if gate.is_some() {
                st.throttle.failed(&slot, Instant::now());
            }
            return Err(ApiError::WrongProof);
        }
        Served::Streamed(Claim::Granted {
            record,
            file,
            reading,
        }) => {
            let file = tokio::fs::File::from_std(file);
            let stream = tokio_util::io::ReaderStream::with_capacity(file, DOWNLOAD_CHUNK).map(
                move |chunk| {
                    let _keep = &reading; // dropped with the body: then the file may be erased
                    chunk
                },
            );
            (record, Body::from_stream(stream))
        }
    };
    st.throttle.succeeded(&slot);
    drop(gate);
    let mut resp = body.into_response();
    blob_headers(&mut resp, &record);
    Ok(resp)
}

/// Bytes read from disk per chunk of a streamed download: a trade between
/// single-stream speed and the memory of many downloads at once. Measured
/// on the 2-core test machine (1 GiB loopback GET, five runs; peak RSS of
/// 64 concurrent 100 MiB downloads after 64 uploads, `bench/server.sh`):
/// 128 KiB 0.77–0.88 s, 59.9 MB; 192 KiB 0.67–0.82 s, 59.4 MB; 256 KiB
/// 0.54–0.64 s, 63.2–66.9 MB (over the 64 MiB goal in one run of three).
const DOWNLOAD_CHUNK: usize = 192 * 1024;

/// Blobs up to this size are read into memory in one go (see [`download`]);
/// at the connection cap that bounds such buffers to 64 MiB.
const SMALL_BLOB: u64 = 64 * 1024;

/// A claim, with a small blob already read.
enum Served {
    Whole(BlobRecord, Vec<u8>),
    Streamed(Claim),
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
    if blocking(&st.store, move |s| s.delete(&slot, hash)).await? {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // Perhaps still an upload (or one that became a blob a moment ago:
    // discard looks again).
    super::uploads::discard(&st, id, hash).await
}
