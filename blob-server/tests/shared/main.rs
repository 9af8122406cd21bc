//! Several blob-server instances over one PostgreSQL and one S3 bucket:
//! every guarantee holds across instances, and an outage of either store
//! is a clear 503 that ends when the store is back. One test runs the
//! scenarios in order over one set of services (starting PostgreSQL and
//! moto costs seconds); each scenario names itself in its failures.
//! `make test-garage` runs the same suite against Garage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod services;

use std::time::{Duration, Instant};

use blob_server::ids::{slot, BlobId};
use futures_util::future::join_all;
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use services::{refuses, Instance, Objects, Postgres, S3};
use tokio::sync::watch;

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OFFSET_STREAM: (&str, &str) = ("content-type", "application/offset+octet-stream");

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// `(id, delete_token)` of a one-request upload.
async fn upload(
    c: &Client,
    at: &Instance,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (String, String) {
    let mut req = c.post(at.url("/api/v1/blobs")).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 201, "upload: {:?}", resp.text().await);
    let v: serde_json::Value = resp.json().await.unwrap();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["delete_token"].as_str().unwrap().to_owned(),
    )
}

/// A GET's status and body; a body cut short is a failure of the test,
/// never an empty body.
async fn get(c: &Client, at: &Instance, id: &str) -> (StatusCode, Vec<u8>) {
    let resp = c
        .get(at.url(&format!("/api/v1/blobs/{id}")))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.bytes().await.expect("a download was cut short");
    (status, body.to_vec())
}

/// Creates a tus upload of `length` bytes; `(location path, id, token)`.
async fn tus_create(
    c: &Client,
    at: &Instance,
    length: usize,
    first: Option<Vec<u8>>,
) -> (String, String, String) {
    let mut req = c
        .post(at.url("/api/v1/uploads"))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string());
    if let Some(b) = first {
        req = req.header(OFFSET_STREAM.0, OFFSET_STREAM.1).body(b);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 201, "tus create: {:?}", resp.text().await);
    let h = resp.headers();
    (
        h["location"].to_str().unwrap().to_owned(),
        h["veil-blob-id"].to_str().unwrap().to_owned(),
        h["veil-delete-token"].to_str().unwrap().to_owned(),
    )
}

async fn tus_patch(
    c: &Client,
    at: &Instance,
    location: &str,
    offset: usize,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    c.patch(at.url(location))
        .header(TUS.0, TUS.1)
        .header(OFFSET_STREAM.0, OFFSET_STREAM.1)
        .header("upload-offset", offset.to_string())
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn tus_offset(c: &Client, at: &Instance, location: &str) -> (StatusCode, Option<usize>) {
    let resp = c
        .head(at.url(location))
        .header(TUS.0, TUS.1)
        .send()
        .await
        .unwrap();
    let offset = resp
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (resp.status(), offset)
}

/// Waits until `check` holds (at most `secs`), for effects of a sweep.
async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A body that sends `first`, then waits for `gate` before sending `rest`:
/// two requests made with it are both past their checks when released.
fn gated(first: Vec<u8>, rest: Vec<u8>, gate: watch::Receiver<bool>) -> reqwest::Body {
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) });
    let rest = futures_util::stream::once(async move {
        let mut gate = gate;
        let _ = gate.wait_for(|open| *open).await;
        Ok(rest)
    });
    reqwest::Body::wrap_stream(first.chain(rest))
}

/// Sends a PATCH from `offset` to each instance at once, each carrying
/// `body[offset..first]` and then, once both are past their checks,
/// `body[first..end]` (one end per instance); their statuses.
async fn race_patches(
    c: &Client,
    (a, b): (&Instance, &Instance),
    location: &str,
    body: &[u8],
    (offset, first): (usize, usize),
    (end_a, end_b): (usize, usize),
) -> (StatusCode, StatusCode) {
    let (open, gate) = watch::channel(false);
    let pa = gated(
        body[offset..first].to_vec(),
        body[first..end_a].to_vec(),
        gate.clone(),
    );
    let pb = gated(
        body[offset..first].to_vec(),
        body[first..end_b].to_vec(),
        gate,
    );
    let race = async {
        tokio::join!(
            async { tus_patch(c, a, location, offset, pa).await.status() },
            async { tus_patch(c, b, location, offset, pb).await.status() },
        )
    };
    let release = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        open.send(true).unwrap();
    };
    tokio::join!(race, release).0
}

/// `DELETE /api/v1/blobs/{id}` with the deletion token; the status.
async fn delete_blob(c: &Client, at: &Instance, id: &str, token: &str) -> StatusCode {
    c.delete(at.url(&format!("/api/v1/blobs/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The hex name of the object a blob's record names (or `None`).
fn object_of(pg: &Postgres, id: &str) -> Option<String> {
    let slot = slot(&BlobId::parse(id).unwrap());
    let hex: String = slot.0.iter().map(|b| format!("{b:02x}")).collect();
    let name = pg.query(&format!(
        "SELECT encode(object, 'hex') FROM veil_records WHERE slot = decode('{hex}', 'hex')"
    ));
    (!name.is_empty()).then_some(name)
}

fn count(pg: &Postgres, sql: &str) -> usize {
    pg.query(sql).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_over_postgres_and_s3() {
    let mut pg = Postgres::start();
    let mut s3 = S3::start();
    let sweep = ["--sweep-interval", "1"];
    // Both at once: the schema migration runs under a lock.
    let (a, b) = std::thread::scope(|t| {
        let a = t.spawn(|| Instance::start(&pg, &Objects::S3(&s3), &sweep));
        let b = t.spawn(|| Instance::start(&pg, &Objects::S3(&s3), &sweep));
        (a.join().unwrap(), b.join().unwrap())
    });
    // Every migration once (2: moderation and counters).
    assert_eq!(pg.query("SELECT count(*) FROM veil_schema"), "2");
    let c = Client::new();

    upload_on_one_download_on_the_other(&c, &a, &b).await;
    a_share_is_looked_at_and_fetched_in_part(&c, &a, &b).await;
    tus_started_on_one_finished_on_the_other(&c, &a, &b).await;
    two_final_patches_on_two_instances(&c, &a, &b).await;
    a_final_patch_racing_a_middle_one(&c, &a, &b).await;
    burn_is_served_once_across_instances(&c, &a, &b, &pg, &s3).await;
    limit_of_three_is_exact_across_instances(&c, &a, &b).await;
    stalled_uploads_do_not_block_others(&c, &a).await;
    expiry_and_deletion_are_seen_by_both(&c, &a, &b, &pg, &s3).await;
    let a = killed_mid_upload_leaves_nothing_partial(&c, a, &b, &pg, &s3).await;
    a_wrong_bucket_prefix_is_refused_at_start(&pg, &s3);
    postgres_outage_is_503_then_recovers(&c, &a, &b, &mut pg).await;
    if s3.is_local() {
        s3_outage_is_503_then_recovers(&c, &a, &b, &pg, &mut s3).await;
    }
}

/// The same guarantees with objects in a directory both instances share
/// (object_store's local file system, fsynced) instead of S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_over_postgres_and_a_shared_directory() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::Dir(dir.path());
    // Both instances take reports sealed to one operator and answer the
    // admin API; the counters are read fresh on every request.
    let op = veil_core::report::OperatorKey::generate().unwrap();
    let token = blob_server::ids::DeleteToken::generate().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let token_file = keys.path().join("admin.token");
    std::fs::write(&token_file, token.encode()).unwrap();
    let public = op.public();
    let moderation = [
        "--report-public-key",
        &public,
        "--admin-token-file",
        token_file.to_str().unwrap(),
        "--transparency-every",
        "0",
    ];
    let a = Instance::start(&pg, &objects, &moderation);
    let b = Instance::start(&pg, &objects, &moderation);
    let c = Client::new();
    counters_and_removals_are_one_across_instances(&c, &a, &b, &token.encode(), &pg).await;
    upload_on_one_download_on_the_other(&c, &a, &b).await;
    tus_started_on_one_finished_on_the_other(&c, &a, &b).await;
    two_final_patches_on_two_instances(&c, &a, &b).await;
    limit_of_three_is_exact_across_instances(&c, &a, &b).await;
    // Used-up blobs and joined parts leave no files: one per live blob,
    // and the store marker.
    let live = count(&pg, "SELECT count(*) FROM veil_records WHERE state = 1");
    eventually(10, "files of used-up blobs and joined parts erased", || {
        files_under(dir.path()) == live + 1
    })
    .await;
}

/// The counters are exact with both instances counting at once; a report
/// taken by one is decided on the other; a removal on one is a 410 on
/// both, for good.
async fn counters_and_removals_are_one_across_instances(
    c: &Client,
    a: &Instance,
    b: &Instance,
    admin: &str,
    pg: &Postgres,
) {
    let before = transparency(c, a).await;
    let ups = join_all((0..16).map(|i| {
        let at = if i % 2 == 0 { a } else { b };
        upload(c, at, data(100, i as u8), &[])
    }))
    .await;
    let gets = join_all((0..32).map(|i| {
        let at = if i % 2 == 0 { b } else { a };
        get(c, at, &ups[i % 16].0)
    }))
    .await;
    assert!(gets.iter().all(|(s, _)| *s == StatusCode::OK));
    let after = transparency(c, b).await;
    let diff = |f: &dyn Fn(&serde_json::Value) -> u64| f(&after) - f(&before);
    assert_eq!(
        diff(&|v| v["uploads"].as_u64().unwrap()),
        16,
        "counters: uploads"
    );
    assert_eq!(
        diff(&|v| v["downloads"].as_u64().unwrap()),
        32,
        "counters: downloads"
    );
    assert_eq!(
        diff(&|v| v["stored"]["blobs"].as_u64().unwrap()),
        16,
        "counters: stored"
    );

    let id = &ups[0].0;
    let r = c
        .post(a.url("/api/v1/reports"))
        .header("user-agent", "reporter-agent-3c9e")
        .json(&serde_json::json!({ "id": id, "category": "malware", "text": "across" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "report on a");
    let listed: serde_json::Value = c
        .get(b.url("/api/v1/admin/reports"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rid = listed["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["text"] == "across")
        .expect("the report taken by a is listed by b")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = c
        .post(b.url(&format!("/api/v1/admin/reports/{rid}/remove")))
        .bearer_auth(admin)
        .json(&serde_json::json!({ "reason": "malware" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "removal on b");
    for at in [a, b] {
        assert_eq!(
            get(c, at, id).await.0,
            StatusCode::GONE,
            "removed: 410 on both"
        );
        let look = c
            .get(at.url(&format!("/api/v1/blobs/{id}/head")))
            .send()
            .await
            .unwrap();
        assert_eq!(look.status(), StatusCode::GONE, "removed: look 410");
    }
    // Nothing about the reporter in any table: not the user agent, not an
    // address, and no blob id (records name slots).
    for table in [
        "veil_records",
        "veil_reports",
        "veil_removed",
        "veil_counters",
        "veil_parts",
        "veil_store",
        "veil_jobs",
    ] {
        for needle in ["reporter-agent-3c9e", "127.0.0.1", id.as_str()] {
            let sql = format!("SELECT count(*) FROM {table} t WHERE t::text LIKE '%{needle}%'");
            assert_eq!(count(pg, &sql), 0, "{needle} in {table}");
        }
    }
    let end = transparency(c, a).await;
    assert_eq!(
        end["deletions"]["by_operator"].as_u64().unwrap()
            - before["deletions"]["by_operator"].as_u64().unwrap(),
        1
    );
    assert_eq!(
        end["reports"]["actioned"].as_u64().unwrap()
            - before["reports"]["actioned"].as_u64().unwrap(),
        1
    );
}

async fn transparency(c: &Client, at: &Instance) -> serde_json::Value {
    c.get(at.url("/api/v1/transparency"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An upload challenge handed out by one instance is accepted by another
/// (they share the key through PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_work_is_accepted_by_any_instance() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::Dir(dir.path());
    let a = Instance::start(&pg, &objects, &["--upload-work", "6"]);
    let b = Instance::start(&pg, &objects, &["--upload-work", "6"]);
    let c = Client::new();
    let r = c
        .post(a.url("/api/v1/blobs"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let challenge = r.headers()["veil-work-challenge"]
        .to_str()
        .unwrap()
        .to_owned();
    let bits: u8 = r.headers()["veil-work-bits"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let work = format!(
        "{challenge} {}",
        veil_core::work::solve_upload(&challenge, bits)
    );
    let r = c
        .post(b.url("/api/v1/blobs"))
        .header("veil-work", &work)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "a's challenge on b");
}

#[test]
fn the_database_password_is_not_shown_by_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_blob-server"))
        .arg("--help")
        .env("VEIL_META", "postgres://veil:hunter2-secret@db/veil")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--meta"), "{text}");
    assert!(
        !text.contains("hunter2-secret"),
        "--help shows the password"
    );
}

/// Regular files under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    files_under(&p)
                } else {
                    1
                }
            })
            .sum()
    })
}

async fn upload_on_one_download_on_the_other(c: &Client, a: &Instance, b: &Instance) {
    for size in [0, 1000, 12 * 1024 * 1024 + 7] {
        let body = data(size, 1);
        let (id, _) = upload(c, a, body.clone(), &[]).await;
        let (status, got) = get(c, b, &id).await;
        assert_eq!(status, 200, "cross-instance download of {size} bytes");
        assert!(
            got == body,
            "cross-instance download of {size} bytes: bytes differ"
        );
        let head = c
            .head(b.url(&format!("/api/v1/blobs/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(head.headers()["content-length"], size.to_string().as_str());
    }
}

/// A share's head (consuming nothing) and one range of it (one download)
/// from the object store: the shared engine's `look` and ranged claim.
async fn a_share_is_looked_at_and_fetched_in_part(c: &Client, a: &Instance, b: &Instance) {
    use veil_core::{Encryptor, Link, Manifest, Metadata, DEFAULT_RECORD_SIZE};
    let link = Link::generate(None).unwrap();
    let key = link.unlock(None).unwrap();
    let files = [data(200_000, 3), data(70_000, 4)];
    let manifest = Manifest::share(
        files
            .iter()
            .enumerate()
            .map(|(i, f)| Metadata {
                name: format!("f{i}"),
                mime: String::new(),
                size: f.len() as u64,
                report: vec![],
            })
            .collect(),
    )
    .unwrap();
    let mut enc = Encryptor::for_manifest(&key, &manifest, DEFAULT_RECORD_SIZE).unwrap();
    let mut container = enc.header().to_vec();
    for f in &files {
        container.extend(enc.push(f).unwrap());
    }
    container.extend(enc.finish().unwrap());
    let proof = key.download_proof();
    let hash = proof.verifier_base64();
    let (id, _) = upload(
        c,
        a,
        container.clone(),
        &[("Veil-Proof-Hash", &hash), ("Veil-Max-Downloads", "1")],
    )
    .await;
    let p = proof.to_base64().to_string();
    let head_len = 60 + u32::from_be_bytes(container[56..60].try_into().unwrap()) as usize;
    for _ in 0..2 {
        let resp = c
            .get(b.url(&format!("/api/v1/blobs/{id}/head")))
            .header("Veil-Proof", &p)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "look");
        assert!(resp.bytes().await.unwrap()[..] == container[..head_len]);
    }
    let resp = c
        .get(b.url(&format!("/api/v1/blobs/{id}")))
        .header("Veil-Proof", &p)
        .header("Range", format!("bytes={head_len}-{}", head_len + 999))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert!(resp.bytes().await.unwrap()[..] == container[head_len..head_len + 1000]);
    // That was the one download.
    assert_eq!(get(c, a, &id).await.0, 404);
}

async fn tus_started_on_one_finished_on_the_other(c: &Client, a: &Instance, b: &Instance) {
    let body = data(9 * 1024 * 1024 + 3, 2);
    let (loc, id, _) = tus_create(c, a, body.len(), Some(body[..1_000_000].to_vec())).await;
    assert_eq!(
        tus_offset(c, b, &loc).await,
        (StatusCode::OK, Some(1_000_000)),
        "offset seen on the other instance"
    );
    // Two PATCHes from the same offset on two instances, both past the
    // offset check before either records anything: the record decides,
    // one wins, the other is told the offset moved.
    let (sa, sb) = race_patches(
        c,
        (a, b),
        &loc,
        &body,
        (1_000_000, 2_000_000),
        (5_000_000, 6_000_000),
    )
    .await;
    let mut codes = [sa.as_u16(), sb.as_u16()];
    codes.sort_unstable();
    assert_eq!(codes, [204, 409], "racing PATCHes on two instances");
    let (_, Some(offset)) = tus_offset(c, a, &loc).await else {
        panic!("no offset after the race");
    };
    assert!(
        offset == 5_000_000 || offset == 6_000_000,
        "offset {offset} after the race"
    );
    let done = tus_patch(c, b, &loc, offset, body[offset..].to_vec()).await;
    assert_eq!(done.status(), 204, "final PATCH on the other instance");
    assert!(done.headers().contains_key("veil-expires-at"));
    let (status, got) = get(c, a, &id).await;
    assert_eq!(status, 200);
    assert!(got == body, "tus upload across instances: bytes differ");
}

/// The last bytes sent twice at once, to two instances: exactly one makes
/// the blob, and the other's loss does not touch it.
async fn two_final_patches_on_two_instances(c: &Client, a: &Instance, b: &Instance) {
    let body = data(7 * 1024 * 1024, 11);
    let (loc, id, _) = tus_create(c, a, body.len(), Some(body[..1_000_000].to_vec())).await;
    let n = body.len();
    let (sa, sb) = race_patches(c, (a, b), &loc, &body, (1_000_000, 2_000_000), (n, n)).await;
    let mut codes = [sa.as_u16(), sb.as_u16()];
    codes.sort_unstable();
    assert!(
        codes == [204, 404] || codes == [204, 409],
        "two final PATCHes: {codes:?}"
    );
    for at in [a, b, a] {
        let (status, got) = get(c, at, &id).await;
        assert_eq!(status, 200, "the blob after two final PATCHes");
        assert!(got == body, "two final PATCHes: bytes differ");
    }
    assert_eq!(
        tus_offset(c, b, &loc).await,
        (StatusCode::OK, Some(body.len()))
    );
}

/// A final PATCH on one instance and a middle one on the other, from the
/// same offset: each answers 204 or 409 (never 500 or 404), and resuming
/// from `HEAD` completes the blob intact.
async fn a_final_patch_racing_a_middle_one(c: &Client, a: &Instance, b: &Instance) {
    let body = data(4 * 1024 * 1024, 14);
    let (loc, id, _) = tus_create(c, a, body.len(), Some(body[..1_000_000].to_vec())).await;
    let n = body.len();
    let (sa, sb) = race_patches(
        c,
        (a, b),
        &loc,
        &body,
        (1_000_000, 1_500_000),
        (n, 2_000_000),
    )
    .await;
    for s in [sa, sb] {
        assert!(
            s == 204 || s == 409,
            "a final PATCH racing a middle one: {sa} {sb}"
        );
    }
    let (_, Some(offset)) = tus_offset(c, b, &loc).await else {
        panic!("no offset after the race");
    };
    if offset < body.len() {
        let done = tus_patch(c, b, &loc, offset, body[offset..].to_vec()).await;
        assert_eq!(done.status(), 204, "resuming from {offset}");
    }
    let (status, got) = get(c, a, &id).await;
    assert_eq!(status, 200);
    assert!(
        got == body,
        "a final PATCH racing a middle one: bytes differ"
    );
}

/// 50 GETs spread over both instances; every 200 carries the whole blob.
async fn race(c: &Client, a: &Instance, b: &Instance, id: &str, n: usize, body: &[u8]) -> usize {
    let gets = (0..n).map(|i| {
        let at = if i % 2 == 0 { a } else { b };
        get(c, at, id)
    });
    let results = join_all(gets).await;
    for (status, got) in &results {
        assert!(
            *status == 200 || *status == 404,
            "every answer is 200 or 404, not {status}"
        );
        if *status == 200 {
            assert!(got == body, "a granted download carries the whole blob");
        }
    }
    results.iter().filter(|(s, _)| *s == 200).count()
}

async fn burn_is_served_once_across_instances(
    c: &Client,
    a: &Instance,
    b: &Instance,
    pg: &Postgres,
    s3: &S3,
) {
    let body = data(300_000, 3);
    let (id, _) = upload(c, a, body.clone(), &[("veil-max-downloads", "1")]).await;
    let object = object_of(pg, &id).unwrap();
    assert!(s3.has(&format!("b/{object}")).unwrap_or(true));
    let ok = race(c, a, b, &id, 50, &body).await;
    assert_eq!(
        ok, 1,
        "a burn link raced by 50 downloads over two instances"
    );
    assert_eq!(get(c, b, &id).await.0, 404);
    assert_eq!(get(c, a, &id).await.0, 404);
    if s3.is_local() {
        eventually(10, "the burned blob's object erased", || {
            s3.has(&format!("b/{object}")) == Some(false)
        })
        .await;
    }
}

/// Slow uploads hold a spool file each, not memory or a turn: a hundred
/// stalled ones do not stop the next upload.
async fn stalled_uploads_do_not_block_others(c: &Client, a: &Instance) {
    let (_never, gate) = watch::channel(false);
    let stalled: Vec<_> = (0..100)
        .map(|_| {
            let req = c
                .post(a.url("/api/v1/blobs"))
                .body(gated(vec![7; 64 * 1024], vec![0], gate.clone()))
                .send();
            tokio::spawn(req)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let body = data(6 * 1024 * 1024, 13);
    let started = Instant::now();
    let (id, _) = upload(c, a, body.clone(), &[]).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "an upload beside 100 stalled ones took {:?}",
        started.elapsed()
    );
    assert!(get(c, a, &id).await.1 == body);
    for s in stalled {
        s.abort();
    }
}

async fn limit_of_three_is_exact_across_instances(c: &Client, a: &Instance, b: &Instance) {
    let body = data(70_000, 4);
    let (id, _) = upload(c, b, body.clone(), &[("veil-max-downloads", "3")]).await;
    let ok = race(c, a, b, &id, 50, &body).await;
    assert_eq!(
        ok, 3,
        "a limit of 3 raced by 50 downloads over two instances"
    );
}

async fn expiry_and_deletion_are_seen_by_both(
    c: &Client,
    a: &Instance,
    b: &Instance,
    pg: &Postgres,
    s3: &S3,
) {
    let (short, _) = upload(c, a, data(5000, 5), &[("veil-expires-in", "1")]).await;
    let (deleted, token) = upload(c, a, data(5000, 6), &[]).await;
    let objects = [
        object_of(pg, &short).unwrap(),
        object_of(pg, &deleted).unwrap(),
    ];
    assert_eq!(
        delete_blob(c, b, &deleted, &token).await,
        204,
        "deletion on the other instance"
    );
    assert_eq!(get(c, a, &deleted).await.0, 404, "deleted on B, gone on A");
    assert_eq!(get(c, b, &deleted).await.0, 404);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(get(c, a, &short).await.0, 404, "expired, seen by A");
    assert_eq!(get(c, b, &short).await.0, 404, "expired, seen by B");
    // The sweepers (both, every second) erase both objects and leave
    // purged tombstones, without the hashes.
    if s3.is_local() {
        eventually(20, "the expired and the deleted objects erased", || {
            objects
                .iter()
                .all(|o| s3.has(&format!("b/{o}")) == Some(false))
        })
        .await;
    }
    eventually(20, "tombstones purged", || {
        count(
            pg,
            "SELECT count(*) FROM veil_records WHERE state = 2 AND NOT purged",
        ) == 0
    })
    .await;
    assert_eq!(
        count(pg, "SELECT count(*) FROM veil_records WHERE state = 2 AND (length(delete_hash) > 0 OR proof_hash IS NOT NULL)"),
        0,
        "purged tombstones keep no hashes"
    );
    // A terminated upload stays terminated for a late PATCH on the other instance.
    let (loc, _, token) = tus_create(c, a, 10, None).await;
    let resp = c
        .delete(a.url(&loc))
        .header(TUS.0, TUS.1)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "tus termination");
    assert_eq!(
        tus_patch(c, b, &loc, 0, vec![0; 10]).await.status(),
        404,
        "a late PATCH after termination"
    );
    assert_eq!(tus_offset(c, b, &loc).await.0, 404);
    // Deleting an expired blob finds nothing.
    let (expiring, token) = upload(c, a, data(10, 12), &[("veil-expires-in", "1")]).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        delete_blob(c, b, &expiring, &token).await,
        404,
        "deleting an expired blob"
    );
    // Tombstones stay (purged) after their objects are erased.
    let tombstones = count(
        pg,
        "SELECT count(*) FROM veil_records WHERE state = 2 AND purged",
    );
    assert!(tombstones >= 3, "tombstones kept: {tombstones}");
}

/// Kills A with SIGKILL while a PATCH and a one-request upload are in the
/// middle of their bodies, past the first 5 MiB part (so parts are already
/// in the bucket); B serves nothing partial, the tus upload resumes on B
/// from what was recorded, and the one-request upload left no record.
/// Returns a fresh A.
async fn killed_mid_upload_leaves_nothing_partial(
    c: &Client,
    a: Instance,
    b: &Instance,
    pg: &Postgres,
    s3: &S3,
) -> Instance {
    let body = data(16 * 1024 * 1024, 7);
    let (loc, id, _) = tus_create(c, &a, body.len(), None).await;
    let sent = 12 * 1024 * 1024;
    let (_never, gate) = watch::channel(false);
    let patch = c
        .patch(a.url(&loc))
        .header(TUS.0, TUS.1)
        .header(OFFSET_STREAM.0, OFFSET_STREAM.1)
        .header("upload-offset", "0")
        .body(gated(body[..sent].to_vec(), vec![0], gate.clone()))
        .send();
    let one_shot = c
        .post(a.url("/api/v1/blobs"))
        .body(gated(body[..sent].to_vec(), vec![0], gate))
        .send();
    let live = count(pg, "SELECT count(*) FROM veil_records WHERE state = 1");
    let kill = async {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        a.kill();
    };
    let ((_p, _o), ()) = tokio::join!(async { tokio::join!(patch, one_shot) }, kill);
    assert_eq!(
        get(c, b, &id).await.0,
        404,
        "an unfinished upload is not a blob"
    );
    let (status, offset) = tus_offset(c, b, &loc).await;
    assert_eq!(status, 200);
    let offset = offset.unwrap();
    assert_eq!(offset, 0, "a PATCH that never ended recorded nothing");
    let done = tus_patch(c, b, &loc, offset, body[offset..].to_vec()).await;
    assert_eq!(done.status(), 204, "resumed on B from {offset}");
    let (status, got) = get(c, b, &id).await;
    assert_eq!(status, 200);
    assert!(got == body, "resumed after SIGKILL: bytes differ");
    assert_eq!(
        count(pg, "SELECT count(*) FROM veil_records WHERE state = 1"),
        live + 1,
        "the half-sent one-request upload left no record"
    );
    // What the killed instance had sent of its two bodies stays as
    // unfinished multipart uploads, invisible (DEPLOY.md: the bucket's
    // lifecycle rule removes them).
    if let Some(open) = s3.open_multipart_uploads() {
        assert!(
            open >= 1,
            "the killed uploads are open multipart uploads: {open}"
        );
    }
    Instance::start(pg, &Objects::S3(s3), &["--sweep-interval", "1"])
}

/// An instance pointed at another prefix of the bucket would see every
/// blob as missing: it refuses to start instead.
fn a_wrong_bucket_prefix_is_refused_at_start(pg: &Postgres, s3: &S3) {
    let wrong = s3.elsewhere("elsewhere");
    let (refused, stderr) = refuses(pg, &Objects::S3(&wrong));
    assert!(refused, "an instance on the wrong prefix started: {stderr}");
    assert!(stderr.contains("not the one these records"), "{stderr}");
}

/// Retries `f` until it gives 2xx (at most 30 s).
async fn until_ok<F, Fut>(what: &str, mut f: F) -> reqwest::Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = f().await;
        if resp.status().is_success() {
            return resp;
        }
        assert_ne!(resp.status(), 500, "{what}: a 500 while recovering");
        assert!(
            Instant::now() < deadline,
            "{what}: no recovery within 30 s ({})",
            resp.status()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn assert_unavailable(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 503, "{what}");
    assert!(
        resp.headers().contains_key("retry-after"),
        "{what}: Retry-After"
    );
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        v["error"], "storage unavailable; try again shortly",
        "{what}"
    );
}

/// A GET while a store hangs: a 503 within the call deadlines, not a
/// connection dropped by the stall guard.
async fn unavailable_in_time(c: &Client, url: &str, what: &str) {
    let started = Instant::now();
    assert_unavailable(
        c.get(url).send().await.unwrap(),
        &format!("GET with {what}"),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(25),
        "GET with {what} took {took:?}"
    );
}

/// A download and an upload while a store is out: clear 503s.
async fn get_and_post_unavailable(c: &Client, at: &Instance, id: &str, what: &str) {
    let blob = at.url(&format!("/api/v1/blobs/{id}"));
    assert_unavailable(c.get(&blob).send().await.unwrap(), &format!("GET {what}")).await;
    let post = c.post(at.url("/api/v1/blobs")).body(vec![1; 10]).send();
    assert_unavailable(post.await.unwrap(), &format!("POST {what}")).await;
}

/// Every kind of request while a store is out: a clear 503.
async fn all_unavailable(c: &Client, at: &Instance, id: &str, upload: &str, what: &str) {
    get_and_post_unavailable(c, at, id, what).await;
    let blob = at.url(&format!("/api/v1/blobs/{id}"));
    assert_unavailable(
        c.delete(&blob)
            .bearer_auth("A".repeat(43))
            .send()
            .await
            .unwrap(),
        &format!("DELETE {what}"),
    )
    .await;
    assert_eq!(tus_offset(c, at, upload).await.0, 503, "tus HEAD {what}");
    let patch = tus_patch(c, at, upload, 0, vec![1; 10]).await;
    assert_eq!(patch.status(), 503, "tus PATCH {what}");
}

async fn postgres_outage_is_503_then_recovers(
    c: &Client,
    a: &Instance,
    b: &Instance,
    pg: &mut Postgres,
) {
    let body = data(100_000, 8);
    let (id, _) = upload(c, a, body.clone(), &[]).await;
    let (loc, _, _) = tus_create(c, a, 100, None).await;
    // Hung (SIGSTOP): answers within the call timeout, not a dropped connection.
    pg.freeze(true);
    unavailable_in_time(c, &a.url(&format!("/api/v1/blobs/{id}")), "PostgreSQL hung").await;
    pg.freeze(false);
    until_ok("GET after PostgreSQL thaws", || {
        c.get(a.url(&format!("/api/v1/blobs/{id}")))
            .send()
            .map_ok_unwrap()
    })
    .await;
    // Stopped.
    pg.pause();
    for at in [a, b] {
        all_unavailable(c, at, &id, &loc, "without PostgreSQL").await;
    }
    pg.resume();
    for at in [a, b] {
        let resp = until_ok("GET after PostgreSQL returns", || {
            c.get(at.url(&format!("/api/v1/blobs/{id}")))
                .send()
                .map_ok_unwrap()
        })
        .await;
        assert!(resp.bytes().await.unwrap() == body);
        until_ok("POST after PostgreSQL returns", || {
            c.post(at.url("/api/v1/blobs"))
                .body(vec![2; 10])
                .send()
                .map_ok_unwrap()
        })
        .await;
    }
}

async fn s3_outage_is_503_then_recovers(
    c: &Client,
    a: &Instance,
    b: &Instance,
    pg: &Postgres,
    s3: &mut S3,
) {
    let (id, _) = upload(c, a, data(100_000, 9), &[]).await;
    let (loc, _, _) = tus_create(c, a, 100, None).await;
    s3.freeze(true);
    unavailable_in_time(c, &b.url(&format!("/api/v1/blobs/{id}")), "S3 hung").await;
    s3.freeze(false);
    s3.pause();
    for at in [a, b] {
        get_and_post_unavailable(c, at, &id, "without S3").await;
        assert_eq!(
            tus_patch(c, at, &loc, 0, vec![1; 10]).await.status(),
            503,
            "tus PATCH without S3"
        );
    }
    // moto comes back empty (it keeps objects in memory): the old blob's
    // object is lost. A fresh record whose object is missing is not given
    // up (the store may be catching up): 503, and the record stays.
    s3.resume();
    let body = data(50_000, 10);
    let resp = until_ok("POST after S3 returns", || {
        c.post(a.url("/api/v1/blobs"))
            .body(body.clone())
            .send()
            .map_ok_unwrap()
    })
    .await;
    let v: serde_json::Value = resp.json().await.unwrap();
    let (status, got) = get(c, b, v["id"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(got == body);
    assert_eq!(
        get(c, b, &id).await.0,
        503,
        "a fresh record whose object is missing"
    );
    assert!(object_of(pg, &id).is_some());
    // Ten minutes later (the record is backdated), still not given up: the
    // store lost this deployment's store id with its data, which is an
    // operator's matter, not a reason to tombstone every blob.
    pg.query("UPDATE veil_records SET expires_in = expires_in + 3600 WHERE state = 1");
    assert_eq!(
        get(c, b, &id).await.0,
        503,
        "an old record, and a store without its id"
    );
    // With the store id back, an old record whose object is missing becomes a tombstone.
    s3.put_marker(&pg.query("SELECT id FROM veil_store"));
    assert_eq!(
        get(c, b, &id).await.0,
        404,
        "an old record whose object is missing is gone, not an error"
    );
    assert_eq!(get(c, a, &id).await.0, 404);
}

/// `send()` futures unwrapped, for [`until_ok`].
trait MapOkUnwrap {
    fn map_ok_unwrap(self) -> impl std::future::Future<Output = reqwest::Response>;
}

impl<F: std::future::Future<Output = reqwest::Result<reqwest::Response>>> MapOkUnwrap for F {
    async fn map_ok_unwrap(self) -> reqwest::Response {
        self.await.unwrap()
    }
}
