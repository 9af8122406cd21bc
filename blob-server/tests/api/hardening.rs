//! The defects found by trying the server as an attacker would (issue #10),
//! each reproduced: two requests on one upload at once, slow and silent
//! clients, the connection cap, error bodies, token syntax, wrong-proof
//! throttling that must not lock out the recipient, options, orphans, and
//! what a seized disk still holds after deletion. Every wait is bounded, so
//! a deadlock fails the test instead of hanging it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    create, meta, offset, offset_settled, patch, proof_pair, spawn_app, spawn_with, TestApp, T0,
};

/// Fails instead of hanging.
async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 20 s (deadlock?)"))
}

/// A request body that sends `first`, then nothing until the sender is dropped.
fn stalled_body(first: Vec<u8>) -> (reqwest::Body, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let head =
        futures_util::stream::once(
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(first)) },
        );
    let tail = futures_util::stream::once(async move {
        let _ = rx.await;
        Err::<bytes::Bytes, _>(std::io::Error::other("client gave up"))
    });
    (reqwest::Body::wrap_stream(head.chain(tail)), tx)
}

/// Creates a tus upload of `length`; returns (location, id, token).
async fn new_upload(app: &TestApp, length: u64) -> (String, String, String) {
    let r = create(app, length, "").await;
    assert_eq!(r.status(), 201);
    let h = r.headers();
    (
        h["location"].to_str().unwrap().to_owned(),
        h["veil-blob-id"].to_str().unwrap().to_owned(),
        h["veil-delete-token"].to_str().unwrap().to_owned(),
    )
}

/// Starts a PATCH that sends 1000 bytes and then stalls; waits until the
/// server has them (the PATCH holds the upload's lane).
async fn stalled_patch(
    app: &TestApp,
    location: &str,
) -> (
    tokio::task::JoinHandle<reqwest::Response>,
    tokio::sync::oneshot::Sender<()>,
) {
    // The lane is taken once the PATCH is inside: an empty probe PATCH then
    // gets 409. A probe that arrives first takes the lane itself for an
    // instant and may turn the stalled PATCH away: then start it again.
    for attempt in 1..=20u64 {
        let (body, release) = stalled_body(vec![7; 1000]);
        let (client, url) = (app.client.clone(), app.url(location));
        let running = tokio::spawn(async move {
            client
                .patch(url)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream")
                .body(body)
                .send()
                .await
                .unwrap()
        });
        tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
        let probe = patch(app, location, 0, reqwest::Body::from(Vec::new())).await;
        if probe.status() == 409 && !running.is_finished() {
            return (running, release);
        }
        drop(release);
        let _ = running.await;
    }
    panic!("the first PATCH never started");
}

async fn healthy(app: &TestApp) {
    let r = bounded("healthz", app.client.get(app.url("/healthz")).send())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_patch_on_one_upload_is_refused_at_once_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let (location, _, _) = new_upload(&app, 10_000).await;
    let (first, release) = stalled_patch(&app, &location).await;
    // Several more, as a retrying client would send: each is refused promptly.
    for _ in 0..5 {
        let r = bounded(
            "second PATCH",
            patch(&app, &location, 0, vec![1; 10].into()),
        )
        .await;
        assert_eq!(r.status(), 409);
        assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    }
    healthy(&app).await;
    drop(release);
    let _ = bounded("first PATCH", first).await;
    // Once it ended, the lane is free and the kept bytes count.
    assert_eq!(offset_settled(&app, &location, 1000).await, Some(1000));
    let r = patch(&app, &location, 1000, vec![1; 10].into()).await;
    assert_eq!(r.status(), 204);
    healthy(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_during_a_patch_wins_and_nothing_comes_back() {
    let app = spawn_app().await;
    let (location, _, token) = new_upload(&app, 10_000).await;
    let (first, _release) = stalled_patch(&app, &location).await;
    let r = bounded(
        "DELETE during PATCH",
        app.client
            .delete(app.url(&location))
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(&token)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    // The cancelled PATCH ends too, without bringing the upload back.
    let patched = bounded("cancelled PATCH", first).await.unwrap();
    assert_eq!(patched.status(), 404);
    assert_eq!(offset(&app, &location).await, None);
    assert!(app.files_in("uploads").is_empty());
    healthy(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_delete_during_a_patch_answers_204_and_leaves_no_zombie() {
    let app = spawn_app().await;
    let (location, id, token) = new_upload(&app, 10_000).await;
    let (first, _release) = stalled_patch(&app, &location).await;
    let r = bounded("token DELETE during PATCH", app.delete(&id, &token)).await;
    assert_eq!(r.status(), 204);
    let patched = bounded("cancelled PATCH", first).await.unwrap();
    assert_eq!(patched.status(), 404);
    // Neither an upload nor a blob: HEAD and GET agree.
    assert_eq!(offset(&app, &location).await, None);
    assert_eq!(app.get(&id, None).await.status(), 404);
    assert!(app.files_in("uploads").is_empty());
    assert!(app.files_in("blobs").is_empty());
    healthy(&app).await;
}

#[tokio::test]
async fn terminating_an_upload_needs_its_deletion_token() {
    let app = spawn_app().await;
    let (location, _, token) = new_upload(&app, 100).await;
    let del = |auth: Option<String>| {
        let mut req = app
            .client
            .delete(app.url(&location))
            .header("Tus-Resumable", "1.0.0");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    assert_eq!(del(None).await.unwrap().status(), 400);
    let (other, _) = proof_pair(1);
    assert_eq!(
        del(Some(format!("Bearer {other}"))).await.unwrap().status(),
        404
    );
    assert_eq!(
        offset(&app, &location).await,
        Some(0),
        "a wrong token discarded the upload"
    );
    assert_eq!(
        del(Some(format!("bearer {token}"))).await.unwrap().status(),
        204
    );
    assert_eq!(offset(&app, &location).await, None);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let created = app.upload(b"x".to_vec(), &[]).await;
        let (id, token) = (
            created["id"].as_str().unwrap(),
            created["delete_token"].as_str().unwrap(),
        );
        let r = app
            .client
            .delete(app.url(&format!("/api/v1/blobs/{id}")))
            .header("Authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{scheme}");
    }
}

#[tokio::test]
async fn zero_downloads_is_refused_not_unlimited() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .header("Veil-Max-Downloads", "0")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid Veil-Max-Downloads"
    );
    let r = create(&app, 1, &meta(&[("max_downloads", "0")])).await;
    assert_eq!(r.status(), 400);
    assert!(app.files_in("uploads").is_empty());
}

#[tokio::test]
async fn a_failed_creation_with_upload_leaves_no_orphan() {
    let app = spawn_app().await;
    // Body longer than Upload-Length: 413; a body cut short: 400.
    let r = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .header("Content-Type", "application/offset+octet-stream")
        .body(vec![0u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let (body, release) = stalled_body(vec![1; 10]);
    let sending = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "100")
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send();
    let (r, ()) = tokio::join!(sending, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(release);
    });
    if let Ok(r) = r {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    app.settle("uploads", 0).await;
    assert!(
        app.files_in("uploads").is_empty(),
        "an orphan upload was kept"
    );
}

#[tokio::test]
async fn every_api_error_is_the_documented_json_and_bad_ids_look_unknown() {
    let app = spawn_app().await;
    let unknown = app.get("AAAAAAAAAAAAAAAAAAAAAA", None).await;
    assert_eq!(unknown.status(), 404);
    let unknown_body = unknown.text().await.unwrap();
    for path in [
        "/api/v1/blobs/%FF%FE",
        "/api/v1/blobs/%C0%AF",
        "/api/v1/blobs/%",
        "/api/v1/uploads/%FF",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let status = r.status();
        let ctype = r.headers()["content-type"].to_str().unwrap().to_owned();
        let body = r.text().await.unwrap();
        if path.starts_with("/api/v1/blobs") {
            assert_eq!(
                (status.as_u16(), body.as_str()),
                (404, unknown_body.as_str()),
                "{path}"
            );
        }
        assert_eq!(ctype, "application/json", "{path}");
    }
    for (method, path) in [
        (reqwest::Method::PUT, "/api/v1/blobs"),
        (reqwest::Method::POST, "/api/v1/config"),
        (
            reqwest::Method::PATCH,
            "/api/v1/blobs/AAAAAAAAAAAAAAAAAAAAAA",
        ),
        (reqwest::Method::GET, "/api/v1/uploads"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "method not allowed");
    }
}

/// Reads from `s` until EOF or reset; returns what arrived and whether the
/// server closed within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0) | Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn quick_limits(s: &mut blob_server::config::Settings) {
    s.conn.header_timeout = Duration::from_secs(1);
    s.conn.idle_timeout = Duration::from_secs(1);
}

#[tokio::test]
async fn a_bare_crlf_and_a_slow_head_are_closed_by_the_header_timeout() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, quick_limits).await;
    let mut bare = TcpStream::connect(app.addr).await.unwrap();
    bare.write_all(b"\r\n\r\n").await.unwrap();
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let dribble = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(b"x").await.is_err() {
                break;
            }
        }
    };
    let ((_, bare_closed), ()) =
        tokio::join!(closed_within(&mut bare, Duration::from_secs(5)), dribble);
    assert!(bare_closed, "a bare CRLF connection was held open");
    let (_, slow_closed) = closed_within(&mut slow, Duration::from_secs(5)).await;
    assert!(slow_closed, "a slow head was held open");
    // An idle keep-alive connection is closed too.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, idle_closed) = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    assert!(idle_closed, "an idle keep-alive connection was held open");
    healthy(&app).await;
}

#[tokio::test]
async fn a_stalled_upload_body_is_cut_off_and_its_temp_file_removed() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, quick_limits).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    let (_, closed) = closed_within(&mut s, Duration::from_secs(6)).await;
    assert!(closed, "a stalled body was held open");
    app.settle("tmp", 0).await;
    assert!(
        app.files_in("tmp").is_empty(),
        "the partial upload was kept"
    );
}

#[tokio::test]
async fn a_body_crawling_below_the_minimum_rate_is_cut_off() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
        s.conn.idle_timeout = Duration::from_secs(1);
        s.conn.min_rate = 1000;
    })
    .await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /api/v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    // One byte every 100 ms: never silent, far below 1000 B/s.
    let mut cut = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.write_all(b"x").await.is_err() {
            cut = true;
            break;
        }
    }
    if !cut {
        cut = closed_within(&mut s, Duration::from_secs(1)).await.1;
    }
    assert!(cut, "a crawling body was accepted for 6 s");
}

#[tokio::test]
async fn a_download_the_client_stops_reading_is_cut_off() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, quick_limits).await;
    let size = 32 << 20;
    let id = app.upload(vec![0x5a; size], &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(format!("GET /api/v1/blobs/{id} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // Read nothing for a while: the socket buffers fill and the server waits on us.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (got, closed) = closed_within(&mut s, Duration::from_secs(10)).await;
    assert!(closed, "the download never ended");
    assert!(
        got.len() < size,
        "a stalled reader got the whole blob anyway"
    );
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_get_503_with_retry_after() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
        s.conn.max_connections = 2
    })
    .await;
    let _a = TcpStream::connect(app.addr).await.unwrap();
    let _b = TcpStream::connect(app.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = TcpStream::connect(app.addr).await.unwrap();
    let _ = c
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (answer, _) = closed_within(&mut c, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("retry-after: 5"), "{text}");
    assert!(
        text.ends_with("{\"error\":\"busy; try again shortly\"}"),
        "{text}"
    );
    drop((_a, _b));
    tokio::time::sleep(Duration::from_millis(100)).await;
    healthy(&app).await;
}

#[tokio::test]
async fn wrong_guesses_cost_work_but_never_lock_out_the_recipient() {
    use blob_server::throttle::{BASE_BITS, FREE_FAILURES};
    use veil_core::work;
    let app = spawn_app().await;
    let (proof, hash) = proof_pair(3);
    let id = app.upload_secret(&hash).await;
    // Solving the larger works takes seconds, longer than the server keeps an
    // idle connection (--header-timeout) on a loaded machine: a fresh
    // connection per request, as a client that waited that long would open.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let get = |proof: String, nonce: Option<u64>| {
        let mut req = client
            .get(app.url(&format!("/api/v1/blobs/{id}")))
            .header("Veil-Proof", proof);
        if let Some(n) = nonce {
            req = req.header("Veil-Work", n.to_string());
        }
        req.send()
    };
    // The free wrong guesses are answered 403.
    for seed in 0..FREE_FAILURES {
        let (wrong, _) = proof_pair(100 + seed as u8);
        assert_eq!(get(wrong, None).await.unwrap().status(), 403);
    }
    // Then every attempt, right or wrong, needs work bound to its proof:
    // without it nothing is checked (the right proof is not told apart).
    let (wrong, _) = proof_pair(200);
    let r = get(wrong.clone(), None).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["veil-work-bits"], BASE_BITS.to_string());
    let r = get(proof.clone(), None).await.unwrap();
    assert_eq!(r.status(), 429);
    // Work for another proof does not count for this one.
    let borrowed = work::solve(&id, &wrong, BASE_BITS);
    if !work::verify(&id, &proof, borrowed, BASE_BITS) {
        assert_eq!(
            get(proof.clone(), Some(borrowed)).await.unwrap().status(),
            429
        );
    }
    // A guesser who does the work learns "wrong", and the next guess costs more.
    let mut bits = BASE_BITS;
    for seed in 0..12u8 {
        let (wrong, _) = proof_pair(150 + seed);
        let n = work::solve(&id, &wrong, bits);
        assert_eq!(get(wrong, Some(n)).await.unwrap().status(), 403);
        let r = get(proof.clone(), None).await.unwrap();
        let next: u8 = r.headers()["veil-work-bits"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(next > bits || next == work::MAX_BITS, "work did not grow");
        bits = next;
    }
    assert_eq!(
        bits,
        work::MAX_BITS,
        "work is capped for the recipient's sake"
    );
    // The recipient: one refusal naming the work, one solve, one download.
    let n = work::solve(&id, &proof, bits);
    let r = get(proof.clone(), Some(n)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"secret");
    // A right proof resets the count.
    assert_eq!(get(proof, None).await.unwrap().status(), 200);
}

/// Every file under `dir`, read whole.
fn all_bytes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What someone holding a link (and its deletion link) could look for on a
/// seized disk: the id as text and bytes, the record slot derived from it,
/// the token and its hash, the proof verifier.
fn traces(id: &str, token: &str, proof_hash: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let id_bytes = b64.decode(id).unwrap();
    let parsed = blob_server::ids::BlobId::parse(id).unwrap();
    let token_bytes = b64.decode(token).unwrap();
    vec![
        ("id text".into(), id.as_bytes().to_vec()),
        ("id bytes".into(), id_bytes),
        ("slot".into(), blob_server::ids::slot(&parsed).0.to_vec()),
        ("token text".into(), token.as_bytes().to_vec()),
        (
            "token hash".into(),
            sha2::Sha256::digest(&token_bytes).to_vec(),
        ),
        ("proof hash".into(), b64.decode(proof_hash).unwrap()),
    ]
}

#[tokio::test]
async fn after_deletion_and_expiry_a_seized_disk_holds_nothing_that_confirms_a_link() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_with(dir.clone(), T0, |_| {}).await;
    let (_, hash) = proof_pair(5);
    let mut gone = Vec::new();
    // Deleted by its owner.
    let created = app
        .upload(vec![1; 5000], &[("Veil-Proof-Hash", &hash)])
        .await;
    let (id, token) = (
        created["id"].as_str().unwrap().to_owned(),
        created["delete_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(app.delete(&id, &token).await.status(), 204);
    gone.push((id, token));
    // Expired and swept (the sweeper runs at shutdown's flush too; force it by time).
    let created = app
        .upload(
            vec![2; 5000],
            &[("Veil-Proof-Hash", &hash), ("Veil-Expires-In", "10")],
        )
        .await;
    gone.push((
        created["id"].as_str().unwrap().to_owned(),
        created["delete_token"].as_str().unwrap().to_owned(),
    ));
    // An unfinished upload, terminated.
    let (location, id, token) = new_upload(&app, 100).await;
    let r = app.terminate(&location, &token).await;
    assert_eq!(r.status(), 204);
    gone.push((id, token));
    // One that stays: the judge must find it (proving the scan can fire).
    let created = app
        .upload(vec![3; 5000], &[("Veil-Proof-Hash", &hash)])
        .await;
    let live = (
        created["id"].as_str().unwrap().to_owned(),
        created["delete_token"].as_str().unwrap().to_owned(),
    );
    app.set_time(T0 + 11);
    let dir = app.stop().await;
    // Expiry is swept at the next start (or sweep); then a clean stop.
    let app = spawn_with(dir.clone(), T0 + 11, |_| {}).await;
    assert_eq!(app.get(&gone[1].0, None).await.status(), 404);
    // The sweeper's first pass at start-up removes the expired blob.
    app.settle("blobs", 1).await;
    assert_eq!(
        app.files_in("blobs").len(),
        1,
        "the expired blob was not swept"
    );
    let dir = app.stop().await;
    let files = all_bytes(dir.path());
    let slot = blob_server::ids::slot(&blob_server::ids::BlobId::parse(&live.0).unwrap());
    assert!(
        files.iter().any(|(_, b)| contains(b, &slot.0)),
        "the scan does not even find a live record"
    );
    for (id, token) in &gone {
        for (what, needle) in traces(id, token, &hash) {
            if what == "proof hash" {
                continue; // shared with the live blob in this test
            }
            for (path, bytes) in &files {
                assert!(
                    !contains(bytes, &needle),
                    "{what} of a removed blob is still in {}",
                    path.display()
                );
            }
        }
        let names: Vec<_> = files
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains(id.as_str())),
            "an id names a file: {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_all_at_once_get_no_more_free_checks() {
    use blob_server::throttle::FREE_FAILURES;
    let app = spawn_app().await;
    let (_, hash) = proof_pair(3);
    let id = app.upload_secret(&hash).await;
    let guesses = (0..60u8).map(|seed| {
        let (wrong, _) = proof_pair(100 + seed);
        let req = app
            .client
            .get(app.url(&format!("/api/v1/blobs/{id}")))
            .header("Veil-Proof", wrong);
        async move { req.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|&&s| s == 403).count();
    assert_eq!(checked, FREE_FAILURES as usize, "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 403 || s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_client_gone_mid_patch_still_has_what_arrived_recorded() {
    let app = spawn_app().await;
    let (location, _, _) = new_upload(&app, 10_000).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(
        format!(
            "PATCH {location} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: 10000\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s.write_all(&[5; 4000]).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The network fails: hyper drops the request. The write runs to its
    // end in its own task: the offset says 4000.
    drop(s);
    assert_eq!(offset_settled(&app, &location, 4000).await, Some(4000));
    let r = patch(&app, &location, 4000, vec![5; 6000].into()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(offset(&app, &location).await, Some(10_000));
}

#[tokio::test]
async fn terminating_an_upload_that_just_became_a_blob_deletes_the_blob() {
    // The last PATCH won the race with the DELETE: the token still works.
    let app = spawn_app().await;
    let (location, id, token) = new_upload(&app, 10).await;
    assert_eq!(
        patch(&app, &location, 0, vec![1; 10].into()).await.status(),
        204
    );
    assert_eq!(app.get(&id, None).await.status(), 200);
    let r = app.terminate(&location, &token).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get(&id, None).await.status(), 404);
}
