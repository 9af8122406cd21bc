//! Configuration: flags and `VEIL_*` environment variables (clap), turned
//! into a validated [`Settings`] in one place; `main` hands the settings
//! over whole and nothing else reads a flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Command-line flags; every flag also reads a `VEIL_*` variable. No
/// `Debug`: `--meta` may hold a password.
#[derive(clap::Parser)]
#[command(
    name = "blob-server",
    version,
    about = "Veil's zero-knowledge blob store"
)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "VEIL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Directory for the database and the ciphertext files.
    #[arg(long, env = "VEIL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Largest blob in bytes (ciphertext).
    #[arg(long, env = "VEIL_MAX_BLOB_SIZE", default_value_t = 100 * 1024 * 1024)]
    pub max_blob_size: u64,
    /// Expiry when the uploader asks for none, in seconds.
    #[arg(long, env = "VEIL_DEFAULT_EXPIRY", default_value_t = 24 * 3600)]
    pub default_expiry: u64,
    /// Longest expiry an uploader may ask for, in seconds.
    #[arg(long, env = "VEIL_MAX_EXPIRY", default_value_t = 7 * 24 * 3600)]
    pub max_expiry: u64,
    /// Largest download limit an uploader may set.
    #[arg(long, env = "VEIL_MAX_DOWNLOADS", default_value_t = 1000)]
    pub max_downloads: u32,
    /// Seconds an unfinished resumable upload is kept.
    #[arg(long, env = "VEIL_UPLOAD_EXPIRY", default_value_t = 24 * 3600)]
    pub upload_expiry: u64,
    /// Seconds between sweeps of expired blobs and stale uploads.
    #[arg(long, env = "VEIL_SWEEP_INTERVAL", default_value_t = 60)]
    pub sweep_interval: u64,
    /// Directory of the web page (index.html and the built wasm in pkg/).
    #[arg(long, env = "VEIL_STATIC_DIR", default_value = "./web")]
    pub static_dir: PathBuf,
    /// TLS certificate chain (PEM); serves HTTPS directly with --tls-key.
    #[arg(long, env = "VEIL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "VEIL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept only TLS 1.3.
    #[arg(long, env = "VEIL_TLS13_ONLY")]
    pub tls13_only: bool,
    /// An .onion URL to advertise in the Onion-Location header of pages.
    #[arg(long, env = "VEIL_ONION_LOCATION")]
    pub onion_location: Option<String>,
    /// Seconds in-flight transfers get to finish after SIGINT/SIGTERM.
    #[arg(long, env = "VEIL_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Seconds a client has to send a request's head in full, counted from
    /// when the server starts waiting for it (so also how long an idle
    /// keep-alive connection stays open); also bounds the TLS handshake.
    #[arg(long, env = "VEIL_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds of waiting on a client during which nothing moves (a stalled
    /// body or download) before its connection is closed; also the window
    /// over which --min-rate is measured.
    #[arg(long, env = "VEIL_IDLE_TIMEOUT", default_value_t = 30)]
    pub idle_timeout: u64,
    /// Bytes per second a connection must move, on average over each
    /// --idle-timeout of waiting on the client, or it is closed.
    #[arg(long, env = "VEIL_MIN_RATE", default_value_t = 1024)]
    pub min_rate: u64,
    /// Connections served at once; past it, new ones get 503 with Retry-After.
    #[arg(long, env = "VEIL_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Where ciphertext goes when records are in PostgreSQL (required
    /// then): `s3://BUCKET[/PREFIX]`, or `file:///ABSOLUTE/DIR` (a
    /// directory every instance mounts).
    #[arg(long, env = "VEIL_STORAGE")]
    pub storage: Option<String>,
    /// Where records go: `sled` (default; one instance, in DATA_DIR) or
    /// `postgres://USER:PASSWORD@HOST/DB` (several instances). Prefer the
    /// variable to the flag: a flag is visible to every user in the
    /// process list.
    #[arg(
        long,
        env = "VEIL_META",
        default_value = "sled",
        hide_env_values = true
    )]
    pub meta: String,
    /// S3 endpoint URL (Garage, MinIO, …); default: AWS.
    #[arg(long, env = "VEIL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: `AWS_REGION`, or us-east-1).
    #[arg(long, env = "VEIL_S3_REGION")]
    pub s3_region: Option<String>,
    /// Address the bucket in the path (`ENDPOINT/BUCKET/KEY`), as Garage
    /// and MinIO expect, instead of in the host name.
    #[arg(long, env = "VEIL_S3_PATH_STYLE")]
    pub s3_path_style: bool,
    /// The operator's public key for reports (base64url, from `blob-server
    /// admin keygen`): the page and the CLI seal a reported link's key to
    /// it. Without it, reports come without keys.
    #[arg(long, env = "VEIL_REPORT_PUBLIC_KEY")]
    pub report_public_key: Option<String>,
    /// A file holding the admin API's token (`blob-server admin keygen`
    /// writes one); without it there is no admin API.
    #[arg(long, env = "VEIL_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Uploads per minute, all clients together (503 with Retry-After past it).
    #[arg(long, env = "VEIL_UPLOADS_PER_MINUTE")]
    pub uploads_per_minute: Option<u32>,
    /// Bytes per hour uploaded, all clients together.
    #[arg(long, env = "VEIL_BYTES_PER_HOUR")]
    pub bytes_per_hour: Option<u64>,
    /// Bytes stored at most, blobs and unfinished uploads (507 past it).
    #[arg(long, env = "VEIL_QUOTA")]
    pub quota: Option<u64>,
    /// Proof of work asked of every upload's creation, in bits (1–16; up
    /// to 4 more under load). Off by default.
    #[arg(long, env = "VEIL_UPLOAD_WORK")]
    pub upload_work: Option<u8>,
    /// Uploads per hour per client, keyed on an HMAC of the address under a
    /// key kept in memory and replaced hourly. Off by default.
    #[arg(long, env = "VEIL_PER_CLIENT_UPLOADS_PER_HOUR")]
    pub per_client_uploads_per_hour: Option<u32>,
    /// With --per-client-uploads-per-hour behind a proxy you trust: the
    /// request header holding the client's address (e.g. `X-Real-IP`).
    #[arg(
        long,
        env = "VEIL_CLIENT_ADDRESS_HEADER",
        requires = "per_client_uploads_per_hour"
    )]
    pub client_address_header: Option<String>,
    /// Seconds the public counters (`/api/v1/transparency`) are held
    /// before they are read again: the page then cannot time single
    /// reports or uploads, and costs one read of the records per period.
    #[arg(long, env = "VEIL_TRANSPARENCY_EVERY", default_value_t = 600)]
    pub transparency_every: u64,
    /// Operator tools instead of serving.
    #[command(subcommand)]
    pub command: Option<crate::admin::Command>,
}

/// Where the records and the ciphertext live.
#[derive(Debug, Clone)]
pub enum EngineSettings {
    /// sled and files under the data directory: one instance.
    Local,
    /// PostgreSQL and an object store: any number of instances.
    Shared(SharedStorage),
}

/// The shared engine's two stores.
#[derive(Clone)]
pub struct SharedStorage {
    /// The PostgreSQL URL (holds a password: never logged, no Debug).
    pub postgres: String,
    /// The object store.
    pub objects: ObjectStorage,
}

impl std::fmt::Debug for SharedStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStorage")
            .field("postgres", &"<redacted>")
            .field("objects", &self.objects)
            .finish()
    }
}

/// An object store.
#[derive(Debug, Clone)]
pub enum ObjectStorage {
    /// A directory (fsynced writes).
    Dir(PathBuf),
    /// An S3-compatible bucket.
    S3(S3Settings),
}

/// An S3-compatible bucket; credentials come from `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (read by the client, never stored here).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The bucket.
    pub bucket: String,
    /// A key prefix inside it, if any.
    pub prefix: Option<String>,
    /// See [`Args::s3_endpoint`].
    pub endpoint: Option<String>,
    /// See [`Args::s3_region`].
    pub region: Option<String>,
    /// See [`Args::s3_path_style`].
    pub path_style: bool,
}

impl EngineSettings {
    fn from_args(a: &Args) -> Result<Self, String> {
        let postgres = match a.meta.as_str() {
            "sled" => None,
            m if m.starts_with("postgres://") || m.starts_with("postgresql://") => Some(m),
            _ => return Err("--meta must be `sled` or a postgres:// URL".into()),
        };
        let objects = match a.storage.as_deref() {
            None if postgres.is_some() => {
                return Err(
                    "--meta postgres://… needs --storage s3://BUCKET[/PREFIX] or file:///DIR, the same on every instance"
                        .into(),
                )
            }
            None => return Ok(Self::Local),
            Some(s) => {
                if let Some(rest) = s.strip_prefix("s3://") {
                    let (bucket, prefix) = match rest.split_once('/') {
                        Some((b, p)) => (b, Some(p.trim_matches('/')).filter(|p| !p.is_empty())),
                        None => (rest, None),
                    };
                    if bucket.is_empty() {
                        return Err("--storage s3:// needs a bucket: s3://BUCKET[/PREFIX]".into());
                    }
                    ObjectStorage::S3(S3Settings {
                        bucket: bucket.to_owned(),
                        prefix: prefix.map(str::to_owned),
                        endpoint: a.s3_endpoint.clone(),
                        region: a.s3_region.clone(),
                        path_style: a.s3_path_style,
                    })
                } else if let Some(dir) = s.strip_prefix("file://") {
                    if !dir.starts_with('/') {
                        return Err("--storage file:// needs an absolute path: file:///DIR".into());
                    }
                    ObjectStorage::Dir(PathBuf::from(dir))
                } else {
                    return Err("--storage must be s3://BUCKET[/PREFIX] or file:///DIR".into());
                }
            }
        };
        match postgres {
            Some(url) => Ok(Self::Shared(SharedStorage {
                postgres: url.to_owned(),
                objects,
            })),
            None if a.storage.is_some() => Err(
                "--storage needs --meta postgres://…: records in sled belong to one process, and an object store is for several"
                    .into(),
            ),
            None => Ok(Self::Local),
        }
    }
}

/// HTTPS certificate and key (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// See [`Args::tls_cert`].
    pub cert: PathBuf,
    /// See [`Args::tls_key`].
    pub key: PathBuf,
    /// See [`Args::tls13_only`].
    pub tls13_only: bool,
}

/// What each connection is allowed (see [`crate::serve::conn`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// See [`Args::header_timeout`].
    pub header_timeout: Duration,
    /// See [`Args::idle_timeout`].
    pub idle_timeout: Duration,
    /// See [`Args::min_rate`].
    pub min_rate: u64,
    /// See [`Args::max_connections`].
    pub max_connections: usize,
}

/// Validated settings shared by every handler.
#[derive(Debug, Clone)]
pub struct Settings {
    /// See [`Args::bind`].
    pub bind: SocketAddr,
    /// See [`Args::data_dir`].
    pub data_dir: PathBuf,
    /// See [`Args::max_blob_size`].
    pub max_blob_size: u64,
    /// See [`Args::default_expiry`].
    pub default_expiry: u64,
    /// See [`Args::max_expiry`].
    pub max_expiry: u64,
    /// See [`Args::max_downloads`].
    pub max_downloads: u32,
    /// See [`Args::upload_expiry`].
    pub upload_expiry: u64,
    /// See [`Args::sweep_interval`].
    pub sweep_interval: Duration,
    /// See [`Args::static_dir`].
    pub static_dir: PathBuf,
    /// Serve HTTPS with these (adds HSTS); `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// See [`Args::onion_location`].
    pub onion_location: Option<String>,
    /// See [`Args::shutdown_grace`].
    pub shutdown_grace: Duration,
    /// Connection limits.
    pub conn: ConnLimits,
    /// Where records and ciphertext live.
    pub engine: EngineSettings,
    /// See [`Args::report_public_key`].
    pub report_key: Option<String>,
    /// The SHA-256 of the admin token, if the admin API is on.
    pub admin_token: Option<crate::ids::Digest32>,
    /// Upload limits.
    pub limits: crate::limits::LimitSettings,
    /// See [`Args::transparency_every`].
    pub transparency_every: Duration,
}

impl Settings {
    /// Validates the flags.
    pub fn from_args(a: &Args) -> Result<Self, String> {
        if a.max_blob_size == 0 {
            return Err("--max-blob-size must be positive".into());
        }
        if a.max_expiry == 0 || a.default_expiry == 0 || a.default_expiry > a.max_expiry {
            return Err("expiries must be positive and --default-expiry <= --max-expiry".into());
        }
        if a.max_expiry > 10 * 365 * 24 * 3600 {
            return Err("--max-expiry is limited to ten years".into());
        }
        if a.sweep_interval == 0 || a.upload_expiry == 0 {
            return Err("--sweep-interval and --upload-expiry must be positive".into());
        }
        if a.upload_expiry > 10 * 365 * 24 * 3600 {
            return Err("--upload-expiry is limited to ten years".into());
        }
        if let Some(o) = &a.onion_location {
            if !o.starts_with("http://")
                || !o.contains(".onion")
                || o.chars().any(|c| c.is_control())
            {
                return Err("--onion-location must be an http://....onion URL".into());
            }
        }
        if a.header_timeout == 0 || a.idle_timeout == 0 || a.max_connections == 0 {
            return Err(
                "--header-timeout, --idle-timeout and --max-connections must be positive".into(),
            );
        }
        if a.header_timeout > 3600 || a.idle_timeout > 3600 {
            return Err("--header-timeout and --idle-timeout are limited to an hour".into());
        }
        let engine = EngineSettings::from_args(a)?;
        if let Some(k) = &a.report_public_key {
            if !veil_core::report::is_public_key(k) {
                return Err("--report-public-key must be the base64url public key `blob-server admin keygen` printed".into());
            }
        }
        let admin_token = match &a.admin_token_file {
            None => None,
            Some(path) => Some(crate::admin::read_token(path)?),
        };
        if a.upload_work.is_some_and(|b| b == 0 || b > 16) {
            return Err("--upload-work must be between 1 and 16 bits".into());
        }
        if a.uploads_per_minute == Some(0)
            || a.bytes_per_hour == Some(0)
            || a.quota == Some(0)
            || a.per_client_uploads_per_hour == Some(0)
        {
            return Err("upload limits must be positive (leave one out to have none)".into());
        }
        if let Some(h) = &a.client_address_header {
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err("--client-address-header must be a header name".into());
            }
        }
        let tls = match (&a.tls_cert, &a.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                tls13_only: a.tls13_only,
            }),
            _ => None,
        };
        Ok(Self {
            bind: a.bind,
            data_dir: a.data_dir.clone(),
            max_blob_size: a.max_blob_size,
            default_expiry: a.default_expiry,
            max_expiry: a.max_expiry,
            max_downloads: a.max_downloads.max(1),
            upload_expiry: a.upload_expiry,
            sweep_interval: Duration::from_secs(a.sweep_interval),
            static_dir: a.static_dir.clone(),
            tls,
            onion_location: a.onion_location.clone(),
            shutdown_grace: Duration::from_secs(a.shutdown_grace),
            conn: ConnLimits {
                header_timeout: Duration::from_secs(a.header_timeout),
                idle_timeout: Duration::from_secs(a.idle_timeout),
                min_rate: a.min_rate,
                max_connections: a.max_connections,
            },
            engine,
            report_key: a.report_public_key.clone(),
            transparency_every: Duration::from_secs(a.transparency_every),
            admin_token,
            limits: crate::limits::LimitSettings {
                uploads_per_minute: a.uploads_per_minute,
                bytes_per_hour: a.bytes_per_hour,
                quota: a.quota,
                upload_work: a.upload_work,
                per_client_per_hour: a.per_client_uploads_per_hour,
                client_header: a
                    .client_address_header
                    .as_ref()
                    .map(|h| h.to_ascii_lowercase()),
            },
        })
    }

    /// Seconds a shared-engine tombstone is kept: past any expiry and any
    /// unfinished upload it could stand for.
    #[must_use]
    pub fn tombstone_for(&self) -> u64 {
        self.max_expiry.saturating_add(self.upload_expiry)
    }

    /// Settings for tests: small limits, a given static dir.
    #[must_use]
    pub fn for_tests(static_dir: PathBuf) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: PathBuf::new(),
            max_blob_size: 64 * 1024 * 1024,
            default_expiry: 3600,
            max_expiry: 7 * 24 * 3600,
            max_downloads: 1000,
            upload_expiry: 3600,
            sweep_interval: Duration::from_secs(3600),
            static_dir,
            tls: None,
            onion_location: None,
            shutdown_grace: Duration::from_secs(5),
            conn: ConnLimits {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(30),
                min_rate: 1024,
                max_connections: 1024,
            },
            engine: EngineSettings::Local,
            report_key: None,
            transparency_every: Duration::ZERO,
            admin_token: None,
            limits: crate::limits::LimitSettings::default(),
        }
    }
}
