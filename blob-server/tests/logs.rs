//! Logs at the most verbose level name no client address, no token, no
//! proof, no blob id and no query string: spans carry only the method and
//! the matched route.
#![allow(
    clippy::cast_possible_truncation,
    clippy::panic,
    clippy::type_complexity,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_leak_nothing_that_identifies_anyone() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Everything at TRACE, except the test's own HTTP client (same process).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,reqwest=off,hyper_util::client=off",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = helpers::spawn_app().await;
    let (proof, hash) = helpers::proof_pair(9);
    let created = app
        .upload(
            b"logged?".to_vec(),
            &[
                ("Veil-Proof-Hash", &hash),
                ("X-Forwarded-For", "203.0.113.7"),
            ],
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["delete_token"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/api/v1/blobs/{id}?secret=query-string-value"));
    app.client
        .get(&url)
        .header("Veil-Proof", &proof)
        .header("User-Agent", "Agent/1.0 (unique)")
        .header("Referer", "https://referrer.example/")
        .send()
        .await
        .unwrap();
    app.client
        .get(&url)
        .header("Veil-Proof", "wrong")
        .send()
        .await
        .unwrap();
    app.delete(&id, &token).await;
    let r = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "3")
        .send()
        .await
        .unwrap();
    let tus_id = r.headers()["veil-blob-id"].to_str().unwrap().to_owned();
    app.client
        .get(app.url("/?q=search-term"))
        .send()
        .await
        .unwrap();
    drop(app);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/api/v1/blobs/{id}"),
        "spans should name the matched route:\n{logs}"
    );
    for secret in [
        "127.0.0.1",
        "203.0.113.7",
        &id,
        &tus_id,
        &token,
        &proof,
        &hash,
        "query-string-value",
        "search-term",
        "Agent/1.0",
        "referrer.example",
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain {secret:?}:\n{logs}"
        );
    }
}
