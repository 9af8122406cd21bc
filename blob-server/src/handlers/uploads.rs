//! Resumable uploads: tus 1.0 core with the creation, creation-with-upload,
//! expiration and termination extensions, under `/api/v1/uploads`. The
//! upload id is the future blob id; the deletion token is handed out at
//! creation (response header `Veil-Delete-Token`), so the uploader holds
//! everything before the first byte is sent, and termination needs it.
//! Options travel in `Upload-Metadata` as `expires_in`, `max_downloads` and
//! `proof_hash`. A finished upload becomes a blob with the same guarantees
//! as a one-request upload. One PATCH at a time per upload
//! ([`crate::lanes`]).

use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use veil_core::protocol::{
    header as names, parse_upload_metadata, TUS_CONTENT_TYPE, TUS_VERSION, UPLOADS,
};

use super::{bearer, H_BLOB_ID, H_DELETE_TOKEN, H_EXPIRES_AT};
use crate::error::ApiError;
use crate::extract::{ClientAddr, Id};
use crate::ids::{slot, BlobId, DeleteToken, Digest32, FileName};
use crate::lanes::Lane;
use crate::options::Options;
use crate::record::UploadRecord;
use crate::AppState;

const EXTENSIONS: &str = "creation,creation-with-upload,expiration,termination";
const H_TUS_RESUMABLE: HeaderName = HeaderName::from_static(names::TUS_RESUMABLE);
const H_UPLOAD_OFFSET: HeaderName = HeaderName::from_static(names::UPLOAD_OFFSET);
const H_UPLOAD_LENGTH: HeaderName = HeaderName::from_static(names::UPLOAD_LENGTH);
const H_UPLOAD_EXPIRES: HeaderName = HeaderName::from_static(names::UPLOAD_EXPIRES);
const H_UPLOAD_METADATA: HeaderName = HeaderName::from_static(names::UPLOAD_METADATA);

fn tus_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(H_TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn with_tus(mut resp: Response) -> Response {
    tus_headers(&mut resp);
    resp
}

/// Every tus answer, success or failure, carries `Tus-Resumable`.
fn tus(result: Result<Response, ApiError>) -> Response {
    with_tus(result.unwrap_or_else(IntoResponse::into_response))
}

fn check_version(h: &HeaderMap) -> Result<(), ApiError> {
    match h.get(H_TUS_RESUMABLE).and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(ApiError::TusVersion),
    }
}

fn is_offset_stream(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) == Some(TUS_CONTENT_TYPE)
}

/// A decimal tus header (`Upload-Length`, `Upload-Offset`), if present.
fn number(h: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, ApiError> {
    h.get(name)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(crate::options::number)
                .ok_or(ApiError::BadRequest("invalid number in a tus header"))
        })
        .transpose()
}

/// Parses `Upload-Metadata` (`key base64,key base64`) into Veil's options.
fn metadata_options(h: &HeaderMap, s: &crate::config::Settings) -> Result<Options, ApiError> {
    let raw = match h.get(H_UPLOAD_METADATA) {
        None => "",
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::BadRequest("invalid Upload-Metadata"))?,
    };
    let raw =
        parse_upload_metadata(raw).map_err(|_| ApiError::BadRequest("invalid Upload-Metadata"))?;
    Options::parse(
        raw.expires_in.as_deref(),
        raw.max_downloads.as_deref(),
        raw.proof_hash.as_deref(),
        s,
    )
}

fn expires_header(resp: &mut Response, unix: u64) {
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix));
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(H_UPLOAD_EXPIRES, v);
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

/// `POST /api/v1/uploads`: creates an upload (`Upload-Length` required),
/// with its first bytes if the body carries them.
pub async fn create(
    State(st): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus(create_inner(st, client, headers, body).await)
}

async fn create_inner(
    st: AppState,
    client: Option<std::net::IpAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    let length = number(&headers, &H_UPLOAD_LENGTH)?
        .ok_or(ApiError::BadRequest("Upload-Length is required"))?;
    if length > st.settings.max_blob_size {
        return Err(ApiError::TooLarge);
    }
    let opts = metadata_options(&headers, &st.settings)?;
    let reservation = st.limits.admit(
        length,
        super::blobs::work_header(&headers),
        client,
        std::time::Instant::now(),
        st.clock.now(),
    )?;
    let id = BlobId::generate()?;
    let token = DeleteToken::generate()?;
    let now = st.clock.now();
    let rec = UploadRecord {
        length,
        offset: 0,
        upload_expires_at: 0,
        expires_in: opts.expires_in,
        max_downloads: opts.max_downloads,
        delete_hash: token.hash(),
        proof_hash: opts.proof_hash,
        file: FileName::generate()?,
    };
    let slot = slot(&id);
    let mut rec = st
        .engine
        .create_upload(slot, rec, st.settings.upload_expiry, now)
        .await?;
    // Recorded: from now on the upload's record holds its length.
    reservation.recorded(length);
    // creation-with-upload: a body may already carry the first bytes.
    let has_body = is_offset_stream(&headers);
    let mut done = None;
    if has_body || length == 0 {
        let lane = st.lanes.try_take(id).ok_or(ApiError::Conflict)?;
        let body = has_body.then_some(body);
        // In its own task, cleanup included: it runs to the end even if
        // the client goes away and this request is dropped.
        let st2 = st.clone();
        let (r, d) = run_to_end(async move {
            match append(&st2, &id, rec, body, &lane).await {
                Ok(done) => Ok(done),
                Err(e) => {
                    // The client never learns this upload's address: keep nothing.
                    st2.engine.delete_upload(slot, None).await?;
                    Err(e)
                }
            }
        })
        .await?;
        (rec, done) = (r, d);
    }
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("{UPLOADS}/{id}"))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(H_UPLOAD_OFFSET, HeaderValue::from(rec.offset));
    h.insert(
        H_BLOB_ID,
        HeaderValue::from_str(&id.to_string()).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    h.insert(
        H_DELETE_TOKEN,
        HeaderValue::from_str(&token.encode()).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    if let Some(expires_at) = done {
        h.insert(H_EXPIRES_AT, HeaderValue::from(expires_at));
    }
    expires_header(&mut resp, rec.upload_expires_at);
    Ok(resp)
}

/// Runs `work` in a task of its own and waits for it. Writing an upload
/// must not stop half way because the request was dropped (a client gone,
/// a connection cut by the stall guard): the task keeps the lane until its
/// last write is recorded or undone, so no later PATCH can see a file
/// and a record that disagree.
async fn run_to_end<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await?
}

/// Appends a PATCH body (or nothing) and finishes the upload if complete.
/// Whatever arrived before an interruption is kept (tus resumption). A
/// deletion that cancels the lane, or removed the record meanwhile, makes
/// this `404` without recording anything: the cancellation is checked
/// again before each write to the record.
async fn append(
    st: &AppState,
    id: &BlobId,
    rec: UploadRecord,
    body: Option<Body>,
    lane: &Lane,
) -> Result<(UploadRecord, Option<u64>), ApiError> {
    let slot = slot(id);
    let mut now = rec;
    let mut outcome = Ok(());
    if let Some(body) = body {
        let written = st.engine.write(slot, rec, body, lane.cancelled()).await?;
        if let Some(expires_at) = written.finished {
            return Ok((written.record, Some(expires_at)));
        }
        (now, outcome) = (written.record, written.outcome);
    }
    if now.offset < now.length {
        outcome?;
        return Ok((now, None));
    }
    // Every byte is here, even if the body then broke or ran past the
    // length: finish now, or the upload would report complete (HEAD)
    // without being a blob.
    if lane.cancelled().is_cancelled() {
        return Err(ApiError::NotFound);
    }
    match st.engine.finish(slot, now, st.clock.now()).await? {
        Some(expires_at) => Ok((now, Some(expires_at))),
        None => Err(ApiError::NotFound),
    }
}

/// `HEAD /api/v1/uploads/{id}`: the current offset.
pub async fn head(
    State(st): State<AppState>,
    id: Result<Id, ApiError>,
    headers: HeaderMap,
) -> Response {
    match head_inner(st, id, headers).await {
        Ok(r) => with_tus(r),
        // HEAD answers carry no body; the status says it all.
        Err(e) => with_tus(e.into_response().status().into_response()),
    }
}

async fn head_inner(
    st: AppState,
    id: Result<Id, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    let Id(id) = id?;
    let (slot, now) = (slot(&id), st.clock.now());
    let found = match st.engine.upload(slot, now).await? {
        Some(u) => Some((u.offset, u.length, Some(u.upload_expires_at))),
        // Finished: report it complete so a resuming client stops.
        None => st
            .engine
            .peek(slot, now)
            .await?
            .map(|b| (b.size, b.size, None)),
    };
    let (offset, length, expires) = found.ok_or(ApiError::NotFound)?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut()
        .insert(H_UPLOAD_OFFSET, HeaderValue::from(offset));
    resp.headers_mut()
        .insert(H_UPLOAD_LENGTH, HeaderValue::from(length));
    if let Some(e) = expires {
        expires_header(&mut resp, e);
    }
    Ok(resp)
}

/// `PATCH /api/v1/uploads/{id}`: appends at `Upload-Offset`.
pub async fn patch(
    State(st): State<AppState>,
    id: Result<Id, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    tus(patch_inner(st, id, headers, body).await)
}

async fn patch_inner(
    st: AppState,
    id: Result<Id, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    if !is_offset_stream(&headers) {
        return Err(ApiError::MediaType);
    }
    let offset = number(&headers, &H_UPLOAD_OFFSET)?
        .ok_or(ApiError::BadRequest("Upload-Offset is required"))?;
    let Id(id) = id?;
    let lane = st.lanes.try_take(id).ok_or(ApiError::Conflict)?;
    let (slot, now) = (slot(&id), st.clock.now());
    let rec = st
        .engine
        .upload(slot, now)
        .await?
        .ok_or(ApiError::NotFound)?;
    if offset != rec.offset {
        return Err(ApiError::Conflict);
    }
    let st2 = st.clone();
    let (rec, done) =
        run_to_end(async move { append(&st2, &id, rec, Some(body), &lane).await }).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(H_UPLOAD_OFFSET, HeaderValue::from(rec.offset));
    match done {
        Some(expires_at) => {
            resp.headers_mut()
                .insert(H_EXPIRES_AT, HeaderValue::from(expires_at));
        }
        None => expires_header(&mut resp, rec.upload_expires_at),
    }
    Ok(resp)
}

/// `DELETE /api/v1/uploads/{id}` with `Authorization: Bearer <token>`:
/// terminates an unfinished upload, cancelling a PATCH in progress.
/// (Finished blobs are deleted at `/api/v1/blobs/{id}`.)
pub async fn terminate(
    State(st): State<AppState>,
    id: Result<Id, ApiError>,
    headers: HeaderMap,
) -> Response {
    tus(async {
        check_version(&headers)?;
        let token = bearer(&headers)?;
        let Id(id) = id?;
        discard(&st, id, token.ok_or(ApiError::NotFound)?).await
    }
    .await)
}

/// Discards the unfinished upload `id` if `token` is its deletion token:
/// cancels a running PATCH, waits for it, then erases. If the upload
/// became a blob meanwhile (its last PATCH finished first), the blob is
/// deleted instead: same token. `204` or `404`.
pub async fn discard(st: &AppState, id: BlobId, token: Digest32) -> Result<Response, ApiError> {
    let slot = slot(&id);
    let gone = || async {
        if st.engine.delete(slot, token).await? {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(ApiError::NotFound)
        }
    };
    if !st.engine.upload_token_matches(slot, token).await? {
        return gone().await;
    }
    let lane = st.lanes.take_over(id).await.ok_or(ApiError::Busy)?;
    let deleted = st.engine.delete_upload(slot, Some(token)).await?;
    drop(lane);
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        gone().await
    }
}
