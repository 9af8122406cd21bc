//! `blob-server`: parse the configuration, set up logging, open the store,
//! serve until SIGINT/SIGTERM. Everything else is in the library.

use anyhow::Context;
use blob_server::engine::Engine;
use blob_server::shared::Shared;
use blob_server::{clock::Clock, config, serve, shutdown_signal, store::Store, AppState};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let mut args = config::Args::parse();
    if let Some(blob_server::admin::Command::Admin(admin)) = args.command.take() {
        return blob_server::admin::run(admin);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve_main(&args))
}

async fn serve_main(args: &config::Args) -> anyhow::Result<()> {
    let settings = config::Settings::from_args(args).map_err(anyhow::Error::msg)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VEIL_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    raise_descriptor_limit(&settings);
    let engine = open_engine(&settings).await?;
    let work_key = engine
        .work_key()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the upload work key: {e}"))?;
    let state = AppState::new(engine, settings, Clock::default()).with_work_key(work_key);
    serve(state, shutdown_signal()).await
}

/// Opens the configured engine: sled and files in the data directory, or
/// PostgreSQL and an object store.
async fn open_engine(settings: &config::Settings) -> anyhow::Result<Engine> {
    match &settings.engine {
        config::EngineSettings::Local => {
            let dir = settings.data_dir.clone();
            let store = tokio::task::spawn_blocking(move || Store::open(&dir))
                .await?
                .with_context(|| {
                    format!(
                        "cannot open the data directory {}",
                        settings.data_dir.display()
                    )
                })?;
            Ok(store.into())
        }
        config::EngineSettings::Shared(shared) => {
            let engine = Shared::open(shared, &settings.data_dir, settings.tombstone_for())
                .await
                .context("cannot open the records (PostgreSQL) or the object store")?;
            Ok(engine.into())
        }
    }
}

/// Each connection may hold a socket and a file: ask for enough descriptors
/// (up to the hard limit) and warn if the connection cap cannot be met.
fn raise_descriptor_limit(settings: &config::Settings) {
    let want = (settings.conn.max_connections as u64)
        .saturating_mul(2)
        .saturating_add(256);
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got < want => tracing::warn!(
            descriptors = got,
            wanted = want,
            "the descriptor limit is below what --max-connections needs; busy answers (503) will come sooner"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the descriptor limit"),
    }
}
