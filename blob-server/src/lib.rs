//! Veil's blob server: a deliberately dumb, zero-knowledge store of
//! ciphertext. It keeps, per blob, a size, an expiry, a download counter and
//! limit, the SHA-256 of a deletion token and of an optional download proof;
//! never a name, a type, an address, a cookie or a key.
//!
//! # Layout
//! - [`config`]: flags and `VEIL_*` variables, validated into [`config::Settings`];
//! - [`ids`]: random ids and tokens, hashes, constant-time comparison;
//! - [`record`]: the fixed binary layout of sled records and the expiry index;
//! - [`store`]: files + sled, crash-safe commit, atomic download claims, sweeping;
//! - [`readers`]: downloads in progress, so erasure waits for them;
//! - [`api`]: `/api/v1/blobs`, `/api/v1/config`, `/healthz`;
//! - [`tus`]: resumable uploads (tus 1.0) under `/api/v1/uploads`;
//! - [`throttle`]: per-blob slow-down of wrong download proofs;
//! - [`headers`]: CSP and the other security headers, no cookies;
//! - [`error`]: the one mapping from failures to fixed public messages;
//! - [`clock`]: wall-clock time, replaceable in tests;
//! - [`tls`]: HTTPS with rustls.
//!
//! Privacy by construction: no handler reads the peer address (there is no
//! `ConnectInfo` anywhere), forwarding headers are ignored, and trace spans
//! carry only the method and the *matched route* (`/api/v1/blobs/{id}`),
//! never the URI, query, headers or ids.

pub mod api;
pub mod clock;
pub mod config;
pub mod error;
pub mod headers;
pub mod ids;
pub mod readers;
pub mod record;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod tus;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Files and records.
    pub store: Arc<store::Store>,
    /// Validated configuration.
    pub settings: Arc<config::Settings>,
    /// Wrong-proof slow-down, per blob.
    pub throttle: Arc<throttle::Throttle>,
    /// tus uploads with a PATCH in flight.
    pub in_flight: Arc<tus::InFlight>,
    /// "Now", in Unix seconds.
    pub clock: clock::Clock,
}

impl AppState {
    /// State over an opened store.
    #[must_use]
    pub fn new(store: store::Store, settings: config::Settings, clock: clock::Clock) -> Self {
        Self {
            store: Arc::new(store),
            settings: Arc::new(settings),
            throttle: Arc::default(),
            in_flight: Arc::default(),
            clock,
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let web = state.settings.static_dir.clone();
    let pages = ServeDir::new(&web).fallback(ServeFile::new(web.join("index.html")));
    Router::new()
        .route("/api/v1/blobs", post(api::create))
        .route(
            "/api/v1/blobs/{id}",
            get(api::download).head(api::head).delete(api::delete),
        )
        .route("/api/v1/uploads", post(tus::create).options(tus::options))
        .route(
            "/api/v1/uploads/{id}",
            axum::routing::head(tus::head)
                .patch(tus::patch)
                .delete(tus::terminate),
        )
        .route("/api/v1/config", get(api::config))
        .route("/healthz", get(api::healthz))
        .route("/api/{*rest}", axum::routing::any(api::not_found))
        .route_service("/d/{id}", ServeFile::new(web.join("download.html")))
        .route_service("/x/{id}", ServeFile::new(web.join("delete.html")))
        .fallback_service(pages)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The matched route only: never the URI, query or headers.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("static", MatchedPath::as_str);
            tracing::info_span!("http", method = %req.method(), route)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .with_state(state)
}

/// Deletes expired blobs and stale uploads every `sweep_interval` until
/// `stop` fires. Reads check expiry themselves; this only reclaims space.
pub async fn sweeper(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.settings.sweep_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let (store, now) = (state.store.clone(), state.clock.now());
        match tokio::task::spawn_blocking(move || store.sweep(now)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(removed = n, "sweep"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "sweep failed"),
            Err(e) => tracing::error!(error = %e, "sweep task failed"),
        }
        state.throttle.prune(Instant::now());
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish for up to `shutdown_grace`, stops the sweeper
/// and flushes the store.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let serving = Serving::start(&state, shutdown);
    let server = serving.configure(axum_server::from_tcp(listener.into_std()?));
    let served = server.serve(app(state.clone()).into_make_service()).await;
    serving.finish().await;
    served
}

/// hyper's per-connection buffer cap. Its default (about 400 KiB) filled up
/// on every connection under load: 64 concurrent 100 MiB uploads peaked at
/// 112–124 MB of RSS, 60 MB with this cap (`bench/server.sh`).
const CONNECTION_BUFFER: usize = 64 * 1024;

/// What serving plain HTTP ([`run`]) and HTTPS ([`tls::serve`]) share: the
/// sweeper, graceful shutdown with a grace period, hyper's buffer cap, and a
/// final flush of the store.
pub(crate) struct Serving {
    handle: axum_server::Handle,
    sweeper: tokio::task::JoinHandle<()>,
    store: Arc<store::Store>,
}

impl Serving {
    /// Starts the sweeper; `shutdown` begins the graceful shutdown.
    pub(crate) fn start(
        state: &AppState,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let sweeper = tokio::spawn(sweeper(state.clone(), stop_rx));
        let grace = state.settings.shutdown_grace;
        let handle = axum_server::Handle::new();
        let stopping = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
            stopping.graceful_shutdown(Some(grace));
        });
        Self {
            handle,
            sweeper,
            store: state.store.clone(),
        }
    }

    /// Attaches the shutdown handle and caps hyper's buffers.
    pub(crate) fn configure<A>(&self, server: axum_server::Server<A>) -> axum_server::Server<A> {
        let mut server = server.handle(self.handle.clone());
        server
            .http_builder()
            .http1()
            .max_buf_size(CONNECTION_BUFFER);
        server
    }

    /// Waits for the sweeper to stop, then flushes the store.
    pub(crate) async fn finish(self) {
        let _ = self.sweeper.await;
        let store = self.store;
        let _ = tokio::task::spawn_blocking(move || store.flush()).await;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
