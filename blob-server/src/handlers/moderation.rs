//! Reports, the transparency counters and the operator's API:
//!
//! - `POST /api/v1/reports`: anyone reports a link (a category, bounded
//!   text, optionally the key sealed to the operator); nothing about the
//!   reporter is read or kept;
//! - `GET /api/v1/transparency`: the public counters;
//! - `/api/v1/admin/…`: behind the admin token (compared as SHA-256 hashes,
//!   in constant time), the operator's reports, reviews, removals and
//!   decisions. Absent unless `--admin-token-file` is set.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use veil_core::report::{decode_sealed, text_is_valid, Category};

use crate::error::ApiError;
use crate::extract::Id;
use crate::ids::{slot, BlobId, DeleteToken};
use crate::moderation::{Counter, Decided, Report, ReportId, ReportState, MAX_REASON};
use crate::AppState;

/// Largest report body: the text, the sealed key in base64url, the rest.
pub const MAX_REPORT_BODY: usize = 4096;
/// Open reports kept at most; past it new ones are refused (`503`) until
/// the operator decides some.
pub const MAX_OPEN_REPORTS: u64 = 10_000;
/// Reports kept per blob: past it, the operator has been told (`429`).
pub const MAX_REPORTS_PER_BLOB: u64 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReport {
    id: String,
    category: String,
    #[serde(default)]
    text: String,
    key: Option<String>,
}

/// `POST /api/v1/reports`.
pub async fn report(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if body.len() > MAX_REPORT_BODY {
        return Err(ApiError::TooLarge);
    }
    // With upload work on, a report costs the same work as an upload.
    st.limits.require_work(
        super::blobs::work_header(&headers),
        std::time::Instant::now(),
        st.clock.now(),
    )?;
    let r: NewReport = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("a report is a JSON object: id, category, text, key"))?;
    let id = BlobId::parse(&r.id).ok_or(ApiError::BadRequest("id is not a link's id"))?;
    let category = Category::parse(&r.category).ok_or(ApiError::BadRequest("unknown category"))?;
    if !text_is_valid(&r.text) {
        return Err(ApiError::BadRequest(
            "text: at most 1000 bytes, no control characters",
        ));
    }
    if let Some(k) = &r.key {
        if st.settings.report_key.is_none() {
            return Err(ApiError::BadRequest(
                "this server has no report key: send the report without one",
            ));
        }
        if decode_sealed(k).is_none() {
            return Err(ApiError::BadRequest("key is not a sealed report key"));
        }
    }
    let slot = slot(&id);
    let now = st.clock.now();
    if st.engine.peek(slot, now).await?.is_none() {
        return Err(match st.engine.removal(slot).await? {
            Some(_) => ApiError::Removed,
            None => ApiError::NotFound,
        });
    }
    // Open reports, from the counters (each report is decided once).
    let c = st.engine.counters(now).await?;
    let open = c
        .get(Counter::ReportsReceived)
        .saturating_sub(c.get(Counter::ReportsActioned))
        .saturating_sub(c.get(Counter::ReportsDismissed));
    if open >= MAX_OPEN_REPORTS {
        return Err(ApiError::Busy);
    }
    if st.engine.reports_on(slot).await? >= MAX_REPORTS_PER_BLOB {
        return Err(ApiError::ReportedEnough);
    }
    let rid = ReportId::generate()?;
    let report = Report::new(rid, &slot, category, r.text, r.key, now);
    st.engine.add_report(rid, report).await?;
    let mut resp = (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "received": true })),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// What the service holds, said with the counters.
pub const HOLDS: &str = "This server stores encrypted blobs it cannot read, each with its size, \
expiry, download count and the hashes of its deletion token and download proof. It keeps no \
addresses, no names, no keys, no accounts and no cookies. Reports keep their category, text and \
day; a key included by a reporter is sealed to the operator's key and opens only offline.";

/// `GET /api/v1/transparency`.
pub async fn transparency(State(st): State<AppState>) -> Result<Response, ApiError> {
    let held = st
        .published
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .filter(|(at, _)| at.elapsed() < st.settings.transparency_every)
        .map(|(_, v)| v.clone());
    let body = match held {
        Some(v) => v,
        None => {
            let v = read_counters(&st).await?;
            *st.published
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some((std::time::Instant::now(), v.clone()));
            v
        }
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The counters and what is stored, as published.
async fn read_counters(st: &AppState) -> Result<serde_json::Value, ApiError> {
    let now = st.clock.now();
    let c = st.engine.counters(now).await?;
    let usage = st.engine.usage(now).await?;
    Ok(serde_json::json!({
        "since": c.get(Counter::Since),
        "stored": { "blobs": usage.blobs, "bytes": usage.bytes },
        "uploads": c.get(Counter::Uploads),
        "downloads": c.get(Counter::Downloads),
        "deletions": {
            "by_owner": c.get(Counter::DeletedByOwner),
            "by_expiry": c.get(Counter::Expired),
            "by_burn": c.get(Counter::Burned),
            "by_operator": c.get(Counter::RemovedByOperator),
        },
        "reports": {
            "received": c.get(Counter::ReportsReceived),
            "actioned": c.get(Counter::ReportsActioned),
            "dismissed": c.get(Counter::ReportsDismissed),
        },
                "legal_requests": c.get(Counter::LegalRequests),
        "holds": HOLDS,
        "as_of": now,
        "every": st.settings.transparency_every.as_secs(),
    }))
}

/// The admin token check: `401` unless `Authorization: Bearer <token>`
/// hashes to the configured one.
fn authorized(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let want = st.settings.admin_token.ok_or(ApiError::NotFound)?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, t)| DeleteToken::parse(t.trim()))
        .map(|t| t.hash());
    // Digest32 compares in constant time.
    match given {
        Some(h) if h == want => Ok(()),
        _ => Err(ApiError::Unauthorized),
    }
}

/// `GET /api/v1/admin/reports`: every report and the removal list.
pub async fn admin_reports(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorized(&st, &headers)?;
    let reports = st.engine.reports().await?;
    let removals = st.engine.removals().await?;
    let mut resp =
        Json(serde_json::json!({ "reports": reports, "removals": removals })).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /api/v1/admin/blobs/{id}`: a *reported* blob's ciphertext for
/// review, counting no download. Blobs nobody reported are not served.
pub async fn admin_blob(
    State(st): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<Response, ApiError> {
    authorized(&st, &headers)?;
    let slot = slot(&id);
    let reported = st
        .engine
        .reports()
        .await?
        .iter()
        .any(|r| r.slot() == Some(slot));
    if !reported {
        return Err(ApiError::NotFound);
    }
    let (rec, body) = st
        .engine
        .review(slot, st.clock.now())
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(rec.size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

fn reason(body: &Bytes) -> Result<String, ApiError> {
    let r: Reason = serde_json::from_slice(body)
        .map_err(|_| ApiError::BadRequest("the body is {\"reason\": \"…\"}"))?;
    if r.reason.trim().is_empty() || r.reason.len() > MAX_REASON || !text_is_valid(&r.reason) {
        return Err(ApiError::BadRequest(
            "reason: say why, in at most 500 bytes, without control characters but line breaks",
        ));
    }
    Ok(r.reason)
}

fn decided(d: Decided) -> Result<Response, ApiError> {
    match d {
        Decided::Done => Ok(StatusCode::NO_CONTENT.into_response()),
        Decided::Unknown => Err(ApiError::NotFound),
        Decided::AlreadyDecided => Err(ApiError::Conflict),
    }
}

/// `POST /api/v1/admin/reports/{report}/dismiss` with `{"reason": …}`.
pub async fn admin_dismiss(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(report): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorized(&st, &headers)?;
    let id = ReportId::parse(&report).ok_or(ApiError::NotFound)?;
    let why = reason(&body)?;
    decided(st.engine.dismiss(id, why, st.clock.now()).await?)
}

/// `POST /api/v1/admin/reports/{report}/remove` with `{"reason": …}`:
/// removes the blob the report names (its id is not needed).
pub async fn admin_remove_reported(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(report): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorized(&st, &headers)?;
    let id = ReportId::parse(&report).ok_or(ApiError::NotFound)?;
    let why = reason(&body)?;
    let rid = id.to_string();
    let r = st
        .engine
        .reports()
        .await?
        .into_iter()
        .find(|r| r.id == rid)
        .ok_or(ApiError::NotFound)?;
    if r.state != ReportState::Open {
        return Err(ApiError::Conflict);
    }
    let slot = r
        .slot()
        .ok_or(ApiError::Internal("a report's slot is corrupt".into()))?;
    st.engine
        .remove_by_operator(slot, why, st.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/blobs/{id}/remove` with `{"reason": …}`: removes
/// any blob or unfinished upload (reported or not); `404`, and nothing
/// listed, if none was there.
pub async fn admin_remove(
    State(st): State<AppState>,
    headers: HeaderMap,
    Id(id): Id,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorized(&st, &headers)?;
    let why = reason(&body)?;
    if st
        .engine
        .remove_by_operator(slot(&id), why, st.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    count: u64,
}

/// `PUT /api/v1/admin/legal-requests` with `{"count": n}`.
pub async fn admin_legal(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorized(&st, &headers)?;
    let c: Count = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("the body is {\"count\": n}"))?;
    st.engine.set_legal_requests(c.count).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
