//! HTTPS without a reverse proxy: rustls (ring provider), optionally TLS
//! 1.3 only; HSTS is added by the headers layer whenever TLS is on. The
//! TLS handshake runs on top of the same connection guard as plain HTTP.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use super::{conn, Serving};
use crate::config::TlsFiles;
use crate::{routes, AppState};

/// Serves HTTPS on `listener` until `shutdown`, then drains like [`super::run`].
pub(super) async fn serve(
    listener: std::net::TcpListener,
    files: &TlsFiles,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if files.tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let certs = certs(&files.cert)?;
    let key = key(&files.key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unsupported")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let limits = state.settings.conn;
    let serving = Serving::start(&state, shutdown);
    let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(Arc::new(config)))
        .handshake_timeout(limits.header_timeout)
        .acceptor(conn::Guard::new(limits));
    let server = serving.configure(axum_server::from_tcp(listener).acceptor(acceptor), limits);
    let per_client = state.limits.per_client();
    let app = routes::app(state);
    // See `run`: the address only with per-client limits on.
    let served = if per_client {
        server
            .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .await
    } else {
        server.serve(app.into_make_service()).await
    };
    serving.finish().await;
    served?;
    Ok(())
}

fn certs(path: &Path) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", path.display()))
}

fn key(path: &Path) -> anyhow::Result<rustls::pki_types::PrivateKeyDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("{} is not a PEM private key", path.display()))
}
