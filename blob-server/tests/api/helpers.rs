//! Test helpers: a real server on 127.0.0.1:0 with its own data directory
//! and a manual clock, stopped when the test ends.
#![allow(
    clippy::cast_possible_truncation,
    clippy::panic,
    clippy::type_complexity,
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use blob_server::clock::Clock;
use blob_server::config::Settings;
use blob_server::store::Store;
use blob_server::AppState;

pub const T0: u64 = 1_800_000_000;

pub struct TestApp {
    pub addr: SocketAddr,
    pub dir: Arc<tempfile::TempDir>,
    pub clock: Arc<AtomicU64>,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Opens the store at `path`. A store closed a moment ago (or a sled
/// database a test wrote directly) may still be closing on another thread:
/// sled's lock is then still held, so retry briefly.
pub fn open_store(path: &Path) -> Result<Store, blob_server::store::StoreError> {
    let mut last = None;
    for _ in 0..100 {
        match Store::open(path) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(last.expect("tried at least once"))
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |_| {}).await
}

pub async fn spawn_with(
    dir: Arc<tempfile::TempDir>,
    now: u64,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_tests(web_dir());
    tweak(&mut settings);
    let path = dir.path().to_owned();
    let store = tokio::task::spawn_blocking(move || open_store(&path))
        .await
        .unwrap()
        .expect("the store did not open within 2 s");
    let (clock, handle) = Clock::manual(now);
    let state = AppState::new(store, settings, clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(blob_server::run(listener, state, async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        dir,
        clock: handle,
        client: reqwest::Client::new(),
        stop: Some(tx),
        task: Some(task),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn set_time(&self, t: u64) {
        self.clock.store(t, Ordering::SeqCst);
    }

    /// Stops the server and waits until its store is closed.
    pub async fn stop(mut self) -> Arc<tempfile::TempDir> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
        self.dir.clone()
    }

    /// `GET /api/v1/config`, as JSON.
    pub async fn config(&self) -> serde_json::Value {
        self.client
            .get(self.url("/api/v1/config"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Uploads `body` in one request with option headers.
    pub async fn upload(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> serde_json::Value {
        let mut req = self.client.post(self.url("/api/v1/blobs")).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
        resp.json().await.unwrap()
    }

    /// Uploads `secret` behind the proof hash `hash`; its id.
    pub async fn upload_secret(&self, hash: &str) -> String {
        self.upload(b"secret".to_vec(), &[("Veil-Proof-Hash", hash)])
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, id: &str, proof: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(&format!("/api/v1/blobs/{id}")));
        if let Some(p) = proof {
            req = req.header("Veil-Proof", p);
        }
        req.send().await.unwrap()
    }

    /// `DELETE /api/v1/blobs/{id}` with `token` as the bearer deletion token.
    pub async fn delete(&self, id: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/api/v1/blobs/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Waits (at most 2 s) until the data subdirectory `sub` holds `n`
    /// files, for erasure that runs on the blocking pool after an answer;
    /// returns how many it holds at the end.
    pub async fn settle(&self, sub: &str, n: usize) -> usize {
        for _ in 0..100 {
            if self.files_in(sub).len() == n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.files_in(sub).len()
    }

    /// `DELETE` of a tus upload with its deletion token.
    pub async fn terminate(&self, location: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(location))
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Files in a data subdirectory.
    pub fn files_in(&self, sub: &str) -> Vec<PathBuf> {
        std::fs::read_dir(self.data().join(sub))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the real `blob-server` binary with `args` (plus a quiet log) and
/// returns it with the URL it printed once listening.
pub fn spawn_binary(args: &[&std::ffi::OsStr]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_blob-server"))
        .args(args)
        .env("VEIL_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.contains("://127.0.0.1:"), "{line}");
    (child, url)
}

/// A download proof and its verifier, as a client derives them.
pub fn proof_pair(seed: u8) -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let proof = [seed; 32];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    (b64.encode(proof), b64.encode(sha2::Sha256::digest(proof)))
}

/// tus `Upload-Metadata` from key/value pairs.
pub fn meta(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `POST /api/v1/uploads`.
pub async fn create(app: &TestApp, length: u64, metadata: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .unwrap()
}

/// `PATCH` at `offset`.
pub async fn patch(
    app: &TestApp,
    location: &str,
    offset: u64,
    body: reqwest::Body,
) -> reqwest::Response {
    app.client
        .patch(app.url(location))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The server's offset (`HEAD`), or `None` for a non-200 answer.
/// The upload's offset once it is `want`, or whatever it is after 2 s: a
/// client that broke off gets its error before the server has recorded the
/// bytes that did arrive (the PATCH runs to its end without the client).
pub async fn offset_settled(app: &TestApp, location: &str, want: u64) -> Option<u64> {
    for _ in 0..100 {
        if offset(app, location).await == Some(want) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    offset(app, location).await
}

pub async fn offset(app: &TestApp, location: &str) -> Option<u64> {
    let r = app
        .client
        .head(app.url(location))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    (r.status() == 200).then(|| {
        r.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    })
}
