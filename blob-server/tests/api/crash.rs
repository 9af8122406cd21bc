//! Crash safety with the real binary: SIGKILL in the middle of 20 uploads
//! (10 finished, 10 still streaming). After a restart no partial blob is
//! visible or left on disk, and every finished one is served intact.

use std::ffi::OsStr;
use std::process::Child;
use std::time::Duration;

fn start(dir: &std::path::Path) -> (Child, String) {
    let web = concat!(env!("CARGO_MANIFEST_DIR"), "/../web");
    crate::helpers::spawn_binary(&[
        OsStr::new("--bind"),
        OsStr::new("127.0.0.1:0"),
        OsStr::new("--static-dir"),
        OsStr::new(web),
        OsStr::new("--data-dir"),
        dir.as_os_str(),
    ])
}

fn body(i: usize) -> Vec<u8> {
    (0..(i + 1) * 50_000).map(|k| (k * 7 + i) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_loses_nothing_finished_and_shows_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start(dir.path());
    let client = reqwest::Client::new();

    // Ten uploads that will never finish: one chunk, then silence.
    let mut hanging = Vec::new();
    for i in 0..10 {
        let (client, url) = (client.clone(), url.clone());
        hanging.push(tokio::spawn(async move {
            let stream = futures_util::stream::unfold(0, move |n| async move {
                if n == 0 {
                    Some((Ok::<_, std::io::Error>(bytes::Bytes::from(body(i))), 1))
                } else {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    None
                }
            });
            let _ = client
                .post(format!("{url}/api/v1/blobs"))
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await;
        }));
    }
    // Ten that finish.
    let mut done = Vec::new();
    for i in 0..10 {
        let r = client
            .post(format!("{url}/api/v1/blobs"))
            .body(body(i))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        done.push((i, v["id"].as_str().unwrap().to_owned()));
    }
    // The hanging uploads are on disk as temp files by now.
    for _ in 0..100 {
        if std::fs::read_dir(dir.path().join("tmp")).unwrap().count() == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        10
    );

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for h in hanging {
        h.abort();
    }

    let (mut child, url) = start(dir.path());
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0,
        "partial uploads left on disk"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
        10
    );
    for (i, id) in done {
        let r = client
            .get(format!("{url}/api/v1/blobs/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            &body(i)[..],
            "blob {i} changed"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
