//! tus 1.0 resumable uploads: creation, resume after a dropped connection,
//! offset conflicts, termination, stale-upload expiry, and completion into
//! a blob with the same guarantees.

use crate::helpers::{create, meta, offset, patch, proof_pair, spawn_app, spawn_with, T0};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn options_advertise_the_extensions() {
    let app = spawn_app().await;
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    assert!(r.headers()["tus-extension"]
        .to_str()
        .unwrap()
        .contains("termination"));
}

#[tokio::test]
async fn resumes_after_a_dropped_connection_and_becomes_a_blob() {
    let app = spawn_app().await;
    let (proof, hash) = proof_pair(5);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let r = create(
        &app,
        data.len() as u64,
        &meta(&[
            ("expires_in", "600"),
            ("max_downloads", "1"),
            ("proof_hash", &hash),
            ("filename", "ignored.jpg"),
        ]),
    )
    .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let id = r.headers()["veil-blob-id"].to_str().unwrap().to_owned();
    let token = r.headers()["veil-delete-token"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.ends_with(&id));
    assert!(r.headers().contains_key("upload-expires"));

    // First PATCH: 100 000 bytes arrive, then the connection breaks.
    let first = data[..100_000].to_vec();
    let broken = futures_util::stream::unfold(Some(first), |state| async move {
        match state {
            Some(first) => Some((Ok::<_, std::io::Error>(bytes::Bytes::from(first)), None)),
            None => {
                // Let the first bytes reach the server, then break.
                tokio::time::sleep(Duration::from_millis(300)).await;
                Some((Err(std::io::Error::other("network down")), None))
            }
        }
    });
    let _ = app
        .client
        .patch(app.url(&location))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(reqwest::Body::wrap_stream(broken))
        .send()
        .await;
    let mut got = None;
    for _ in 0..100 {
        got = offset(&app, &location).await;
        if got == Some(100_000) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        got,
        Some(100_000),
        "bytes received before the break were kept"
    );
    // Not visible as a blob yet.
    assert_eq!(app.get(&id, Some(&proof)).await.status(), 404);

    // Resuming at the wrong offset conflicts.
    assert_eq!(
        patch(&app, &location, 0, data[..10].to_vec().into())
            .await
            .status(),
        409
    );
    // Resume at the right one and finish.
    let r = patch(&app, &location, 100_000, data[100_000..].to_vec().into()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "300000");
    assert_eq!(r.headers()["veil-expires-at"], (T0 + 600).to_string());

    // Now a blob: proof required, burned after one read.
    assert_eq!(app.get(&id, None).await.status(), 403);
    let blob = app.get(&id, Some(&proof)).await;
    assert_eq!(blob.status(), 200);
    assert_eq!(blob.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(app.get(&id, Some(&proof)).await.status(), 404);
    assert!(app.files_in("uploads").is_empty());
    // The token from creation still names the (now burned) blob: 404.
    let del = app.delete(&id, &token).await;
    assert_eq!(del.status(), 404);
}

#[tokio::test]
async fn more_than_the_declared_length_is_refused() {
    let app = spawn_app().await;
    let r = create(&app, 10, "").await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let r = patch(&app, &location, 0, vec![0u8; 11].into()).await;
    assert_eq!(r.status(), 413);
    let too_big = create(&app, 65 * 1024 * 1024, "").await;
    assert_eq!(too_big.status(), 413);
}

#[tokio::test]
async fn termination_and_deletion_token_remove_unfinished_uploads() {
    let app = spawn_app().await;
    let r = create(&app, 1000, "").await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let token = r.headers()["veil-delete-token"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        patch(&app, &location, 0, vec![1u8; 10].into())
            .await
            .status(),
        204
    );
    let del = app.terminate(&location, &token).await;
    assert_eq!(del.status(), 204);
    assert_eq!(offset(&app, &location).await, None);
    assert!(app.files_in("uploads").is_empty());

    let r = create(&app, 1000, "").await;
    let id = r.headers()["veil-blob-id"].to_str().unwrap().to_owned();
    let token = r.headers()["veil-delete-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let del = app.delete(&id, &token).await;
    assert_eq!(del.status(), 204);
    assert!(app.files_in("uploads").is_empty());
}

#[tokio::test]
async fn stale_uploads_expire_and_are_cleaned_up() {
    let app = spawn_with(Arc::new(tempfile::tempdir().unwrap()), T0, |s| {
        s.upload_expiry = 100;
        s.sweep_interval = Duration::from_millis(30);
    })
    .await;
    let r = create(&app, 1000, "").await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        patch(&app, &location, 0, vec![1u8; 10].into())
            .await
            .status(),
        204
    );
    app.set_time(T0 + 100);
    assert_eq!(offset(&app, &location).await, None);
    assert_eq!(
        patch(&app, &location, 10, vec![1u8; 10].into())
            .await
            .status(),
        404
    );
    app.settle("uploads", 0).await;
    assert!(app.files_in("uploads").is_empty(), "stale upload not swept");
}

#[tokio::test]
async fn empty_uploads_complete_at_creation() {
    let app = spawn_app().await;
    let r = create(&app, 0, "").await;
    assert_eq!(r.status(), 201);
    let id = r.headers()["veil-blob-id"].to_str().unwrap().to_owned();
    assert!(r.headers().contains_key("veil-expires-at"));
    let blob = app.get(&id, None).await;
    assert_eq!(blob.status(), 200);
    assert!(blob.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn version_and_content_type_are_checked() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let r = create(&app, 5, "").await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let r = app
        .client
        .patch(app.url(&location))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}
