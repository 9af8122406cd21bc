//! Reports, the operator's tools, the removal list, the public counters
//! and the upload limits, against a real server (and the real
//! `blob-server admin` binary for the operator's side).

use std::sync::Arc;

use crate::helpers::{open_store, spawn_with, TestApp, T0};
use crate::shares::share;

/// What an operator set up with `blob-server admin keygen`.
struct Operator {
    dir: tempfile::TempDir,
    public: String,
    token: String,
}

fn keygen() -> Operator {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_blob-server"))
        .args(["admin", "keygen"])
        .arg(&keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("report public key (--report-public-key): "))
        .unwrap()
        .to_owned();
    let token = std::fs::read_to_string(keys.join("admin.token"))
        .unwrap()
        .trim()
        .to_owned();
    // The private key file is the operator's only: 0600.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(keys.join("report.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    Operator { dir, public, token }
}

impl Operator {
    fn keys(&self) -> std::path::PathBuf {
        self.dir.path().join("keys")
    }

    /// `blob-server admin --server … ARGS`.
    async fn admin(&self, app: &TestApp, args: &[&str]) -> std::process::Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_blob-server"));
        cmd.args(["admin", "--server", &app.url(""), "--token-file"])
            .arg(self.keys().join("admin.token"))
            .args(args);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

async fn app_for(op: &Operator, dir: Arc<tempfile::TempDir>) -> TestApp {
    let (public, token) = (op.public.clone(), op.keys().join("admin.token"));
    spawn_with(dir, T0, move |s| {
        s.report_key = Some(public);
        s.admin_token = Some(blob_server::admin::read_token(&token).unwrap());
    })
    .await
}

async fn report(app: &TestApp, body: serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/reports"))
        .header("User-Agent", "reporter-agent-7d1f")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn admin_json(app: &TestApp, op: &Operator, path: &str) -> serde_json::Value {
    let r = app
        .client
        .get(app.url(&format!("/api/v1/admin{path}")))
        .bearer_auth(&op.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn counters(app: &TestApp) -> serde_json::Value {
    app.client
        .get(app.url("/api/v1/transparency"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_report_with_the_key_lets_the_operator_open_the_original_and_remove_it_for_good() {
    let op = keygen();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_for(&op, dir.clone()).await;
    let (link, container, files) = share(&[3000, 0, 70_000]);
    let id = app.upload(container, &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fragment = link.fragment();
    // The key is sealed by the reporter (here: as the page and the CLI do).
    let sealed = veil_core::report::seal_base64(&op.public, &id, &fragment, None).unwrap();
    let r = report(
        &app,
        serde_json::json!({ "id": id, "category": "phishing", "text": "asks for my bank password", "key": sealed }),
    )
    .await;
    assert_eq!(r.status(), 202);
    // And one without the key.
    let r = report(
        &app,
        serde_json::json!({ "id": id, "category": "other", "text": "" }),
    )
    .await;
    assert_eq!(r.status(), 202);
    let listed = admin_json(&app, &op, "/reports").await;
    let reports = listed["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    let with_key = reports.iter().find(|r| r["key"].is_string()).unwrap();
    let rid = with_key["id"].as_str().unwrap().to_owned();
    assert_eq!(with_key["category"], "phishing");
    assert_eq!(with_key["state"], "open");
    assert_eq!(with_key["received"].as_u64().unwrap() % 86_400, 0);

    // Reviewing counts no download (a burn link stays usable).
    let out_dir = op.dir.path().join("review");
    let out = op
        .admin(
            &app,
            &[
                "open",
                &rid,
                "--key-file",
                op.keys().join("report.key").to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
            ],
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, f) in files.iter().enumerate() {
        assert_eq!(
            &std::fs::read(out_dir.join(format!("{}.bin", i + 1))).unwrap(),
            f,
            "file {i}"
        );
    }
    let manifest = std::fs::read_to_string(out_dir.join("manifest.txt")).unwrap();
    assert!(manifest.contains("dir/2.bin"), "{manifest}");
    // A report without the key cannot be opened.
    let other = reports.iter().find(|r| r["key"].is_null()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = op
        .admin(
            &app,
            &[
                "open",
                &other,
                "--key-file",
                op.keys().join("report.key").to_str().unwrap(),
                "--out",
                "/nonexistent/x",
            ],
        )
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not include the key"), "{err}");

    // Remove it: gone for downloads, looks and HEAD with 410, both reports actioned.
    let out = op
        .admin(
            &app,
            &["remove", "--report", &rid, "--reason", "phishing page"],
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.get(&id, None).await.status(), 410);
    let head = app
        .client
        .head(app.url(&format!("/api/v1/blobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 410);
    let look = app
        .client
        .get(app.url(&format!("/api/v1/blobs/{id}/head")))
        .send()
        .await
        .unwrap();
    assert_eq!(look.status(), 410);
    let body: serde_json::Value = app.get(&id, None).await.json().await.unwrap();
    assert_eq!(body["error"], "removed by the operator after a report");
    // Reporting it again: 410 too.
    let r = report(&app, serde_json::json!({ "id": id, "category": "other" })).await;
    assert_eq!(r.status(), 410);
    let listed = admin_json(&app, &op, "/reports").await;
    assert!(listed["reports"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] == "actioned"));
    assert_eq!(listed["removals"][0]["reason"], "phishing page");
    let c = counters(&app).await;
    assert_eq!(c["deletions"]["by_operator"], 1);
    assert_eq!(c["reports"]["received"], 2);
    assert_eq!(c["reports"]["actioned"], 2);
    assert_eq!(c["stored"]["blobs"], 0);

    // The removal list and the counters survive a restart.
    app.stop().await;
    let app = app_for(&op, dir.clone()).await;
    assert_eq!(app.get(&id, None).await.status(), 410);
    let c = counters(&app).await;
    assert_eq!(c["deletions"]["by_operator"], 1);
    assert_eq!(c["reports"]["actioned"], 2);
    assert_eq!(c["uploads"], 1);

    // Nothing about the reporter anywhere on disk: not the user agent, not
    // an address; no blob id either (records name slots).
    let dir = app.stop().await;
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        for needle in ["reporter-agent-7d1f", "127.0.0.1", &id] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} found in {}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn the_report_endpoint_rejects_what_is_malformed_with_a_clear_4xx() {
    let op = keygen();
    let app = app_for(&op, Arc::new(tempfile::tempdir().unwrap())).await;
    let id = app.upload(b"x".to_vec(), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (serde_json::json!({ "id": id, "category": "spam" }), 400),
        (
            serde_json::json!({ "id": "nope", "category": "other" }),
            400,
        ),
        (
            serde_json::json!({ "id": id, "category": "other", "text": "bell\u{7}" }),
            400,
        ),
        (
            serde_json::json!({ "id": id, "category": "other", "text": "x".repeat(1001) }),
            400,
        ),
        (
            serde_json::json!({ "id": id, "category": "other", "key": "AAAA" }),
            400,
        ),
        (
            serde_json::json!({ "id": id, "category": "other", "extra": 1 }),
            400,
        ),
        (
            serde_json::json!({ "id": "AAAAAAAAAAAAAAAAAAAAAA", "category": "other" }),
            404,
        ),
    ];
    for (body, status) in cases {
        let r = report(&app, body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        let j: serde_json::Value = r.json().await.unwrap();
        assert!(j["error"].is_string(), "{body}: {j}");
    }
    let big = app
        .client
        .post(app.url("/api/v1/reports"))
        .body(vec![b' '; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    let junk = app
        .client
        .post(app.url("/api/v1/reports"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 400);
    // A key to a server that has no report key.
    let plain = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |_| {}).await;
    let id2 = plain.upload(b"x".to_vec(), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sealed = veil_core::report::seal_base64(&op.public, &id2, "f", None).unwrap();
    let r = report(
        &plain,
        serde_json::json!({ "id": id2, "category": "other", "key": sealed }),
    )
    .await;
    assert_eq!(r.status(), 400);
    // No admin API without a token file; a wrong token is 401.
    let r = plain
        .client
        .get(plain.url("/api/v1/admin/reports"))
        .bearer_auth(&op.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(app.url("/api/v1/admin/reports"))
        .bearer_auth("A".repeat(43))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(app.url("/api/v1/admin/reports"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Unreported blobs are not served to the operator either.
    let r = app
        .client
        .get(app.url(&format!("/api/v1/admin/blobs/{id}")))
        .bearer_auth(&op.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn dismissal_leaves_the_blob_and_decisions_export() {
    let op = keygen();
    let app = app_for(&op, Arc::new(tempfile::tempdir().unwrap())).await;
    let id = app.upload(b"fine".to_vec(), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        report(
            &app,
            serde_json::json!({ "id": id, "category": "copyright" })
        )
        .await
        .status(),
        202
    );
    let rid = admin_json(&app, &op, "/reports").await["reports"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = op
        .admin(&app, &["dismiss", &rid, "--reason", "not infringing"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Twice: refused.
    let out = op
        .admin(&app, &["dismiss", &rid, "--reason", "again"])
        .await;
    assert!(!out.status.success());
    assert_eq!(app.get(&id, None).await.status(), 200);
    let out = op.admin(&app, &["export"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decisions"][0]["state"], "dismissed");
    assert_eq!(v["decisions"][0]["decision"], "not infringing");
    let out = op.admin(&app, &["legal-requests", "3"]).await;
    assert!(out.status.success());
    let c = counters(&app).await;
    assert_eq!(c["reports"]["dismissed"], 1);
    assert_eq!(c["legal_requests"], 3);
    assert!(c["holds"].as_str().unwrap().contains("no addresses"));
    // Offline, on the stopped server's directory, the same tools work.
    let dir = app.stop().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_blob-server"))
        .args(["admin", "--data-dir"])
        .arg(dir.path())
        .args(["remove", "--id", &id, "--reason", "offline removal"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Ids are base64url: one beginning with '-' is an id, not a flag.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_blob-server"))
        .args(["admin", "--data-dir"])
        .arg(dir.path())
        .args(["dismiss", "-AAAAAAAAAAAAAAAAAAAAA", "--reason", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such report"), "{err}");
    let store = open_store(dir.path()).unwrap();
    assert_eq!(store.removals().unwrap()[0].reason, "offline removal");
}

#[tokio::test]
async fn counters_are_exact_under_concurrent_operations_and_survive_a_restart() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = Arc::new(spawn_with(dir.clone(), T0, |_| {}).await);
    // 24 uploads at once.
    let ups: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let limit: &[(&str, &str)] = if i < 4 {
                    &[("Veil-Max-Downloads", "1")]
                } else {
                    &[]
                };
                app.upload(vec![i as u8; 100], limit).await
            })
        })
        .collect();
    let mut blobs = Vec::new();
    for u in ups {
        blobs.push(u.await.unwrap());
    }
    // Four burn links, each fetched by three at once (one wins each);
    // 30 downloads of the unlimited ones; 5 deletions by the owner.
    let mut tasks = Vec::new();
    for b in &blobs[..4] {
        for _ in 0..3 {
            let (app, id) = (app.clone(), b["id"].as_str().unwrap().to_owned());
            tasks.push(tokio::spawn(async move {
                app.get(&id, None).await.status().as_u16()
            }));
        }
    }
    for k in 0..30 {
        let (app, id) = (
            app.clone(),
            blobs[4 + k % 10]["id"].as_str().unwrap().to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            app.get(&id, None).await.status().as_u16()
        }));
    }
    for b in &blobs[14..19] {
        let (app, id, tok) = (
            app.clone(),
            b["id"].as_str().unwrap().to_owned(),
            b["delete_token"].as_str().unwrap().to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            app.delete(&id, &tok).await.status().as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), 200 | 204) {
            ok += 1;
        }
    }
    assert_eq!(ok, 4 + 30 + 5);
    let c = counters(&app).await;
    assert_eq!(c["uploads"], 24);
    assert_eq!(c["downloads"], 34);
    assert_eq!(c["deletions"]["by_burn"], 4);
    assert_eq!(c["deletions"]["by_owner"], 5);
    assert_eq!(c["stored"]["blobs"], 24 - 4 - 5);
    assert_eq!(c["stored"]["bytes"], (24 - 4 - 5) * 100);
    let app = Arc::into_inner(app).unwrap();
    app.stop().await;
    let app = spawn_with(dir, T0 + 7200, |_| {}).await;
    let c = counters(&app).await;
    assert_eq!(c["uploads"], 24);
    assert_eq!(c["downloads"], 34);
    assert_eq!(c["deletions"]["by_burn"], 4);
    // Expired by now (an hour's default expiry): counted once swept.
    assert_eq!(c["stored"]["blobs"], 0);
    assert_eq!(c["since"].as_u64().unwrap() % 86_400, 0);
}

/// A bounded burst against each global limit: exactly the allowed number
/// get through, the rest are told how long to wait.
#[tokio::test]
async fn upload_limits_hold_under_a_burst_and_say_how_long_to_wait() {
    let app = Arc::new(
        spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
            s.limits.uploads_per_minute = Some(10);
        })
        .await,
    );
    let burst: Vec<_> = (0..40)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let r = app
                    .client
                    .post(app.url("/api/v1/blobs"))
                    .body(vec![1u8; 10])
                    .send()
                    .await
                    .unwrap();
                (
                    r.status().as_u16(),
                    r.headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap()),
                )
            })
        })
        .collect();
    let mut created = 0;
    for b in burst {
        match b.await.unwrap() {
            (201, _) => created += 1,
            (503, Some(wait)) => assert!((1..=60).contains(&wait), "{wait}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 10);

    // The quota: 20 uploads of 100 bytes at once into 1000 bytes.
    let app = Arc::new(
        spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
            s.limits.quota = Some(1000);
        })
        .await,
    );
    let burst: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                // Half one-request, half tus.
                let r = if i % 2 == 0 {
                    app.client
                        .post(app.url("/api/v1/blobs"))
                        .body(vec![1u8; 100])
                        .send()
                        .await
                        .unwrap()
                } else {
                    app.client
                        .post(app.url("/api/v1/uploads"))
                        .header("Tus-Resumable", "1.0.0")
                        .header("Upload-Length", "100")
                        .send()
                        .await
                        .unwrap()
                };
                r.status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for b in burst {
        statuses.push(b.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 507).count(),
        10,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn upload_work_is_asked_then_accepted_once() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
        s.limits.upload_work = Some(8);
    })
    .await;
    let config = app.config().await;
    assert_eq!(config["upload_work"], true);
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let bits: u8 = r.headers()["veil-work-bits"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let challenge = r.headers()["veil-work-challenge"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(bits >= 8);
    let nonce = veil_core::work::solve_upload(&challenge, bits);
    let work = format!("{challenge} {nonce}");
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .header("Veil-Work", &work)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Spent.
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .header("Veil-Work", &work)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // tus creation asks the same.
    let r = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("veil-work-challenge"));
}

#[tokio::test]
async fn per_client_limits_key_on_the_address_and_keep_it_nowhere() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_with(dir, T0, |s| {
        s.limits.per_client_per_hour = Some(3);
    })
    .await;
    for _ in 0..3 {
        app.upload(b"x".to_vec(), &[]).await;
    }
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait));
    let dir = app.stop().await;
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(9).any(|w| w == b"127.0.0.1"),
            "{}",
            entry.display()
        );
    }
}

#[tokio::test]
async fn reports_per_blob_are_capped_and_cost_work_when_uploads_do() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |_| {}).await;
    let id = app.upload(b"x".to_vec(), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let many: Vec<_> = (0..24)
        .map(|_| report(&app, serde_json::json!({ "id": id, "category": "other" })))
        .collect();
    let mut statuses = Vec::new();
    for r in many {
        statuses.push(r.await.status().as_u16());
    }
    assert!(
        statuses.iter().filter(|s| **s == 202).count() >= 20,
        "{statuses:?}"
    );
    let r = report(&app, serde_json::json!({ "id": id, "category": "other" })).await;
    assert_eq!(r.status(), 429);
    let c = counters(&app).await;
    assert!(c["reports"]["received"].as_u64().unwrap() <= 24);

    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
        s.limits.upload_work = Some(6);
    })
    .await;
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .body("x")
        .send()
        .await
        .unwrap();
    let ch = r.headers()["veil-work-challenge"]
        .to_str()
        .unwrap()
        .to_owned();
    let bits: u8 = r.headers()["veil-work-bits"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let w = format!("{ch} {}", veil_core::work::solve_upload(&ch, bits));
    let r = app
        .client
        .post(app.url("/api/v1/blobs"))
        .header("Veil-Work", &w)
        .body("x")
        .send()
        .await
        .unwrap();
    let id: serde_json::Value = r.json().await.unwrap();
    let id = id["id"].as_str().unwrap();
    let r = report(&app, serde_json::json!({ "id": id, "category": "other" })).await;
    assert_eq!(r.status(), 429);
    let ch = r.headers()["veil-work-challenge"]
        .to_str()
        .unwrap()
        .to_owned();
    let bits: u8 = r.headers()["veil-work-bits"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let w = format!("{ch} {}", veil_core::work::solve_upload(&ch, bits));
    let r = app
        .client
        .post(app.url("/api/v1/reports"))
        .header("Veil-Work", &w)
        .json(&serde_json::json!({ "id": id, "category": "other" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

/// An upload the operator removes before its last byte never becomes a
/// blob: the last PATCH is refused and the id answers 410.
#[tokio::test]
async fn an_upload_removed_before_it_finishes_is_never_served() {
    let op = keygen();
    let app = app_for(&op, Arc::new(tempfile::tempdir().unwrap())).await;
    let r = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "4")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id = r.headers()["veil-blob-id"].to_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/admin/blobs/{id}/remove")))
        .bearer_auth(&op.token)
        .json(&serde_json::json!({ "reason": "known bad" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .client
        .patch(app.url(&location))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body("abcd")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(app.get(&id, None).await.status(), 410);
    // A reason is required and bounded.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/admin/blobs/{id}/remove")))
        .bearer_auth(&op.token)
        .json(&serde_json::json!({ "reason": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
