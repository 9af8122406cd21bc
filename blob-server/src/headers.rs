//! Security headers on every response, and the guarantee that no response
//! ever sets a cookie. Pages get a strict CSP that allows only this origin's
//! scripts and wasm; API responses get `default-src 'none'`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

const PAGE_CSP: &str =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; frame-src 'self'; \
manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const PERMISSIONS: &str =
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), \
gyroscope=(), microphone=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()";

/// Adds the headers; strips any `Set-Cookie` defensively.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || req.uri().path() == "/healthz";
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.remove(header::SET_COOKIE);
    let csp = if is_api { API_CSP } else { PAGE_CSP };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS),
    );
    if state.settings.tls.is_some() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    if !is_api {
        if let Some(v) = state
            .settings
            .onion_location
            .as_deref()
            .and_then(|o| HeaderValue::from_str(o).ok())
        {
            h.insert(HeaderName::from_static("onion-location"), v);
        }
    }
    resp
}
