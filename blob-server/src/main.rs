//! `blob-server`: parse the configuration, set up logging, open the store,
//! serve until SIGINT/SIGTERM. Everything else is in the library.

use anyhow::Context;
use blob_server::{clock::Clock, config, run, shutdown_signal, store::Store, AppState};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = config::Args::parse();
    let settings = config::Settings::from_args(&args).map_err(anyhow::Error::msg)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VEIL_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let dir = args.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await?
        .with_context(|| format!("cannot open the data directory {}", args.data_dir.display()))?;
    let state = AppState::new(store, settings, Clock::default());
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let listener = std::net::TcpListener::bind(args.bind)
                .with_context(|| format!("cannot listen on {}", args.bind))?;
            blob_server::tls::serve(
                listener,
                cert,
                key,
                args.tls13_only,
                state,
                shutdown_signal(),
            )
            .await?
        }
        _ => {
            let listener = tokio::net::TcpListener::bind(args.bind)
                .await
                .with_context(|| format!("cannot listen on {}", args.bind))?;
            println!("Veil is serving http://{}", listener.local_addr()?);
            run(listener, state, shutdown_signal()).await?;
        }
    }
    Ok(())
}
