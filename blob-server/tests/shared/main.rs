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

use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use services::{Instance, Objects, Postgres, S3};

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

async fn get(c: &Client, at: &Instance, id: &str) -> (StatusCode, Vec<u8>) {
    let resp = c
        .get(at.url(&format!("/api/v1/blobs/{id}")))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
    )
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
    body: Vec<u8>,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_over_postgres_and_s3() {
    let mut pg = Postgres::start();
    let mut s3 = S3::start();
    let sweep = ["--sweep-interval", "1"];
    let a = Instance::start(&pg, &Objects::S3(&s3), &sweep);
    let b = Instance::start(&pg, &Objects::S3(&s3), &sweep);
    let c = Client::new();

    upload_on_one_download_on_the_other(&c, &a, &b).await;
    tus_started_on_one_finished_on_the_other(&c, &a, &b).await;
    burn_is_served_once_across_instances(&c, &a, &b).await;
    limit_of_three_is_exact_across_instances(&c, &a, &b).await;
    expiry_and_deletion_are_seen_by_both(&c, &a, &b, &pg, &s3).await;
    let a = killed_mid_upload_leaves_nothing_partial(&c, a, &b, &pg, &s3).await;
    postgres_outage_is_503_then_recovers(&c, &a, &b, &mut pg).await;
    if s3.is_local() {
        s3_outage_is_503_then_recovers(&c, &a, &b, &mut s3).await;
    }
}

/// The same guarantees with objects in a directory both instances share
/// (object_store's local file system, fsynced) instead of S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_over_postgres_and_a_shared_directory() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::Dir(dir.path());
    let a = Instance::start(&pg, &objects, &[]);
    let b = Instance::start(&pg, &objects, &[]);
    let c = Client::new();
    upload_on_one_download_on_the_other(&c, &a, &b).await;
    tus_started_on_one_finished_on_the_other(&c, &a, &b).await;
    burn_is_served_once_across_instances(&c, &a, &b).await;
    limit_of_three_is_exact_across_instances(&c, &a, &b).await;
    // Used-up blobs and joined parts leave no files: one per live blob.
    let live: usize = pg
        .query("SELECT count(*) FROM veil_records WHERE state = 1")
        .parse()
        .unwrap();
    eventually(10, "files of used-up blobs and joined parts erased", || {
        files_under(dir.path()) == live
    })
    .await;
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

async fn tus_started_on_one_finished_on_the_other(c: &Client, a: &Instance, b: &Instance) {
    let body = data(9 * 1024 * 1024 + 3, 2);
    let (loc, id, _) = tus_create(c, a, body.len(), Some(body[..1_000_000].to_vec())).await;
    assert_eq!(
        tus_offset(c, b, &loc).await,
        (StatusCode::OK, Some(1_000_000)),
        "offset seen on the other instance"
    );
    // Two PATCHes at the same offset on two instances at once: one wins,
    // the other is told the offset moved.
    let (ra, rb) = tokio::join!(
        tus_patch(c, a, &loc, 1_000_000, body[1_000_000..5_000_000].to_vec()),
        tus_patch(c, b, &loc, 1_000_000, body[1_000_000..6_000_000].to_vec()),
    );
    let mut codes = [ra.status().as_u16(), rb.status().as_u16()];
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

async fn race(c: &Client, a: &Instance, b: &Instance, id: &str, n: usize) -> (usize, usize) {
    let gets = (0..n).map(|i| {
        let at = if i % 2 == 0 { a } else { b };
        get(c, at, id)
    });
    let results = join_all(gets).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let gone = results.iter().filter(|(s, _)| *s == 404).count();
    assert_eq!(
        ok + gone,
        n,
        "every answer is 200 or 404: {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    (ok, gone)
}

async fn burn_is_served_once_across_instances(c: &Client, a: &Instance, b: &Instance) {
    let body = data(300_000, 3);
    let (id, _) = upload(c, a, body.clone(), &[("veil-max-downloads", "1")]).await;
    let (ok, _) = race(c, a, b, &id, 50).await;
    assert_eq!(
        ok, 1,
        "a burn link raced by 50 downloads over two instances"
    );
    assert_eq!(get(c, b, &id).await.0, 404);
    assert_eq!(get(c, a, &id).await.0, 404);
}

async fn limit_of_three_is_exact_across_instances(c: &Client, a: &Instance, b: &Instance) {
    let body = data(70_000, 4);
    let (id, _) = upload(c, b, body, &[("veil-max-downloads", "3")]).await;
    let (ok, _) = race(c, a, b, &id, 50).await;
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
    let before = s3.object_count();
    let resp = c
        .delete(b.url(&format!("/api/v1/blobs/{deleted}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "deletion on the other instance");
    assert_eq!(get(c, a, &deleted).await.0, 404, "deleted on B, gone on A");
    assert_eq!(get(c, b, &deleted).await.0, 404);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(get(c, a, &short).await.0, 404, "expired, seen by A");
    assert_eq!(get(c, b, &short).await.0, 404, "expired, seen by B");
    // The sweepers (both, every second) erase both objects and leave
    // tombstones, purged.
    if let Some(before) = before {
        eventually(20, "expired and deleted objects erased", || {
            s3.object_count().is_some_and(|n| n + 2 <= before)
        })
        .await;
    }
    eventually(20, "tombstones purged", || {
        pg.query("SELECT count(*) FROM veil_records WHERE state = 2 AND NOT purged") == "0"
    })
    .await;
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
    // Tombstones stay (purged) after their objects are erased.
    let tombstones: usize = pg
        .query("SELECT count(*) FROM veil_records WHERE state = 2 AND purged")
        .parse()
        .unwrap();
    assert!(tombstones >= 3, "tombstones kept: {tombstones}");
}

/// Kills A with SIGKILL while a PATCH is half sent and while a one-request
/// upload is half sent; B serves nothing partial, and the tus upload
/// resumes on B from what was recorded. Returns a fresh A.
async fn killed_mid_upload_leaves_nothing_partial(
    c: &Client,
    a: Instance,
    b: &Instance,
    pg: &Postgres,
    s3: &S3,
) -> Instance {
    let body = data(8 * 1024 * 1024, 7);
    let (loc, id, _) = tus_create(c, &a, body.len(), None).await;
    // Bodies that send their first half, then wait forever.
    let half = body.len() / 2;
    let stalled = |bytes: Vec<u8>| {
        let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
        reqwest::Body::wrap_stream(futures_util::StreamExt::chain(
            first,
            futures_util::stream::pending(),
        ))
    };
    let patch = c
        .patch(a.url(&loc))
        .header(TUS.0, TUS.1)
        .header(OFFSET_STREAM.0, OFFSET_STREAM.1)
        .header("upload-offset", "0")
        .body(stalled(body[..half].to_vec()))
        .send();
    let one_shot = c
        .post(a.url("/api/v1/blobs"))
        .body(stalled(body[..half].to_vec()))
        .send();
    let requests = tokio::spawn(async move { tokio::join!(patch, one_shot) });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill();
    let _ = requests.await;
    assert_eq!(
        get(c, b, &id).await.0,
        404,
        "an unfinished upload is not a blob"
    );
    let live: usize = pg
        .query("SELECT count(*) FROM veil_records WHERE state = 1 AND expires_at > extract(epoch from now())")
        .parse()
        .unwrap();
    let (status, offset) = tus_offset(c, b, &loc).await;
    assert_eq!(status, 200);
    let offset = offset.unwrap();
    assert!(
        offset < body.len(),
        "the killed PATCH cannot have completed"
    );
    let done = tus_patch(c, b, &loc, offset, body[offset..].to_vec()).await;
    assert_eq!(done.status(), 204, "resumed on B from {offset}");
    let (status, got) = get(c, b, &id).await;
    assert_eq!(status, 200);
    assert!(got == body, "resumed after SIGKILL: bytes differ");
    let after: usize = pg
        .query("SELECT count(*) FROM veil_records WHERE state = 1 AND expires_at > extract(epoch from now())")
        .parse()
        .unwrap();
    assert_eq!(
        after,
        live + 1,
        "the half-sent one-request upload left no record"
    );
    Instance::start(pg, &Objects::S3(s3), &["--sweep-interval", "1"])
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

async fn postgres_outage_is_503_then_recovers(
    c: &Client,
    a: &Instance,
    b: &Instance,
    pg: &mut Postgres,
) {
    let body = data(100_000, 8);
    let (id, _) = upload(c, a, body.clone(), &[]).await;
    pg.pause();
    for at in [a, b] {
        assert_unavailable(
            c.get(at.url(&format!("/api/v1/blobs/{id}")))
                .send()
                .await
                .unwrap(),
            "GET without PostgreSQL",
        )
        .await;
        assert_unavailable(
            c.post(at.url("/api/v1/blobs"))
                .body(vec![1; 10])
                .send()
                .await
                .unwrap(),
            "POST without PostgreSQL",
        )
        .await;
        let tus = c
            .post(at.url("/api/v1/uploads"))
            .header(TUS.0, TUS.1)
            .header("upload-length", "10")
            .send()
            .await
            .unwrap();
        assert_eq!(tus.status(), 503, "tus POST without PostgreSQL");
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

async fn s3_outage_is_503_then_recovers(c: &Client, a: &Instance, b: &Instance, s3: &mut S3) {
    let (id, _) = upload(c, a, data(100_000, 9), &[]).await;
    s3.pause();
    for at in [a, b] {
        assert_unavailable(
            c.get(at.url(&format!("/api/v1/blobs/{id}")))
                .send()
                .await
                .unwrap(),
            "GET without S3",
        )
        .await;
        assert_unavailable(
            c.post(at.url("/api/v1/blobs"))
                .body(vec![1; 10])
                .send()
                .await
                .unwrap(),
            "POST without S3",
        )
        .await;
    }
    // moto comes back empty: the old blob's object is missing, so its
    // record becomes a tombstone (404, not 500); new blobs work.
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
        404,
        "a record whose object is lost is gone, not an error"
    );
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
