//! HTTPS without a reverse proxy: rustls (ring provider), optionally TLS
//! 1.3 only; HSTS is added by the headers layer whenever TLS is on.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;

use crate::AppState;

/// Serves HTTPS on `listener` until `shutdown`, then drains like [`crate::run`].
pub async fn serve(
    listener: std::net::TcpListener,
    cert: &Path,
    key: &Path,
    tls13_only: bool,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let certs = rustls_pemfile_certs(cert)?;
    let key = rustls_pemfile_key(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are unsupported")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let serving = crate::Serving::start(&state, shutdown);
    listener.set_nonblocking(true)?;
    println!("Veil is serving https://{}", listener.local_addr()?);
    let server = serving.configure(axum_server::from_tcp_rustls(
        listener,
        RustlsConfig::from_config(Arc::new(config)),
    ));
    let served = server.serve(crate::app(state).into_make_service()).await;
    serving.finish().await;
    served?;
    Ok(())
}

fn rustls_pemfile_certs(
    path: &Path,
) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", path.display()))
}

fn rustls_pemfile_key(path: &Path) -> anyhow::Result<rustls::pki_types::PrivateKeyDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("{} is not a PEM private key", path.display()))
}
