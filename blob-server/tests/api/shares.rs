//! Shares on the server: the look at a container's head (`GET …/head`)
//! that consumes nothing and is throttled like a download, and downloads
//! of one byte range (one file of a share) that count as one download.

use crate::helpers::{proof_pair, spawn_app, TestApp};
use veil_core::{Decryptor, Encryptor, Link, Manifest, Metadata, DEFAULT_RECORD_SIZE};

/// A real share of files of these sizes: `(link, container, files)`.
pub(crate) fn share(sizes: &[usize]) -> (Link, Vec<u8>, Vec<Vec<u8>>) {
    let link = Link::generate(None).unwrap();
    let bodies: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect();
    let manifest = Manifest::share(
        bodies
            .iter()
            .enumerate()
            .map(|(i, b)| Metadata {
                name: format!("dir/{i}.bin"),
                mime: String::new(),
                size: b.len() as u64,
                report: vec![],
            })
            .collect(),
    )
    .unwrap();
    let mut enc =
        Encryptor::for_manifest(&link.unlock(None).unwrap(), &manifest, DEFAULT_RECORD_SIZE)
            .unwrap();
    let mut out = enc.header().to_vec();
    for b in &bodies {
        out.extend(enc.push(b).unwrap());
    }
    out.extend(enc.finish().unwrap());
    (link, out, bodies)
}

fn proof(link: &Link) -> String {
    link.unlock(None)
        .unwrap()
        .download_proof()
        .to_base64()
        .to_string()
}

async fn upload_share(app: &TestApp, link: &Link, container: &[u8], limit: &str) -> String {
    let hash = link
        .unlock(None)
        .unwrap()
        .download_proof()
        .verifier_base64();
    app.upload(
        container.to_vec(),
        &[("Veil-Proof-Hash", &hash), ("Veil-Max-Downloads", limit)],
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn look(app: &TestApp, id: &str, proof: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(&format!("/api/v1/blobs/{id}/head")));
    if let Some(p) = proof {
        req = req.header("Veil-Proof", p);
    }
    req.send().await.unwrap()
}

async fn ranged(app: &TestApp, id: &str, proof: &str, range: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/v1/blobs/{id}")))
        .header("Veil-Proof", proof)
        .header("Range", range)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_look_consumes_nothing_and_one_file_downloads_alone() {
    let app = spawn_app().await;
    let (link, container, bodies) = share(&[100_000, 200_000, 50_000]);
    let id = upload_share(&app, &link, &container, "2").await;
    let p = proof(&link);

    // Looks, as many as one likes: the head only, nothing counted.
    let mut head = Vec::new();
    for _ in 0..3 {
        let resp = look(&app, &id, Some(&p)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["veil-downloads-left"], "2");
        assert!(resp.headers().contains_key("veil-expires-at"));
        head = resp.bytes().await.unwrap().to_vec();
    }
    let head_len = 60 + u32::from_be_bytes(container[56..60].try_into().unwrap()) as usize;
    assert_eq!(head, container[..head_len]);
    // Without the proof, or with a wrong one: nothing.
    assert_eq!(look(&app, &id, None).await.status(), 403);
    assert_eq!(look(&app, &id, Some(&"A".repeat(43))).await.status(), 403);

    // The recipient's client picks file 1 and fetches its records alone.
    let mut dec = Decryptor::new(link.unlock(None).unwrap());
    assert!(dec.push(&head).unwrap().is_empty());
    let manifest = dec.manifest().unwrap().clone();
    assert_eq!(manifest.files().len(), 3);
    let range = manifest.content_range(1, 1).unwrap();
    let sel = dec.select(range.clone()).unwrap();
    let spec = format!("bytes={}-{}", sel.bytes.start, sel.bytes.end - 1);
    let resp = ranged(&app, &id, &p, &spec).await;
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.headers()["content-range"],
        format!(
            "bytes {}-{}/{}",
            sel.bytes.start,
            sel.bytes.end - 1,
            container.len()
        )
        .as_str()
    );
    assert_eq!(resp.headers()["veil-downloads-left"], "1");
    let part = resp.bytes().await.unwrap();
    assert_eq!(part.len() as u64, sel.bytes.end - sel.bytes.start);
    let plain = dec.push(&part).unwrap();
    dec.finish().unwrap();
    let skip = (range.start - sel.content_start) as usize;
    assert!(plain[skip..skip + bodies[1].len()] == bodies[1][..]);

    // A range outside the blob is refused before anything is counted.
    let past = format!("bytes={}-", container.len() + 10);
    let resp = ranged(&app, &id, &p, &past).await;
    assert_eq!(resp.status(), 416);
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes */{}", container.len()).as_str()
    );
    assert_eq!(
        look(&app, &id, Some(&p)).await.headers()["veil-downloads-left"],
        "1"
    );
    // Several ranges (overlapping or not) are not served as such: the
    // whole blob, counted once.
    let resp = ranged(&app, &id, &p, "bytes=0-9,5-29").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().len(), container.len());
    // Used up: neither a look nor a download finds it.
    assert_eq!(look(&app, &id, Some(&p)).await.status(), 404);
    assert_eq!(app.get(&id, Some(&p)).await.status(), 404);
}

#[tokio::test]
async fn looks_are_throttled_like_downloads() {
    let app = spawn_app().await;
    let (link, container, _) = share(&[10]);
    let id = upload_share(&app, &link, &container, "1").await;
    let p = proof(&link);
    // Wrong proofs on looks count against the blob as on downloads.
    for i in 0..5u8 {
        let (wrong, _) = proof_pair(i);
        assert_eq!(look(&app, &id, Some(&wrong)).await.status(), 403);
    }
    let resp = look(&app, &id, Some(&p)).await;
    assert_eq!(resp.status(), 429);
    let bits: u8 = resp.headers()["veil-work-bits"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // A download meets the same count.
    assert_eq!(app.get(&id, Some(&p)).await.status(), 429);
    let nonce = veil_core::work::solve(&id, &p, bits);
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/blobs/{id}/head")))
        .header("Veil-Proof", &p)
        .header("Veil-Work", nonce.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the right proof with its work");
    // A right proof clears the count; the burn link is still there.
    assert_eq!(app.get(&id, Some(&p)).await.status(), 200);
}

#[tokio::test]
async fn looks_racing_a_burn_never_consume_it() {
    let app = spawn_app().await;
    let (link, container, _) = share(&[300_000, 5]);
    let id = upload_share(&app, &link, &container, "1").await;
    let p = proof(&link);
    let looks = (0..16).map(|_| look(&app, &id, Some(&p)));
    let (looked, got) = tokio::join!(futures_util::future::join_all(looks), async {
        let r = app.get(&id, Some(&p)).await;
        (r.status(), r.bytes().await.unwrap().len())
    });
    assert_eq!(got, (reqwest::StatusCode::OK, container.len()));
    for r in looked {
        assert!(matches!(r.status().as_u16(), 200 | 404), "{}", r.status());
    }
    assert_eq!(app.get(&id, Some(&p)).await.status(), 404);
}

#[tokio::test]
async fn a_blob_that_is_not_a_container_has_no_head() {
    let app = spawn_app().await;
    for body in [b"hello".to_vec(), vec![0u8; 100], b"VEIL".to_vec()] {
        let id = app.upload(body, &[]).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let resp = look(&app, &id, None).await;
        assert_eq!(resp.status(), 422);
        assert!(resp.text().await.unwrap().contains("not a Veil container"));
        assert_eq!(app.get(&id, None).await.status(), 200);
    }
    assert_eq!(
        look(&app, "AAAAAAAAAAAAAAAAAAAAAA", None).await.status(),
        404
    );
}

#[tokio::test]
async fn an_empty_blob_has_no_range_and_a_refused_range_consumes_nothing() {
    let app = spawn_app().await;
    let id = app.upload(vec![], &[("Veil-Max-Downloads", "1")]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for spec in ["bytes=0-", "bytes=0-0", "bytes=-5"] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/blobs/{id}")))
            .header("Range", spec)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 416, "{spec}");
        assert_eq!(resp.headers()["content-range"], "bytes */0");
    }
    let resp = app.get(&id, None).await;
    assert_eq!(resp.status(), 200, "the one download is still there");
    assert_eq!(app.get(&id, None).await.status(), 404);
}

/// The head is streamed, not held: a 16 MiB manifest is served to a slow
/// reader without the server buffering it per request.
#[tokio::test]
async fn a_large_head_is_streamed() {
    let app = spawn_app().await;
    // A valid version 2 header announcing 16 MiB of metadata, then that much.
    let meta_len: u32 = 65_536 * 256 + 16;
    let mut blob = b"VEIL".to_vec();
    blob.extend([2, 0, 0, 0]);
    blob.extend(65_536u32.to_be_bytes());
    blob.extend([0u8; 12]);
    blob.extend([7u8; 32]);
    blob.extend(meta_len.to_be_bytes());
    blob.resize(60 + meta_len as usize + 100, 1);
    let id = app.upload(blob.clone(), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = look(&app, &id, None).await;
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut got = Vec::new();
    let mut chunks = 0;
    while let Some(c) = futures_util::StreamExt::next(&mut stream).await {
        got.extend_from_slice(&c.unwrap());
        chunks += 1;
    }
    assert!(got == blob[..60 + meta_len as usize], "the head, exactly");
    assert!(chunks > 1, "sent in pieces, not one buffer");
}

/// Clients that ask for a 16 MiB head and then stop reading do not hold
/// up others on the same blob: a look and the one (burn) download of it
/// still complete while they sit there.
#[tokio::test]
async fn stalled_head_readers_do_not_hold_up_the_same_blob() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let meta_len: u32 = 65_536 * 256 + 16;
    let mut blob = b"VEIL".to_vec();
    blob.extend([2, 0, 0, 0]);
    blob.extend(65_536u32.to_be_bytes());
    blob.extend([0u8; 12]);
    blob.extend([7u8; 32]);
    blob.extend(meta_len.to_be_bytes());
    blob.resize(60 + meta_len as usize + 100, 1);
    let id = app
        .upload(blob.clone(), &[("Veil-Max-Downloads", "1")])
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let req = format!("GET /api/v1/blobs/{id}/head HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut first = [0u8; 64];
        let n = s.read(&mut first).await.unwrap();
        assert!(
            first[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&first[..n])
        );
        stalled.push(s); // and read no more
    }
    let within = std::time::Duration::from_secs(10);
    let looked = tokio::time::timeout(within, async {
        look(&app, &id, None).await.bytes().await.unwrap().len()
    });
    assert_eq!(looked.await.unwrap(), 60 + meta_len as usize);
    let got = tokio::time::timeout(within, async {
        app.get(&id, None).await.bytes().await.unwrap().len()
    });
    assert_eq!(got.await.unwrap(), blob.len());
    assert_eq!(
        app.get(&id, None).await.status(),
        404,
        "the one download was used"
    );
    drop(stalled);
}
