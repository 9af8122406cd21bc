//! The routes: which path and method reach which handler, and the layers
//! every response passes (trace spans from the matched route only,
//! security headers).

use axum::extract::DefaultBodyLimit;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, head, post, put};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::handlers::{blobs, moderation, service, uploads};
use crate::{headers, AppState};
use veil_core::protocol::{
    ADMIN, BLOBS, CONFIG, DELETE_PREFIX, LOOK_SUFFIX, REPORTS, SHARE_PREFIX, TRANSPARENCY, UPLOADS,
};

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let web = state.settings.static_dir.clone();
    // A path that is no page or asset answers 404 with a page that says so
    // (and links home), not the upload page with 200.
    let pages = ServeDir::new(&web).not_found_service(ServeFile::new(web.join("404.html")));
    let api = Router::new()
        .route(BLOBS, post(blobs::create))
        .route(
            &format!("{BLOBS}/{{id}}"),
            get(blobs::download).head(blobs::head).delete(blobs::delete),
        )
        .route(&format!("{BLOBS}/{{id}}{LOOK_SUFFIX}"), get(blobs::look))
        .route(UPLOADS, post(uploads::create).options(uploads::options))
        .route(
            &format!("{UPLOADS}/{{id}}"),
            head(uploads::head)
                .patch(uploads::patch)
                .delete(uploads::terminate),
        )
        .route(
            REPORTS,
            post(moderation::report).layer(DefaultBodyLimit::max(moderation::MAX_REPORT_BODY)),
        )
        .route(TRANSPARENCY, get(moderation::transparency))
        .route(&format!("{ADMIN}/reports"), get(moderation::admin_reports))
        .route(
            &format!("{ADMIN}/reports/{{report}}/dismiss"),
            post(moderation::admin_dismiss),
        )
        .route(
            &format!("{ADMIN}/reports/{{report}}/remove"),
            post(moderation::admin_remove_reported),
        )
        .route(
            &format!("{ADMIN}/blobs/{{id}}"),
            get(moderation::admin_blob),
        )
        .route(
            &format!("{ADMIN}/blobs/{{id}}/remove"),
            post(moderation::admin_remove),
        )
        .route(
            &format!("{ADMIN}/legal-requests"),
            put(moderation::admin_legal),
        )
        .route(CONFIG, get(service::config))
        .route("/healthz", get(service::healthz))
        .route("/api", any(service::not_found))
        .route("/api/", any(service::not_found))
        .route("/api/{*rest}", any(service::not_found))
        .method_not_allowed_fallback(service::method_not_allowed);
    api.route_service(
        &format!("{SHARE_PREFIX}{{id}}"),
        ServeFile::new(web.join("download.html")),
    )
    .route_service(
        &format!("{DELETE_PREFIX}{{id}}"),
        ServeFile::new(web.join("delete.html")),
    )
    .route_service(
        "/transparency",
        ServeFile::new(web.join("transparency.html")),
    )
    .route_service("/how-it-works", ServeFile::new(web.join("how.html")))
    .fallback_service(pages)
    .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
        // The matched route only: never the URI, query or headers.
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("static", MatchedPath::as_str);
        tracing::info_span!("http", method = %req.method(), route)
    }))
    .layer(axum::middleware::from_fn(path_targets_only))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        headers::security_headers,
    ))
    .with_state(state)
}

/// A request target whose path does not start with `/` (`GET healthz`,
/// `OPTIONS *`) names nothing here; the static-file service would fail on
/// it with a 500, so it is refused first.
async fn path_targets_only(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with('/') {
        next.run(req).await
    } else {
        ApiError::BadRequest("the request target must be a path").into_response()
    }
}
