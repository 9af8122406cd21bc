//! Veil's blob server: a deliberately dumb, zero-knowledge store of
//! ciphertext. It keeps, per blob, a size, an expiry, a download counter and
//! limit, the SHA-256 of a deletion token and of an optional download proof;
//! never a name, a type, an address, a cookie or a key.
//!
//! # Layout
//! - [`config`]: flags and `VEIL_*` variables, validated into [`config::Settings`];
//! - [`serve`]: listening (plain or TLS), per-connection limits and
//!   timeouts ([`serve::conn`]), the sweeper, graceful shutdown;
//! - [`routes`]: which path and method reach which handler; the layers;
//! - [`handlers`]: `blobs`, `uploads` (tus 1.0), `service` (config, healthz);
//! - [`extract`]: the `{id}` path segment, parsed once;
//! - [`options`]: retention options (expiry, download limit, proof verifier);
//! - [`body`]: request bodies streamed to files;
//! - [`lanes`]: one PATCH at a time per upload; deletion wins over a PATCH;
//! - [`throttle`]: proof of work after wrong download proofs, per blob;
//! - [`limits`]: upload limits without addresses (rates, quota, upload work;
//!   optionally per client under an hourly HMAC key);
//! - [`moderation`]: reports, the removal list, the public counters;
//! - [`admin`]: `blob-server admin …`, the operator's tools;
//! - [`engine`]: the one face of the two storage engines below;
//! - [`store`]: files + sled (one instance), crash-safe commit, atomic claims, sweeping, compaction;
//! - [`shared`]: PostgreSQL + an object store (several instances);
//! - [`erasure`]: shredding, deferred until downloads in progress end;
//! - [`record`]: the fixed binary layout of sled records and the expiry index;
//! - [`ids`]: random ids and tokens, slots, hashes, constant-time comparison;
//! - [`blocking`]: store calls on the blocking pool;
//! - [`headers`]: CSP and the other security headers, no cookies;
//! - [`error`]: the one mapping from failures to fixed public messages;
//! - [`clock`]: wall-clock time, replaceable in tests.
//!
//! Privacy by construction: no handler reads the peer address (there is no
//! `ConnectInfo` anywhere), forwarding headers are ignored, and trace spans
//! carry only the method and the *matched route* (`/api/v1/blobs/{id}`),
//! never the URI, query, headers or ids.

pub mod admin;
pub(crate) mod blocking;
pub(crate) mod body;
pub mod clock;
pub mod config;
pub mod engine;
pub mod erasure;
pub mod error;
pub(crate) mod extract;
pub(crate) mod handlers;
pub mod headers;
pub mod ids;
pub(crate) mod lanes;
pub mod limits;
pub mod moderation;
pub(crate) mod options;
pub mod record;
pub(crate) mod routes;
pub mod serve;
pub mod shared;
pub mod store;
pub mod throttle;

use std::sync::Arc;

pub use serve::{run, serve, shutdown_signal};

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Blobs and records.
    pub engine: engine::Engine,
    /// Validated configuration.
    pub settings: Arc<config::Settings>,
    /// Work asked of download attempts after wrong proofs, per blob.
    pub throttle: Arc<throttle::Throttle>,
    /// tus uploads with a PATCH (or a deletion) in progress.
    pub lanes: Arc<lanes::Lanes>,
    /// "Now", in Unix seconds.
    pub clock: clock::Clock,
    /// Upload limits and the quota's running figure.
    pub limits: Arc<limits::Limits>,
    /// The public counters as last read, and when.
    pub published: Arc<std::sync::Mutex<Option<(std::time::Instant, serde_json::Value)>>>,
}

impl AppState {
    /// State over an opened engine (a [`store::Store`] or a [`shared::Shared`]).
    #[must_use]
    pub fn new(
        engine: impl Into<engine::Engine>,
        settings: config::Settings,
        clock: clock::Clock,
    ) -> Self {
        let mut work_key = [0u8; 32];
        // Without the CSPRNG nothing works; the first id would fail loudly.
        let _ = ids::random(&mut work_key);
        Self {
            engine: engine.into(),
            limits: Arc::new(limits::Limits::new(settings.limits.clone(), work_key)),
            published: Arc::default(),
            settings: Arc::new(settings),
            throttle: Arc::default(),
            lanes: Arc::default(),
            clock,
        }
    }

    /// The same state with upload challenges signed by `key` (the shared
    /// engine's, so that every instance accepts every instance's).
    #[must_use]
    pub fn with_work_key(mut self, key: [u8; 32]) -> Self {
        self.limits = Arc::new(limits::Limits::new(self.settings.limits.clone(), key));
        self
    }
}
