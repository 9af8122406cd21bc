//! Serving: plain HTTP or HTTPS on a listener, every connection through
//! [`conn::Guard`] (no-delay, connection cap, stall and rate limits),
//! hyper's header timeout and buffer cap, the sweeper, and graceful
//! shutdown with a grace period and a final flush of the store.

pub mod conn;
mod tls;

use std::future::Future;
use std::time::Instant;

use anyhow::Context as _;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;

use crate::config::ConnLimits;
use crate::engine::Engine;
use crate::{routes, AppState};

/// hyper's per-connection buffer cap. Its default (about 400 KiB) filled up
/// on every connection under load: 64 concurrent 100 MiB uploads peaked at
/// 112–124 MB of RSS, 60 MB with this cap (`bench/server.sh`).
const CONNECTION_BUFFER: usize = 64 * 1024;

/// HTTP/2 streams per connection: each may hold a file open, so a single
/// connection must not be able to open hundreds.
const MAX_STREAMS: u32 = 16;

/// Binds `settings.bind` and serves plain HTTP or, with TLS files in the
/// settings, HTTPS, until `shutdown`; prints the URL once listening.
pub async fn serve(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let settings = state.settings.clone();
    let listener = std::net::TcpListener::bind(settings.bind)
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    listener.set_nonblocking(true)?;
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("Veil is serving {scheme}://{}", listener.local_addr()?);
    match &settings.tls {
        Some(files) => tls::serve(listener, files, state, shutdown).await,
        None => Ok(run(TcpListener::from_std(listener)?, state, shutdown).await?),
    }
}

/// Serves plain HTTP on `listener` until `shutdown` completes, then lets
/// in-flight requests finish for up to the grace period, stops the sweeper
/// and flushes the store.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let serving = Serving::start(&state, shutdown);
    let server = serving.configure(
        axum_server::from_tcp(listener.into_std()?).acceptor(conn::Guard::new(state.settings.conn)),
        state.settings.conn,
    );
    let app = routes::app(state.clone());
    // The connection's address reaches handlers only with per-client
    // limits on (and is turned into an HMAC there at once).
    let served = if state.limits.per_client() {
        server
            .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .await
    } else {
        server.serve(app.into_make_service()).await
    };
    serving.finish().await;
    served
}

/// Deletes expired blobs and stale uploads every `sweep_interval` until
/// `stop` fires. Reads check expiry themselves; this only reclaims space.
async fn sweeper(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.settings.sweep_interval);
    // A sweep that waited on a slow store is not followed by a burst of
    // the ticks it missed.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = state.clock.now();
        // The quota's figure, from the records (the first tick is at once).
        if std::mem::take(&mut first) {
            // The public counters begin on the first start (written once).
            if let Err(e) = state.engine.counters(now).await {
                tracing::warn!(error = %e, "reading the counters failed");
            }
        }
        let mark = state.limits.resync_start();
        match state.engine.usage(now).await {
            Ok(usage) => state.limits.resync(mark, usage),
            Err(e) => {
                tracing::warn!(error = %e, "reading the stored total failed; the quota keeps its running figure")
            }
        }
        state.limits.prune(now);
        match state.engine.sweep(now).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "sweep"),
            Ok(_) => {}
            // The store being away is logged where it is noticed (warn).
            Err(crate::error::ApiError::Unavailable) => {}
            Err(e) => tracing::error!(error = %e, "sweep failed"),
        }
        state.throttle.prune(Instant::now());
    }
}

/// What serving plain HTTP and HTTPS share.
struct Serving {
    handle: axum_server::Handle,
    sweeper: tokio::task::JoinHandle<()>,
    engine: Engine,
}

impl Serving {
    /// Starts the sweeper; `shutdown` begins the graceful shutdown.
    fn start(state: &AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> Self {
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
            engine: state.engine.clone(),
        }
    }

    /// Attaches the shutdown handle, the header timeout and the buffer and
    /// stream caps.
    fn configure<A>(
        &self,
        server: axum_server::Server<A>,
        limits: ConnLimits,
    ) -> axum_server::Server<A> {
        let mut server = server.handle(self.handle.clone());
        let builder = server.http_builder();
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(CONNECTION_BUFFER);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS);
        server
    }

    /// Waits for the sweeper to stop, then compacts and flushes the store.
    async fn finish(self) {
        let _ = self.sweeper.await;
        if let Err(e) = self.engine.flush().await {
            tracing::error!(error = %e, "final flush failed");
        }
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
