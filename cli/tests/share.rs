//! `veil send`, `veil get`, `veil delete` against a real blob server
//! started in-process on 127.0.0.1:0: round trips (empty, small,
//! multi-record, password, stdin), burn-after-reading consumed exactly once,
//! wrong password, tampered data, deletion, and distinct exit codes; and the
//! CLI's tus loop against the same server behaviour as the page's
//! (tests/page-tus.test.mjs): a PATCH cut off half way resumes from the
//! server's offset, a file over the limit (413) is refused, not retried.
#![allow(
    clippy::cast_possible_truncation,
    clippy::panic,
    clippy::type_complexity,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

struct Server {
    url: String,
    data: PathBuf,
    /// The operator's report key and admin token (reports are sealed to it).
    operator: veil_core::report::OperatorKey,
    admin: String,
}

/// One server for the whole test binary, on its own runtime thread.
fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let data = dir.join("data");
        let (tx, rx) = std::sync::mpsc::channel();
        let data2 = data.clone();
        let operator = veil_core::report::OperatorKey::generate().unwrap();
        let public = operator.public();
        let admin = blob_server::ids::DeleteToken::generate().unwrap();
        let (admin_text, admin_hash) = (admin.encode(), admin.hash());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let store = blob_server::store::Store::open(&data2).unwrap();
                let mut settings = blob_server::config::Settings::for_tests(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web"),
                );
                // Every send here solves the server's upload work (a few
                // hashes at 2 bits): the CLI's path through the 429.
                settings.limits.upload_work = Some(2);
                settings.report_key = Some(public);
                settings.admin_token = Some(admin_hash);
                let state = blob_server::AppState::new(
                    store,
                    settings,
                    blob_server::clock::Clock::default(),
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(format!("http://{}", listener.local_addr().unwrap()))
                    .unwrap();
                blob_server::run(listener, state, std::future::pending())
                    .await
                    .unwrap();
            });
        });
        Server {
            url: rx.recv().unwrap(),
            data,
            operator,
            admin: admin_text,
        }
    })
}

fn veil(args: &[&str], dir: &Path, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .current_dir(dir)
        .env("VEIL_SERVER", &server().url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn send(dir: &Path, file: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["send", file, "--json"];
    args.extend_from_slice(extra);
    let out = veil(&args, dir, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn round_trip(content: &[u8], name: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let sent = send(dir.path(), name, extra);
    let link = sent["link"].as_str().unwrap();
    let recv = tempfile::tempdir().unwrap();
    veil_ok(&["get", link], recv.path());
    assert_eq!(
        std::fs::read(recv.path().join(name)).unwrap(),
        content,
        "{name}"
    );
}

#[test]
fn round_trips_empty_small_and_multi_record() {
    round_trip(b"", "empty.txt", &[]);
    round_trip(b"hello veil", "small.txt", &[]);
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    round_trip(&big, "multi.bin", &[]);
}

#[test]
fn password_wrong_then_right() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.txt"), b"secret").unwrap();
    std::fs::write(dir.path().join("pw"), "right horse\n").unwrap();
    std::fs::write(dir.path().join("bad"), "wrong horse\n").unwrap();
    let link = send(dir.path(), "s.txt", &["--burn", "--password-file", "pw"])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        link.contains('.'),
        "password links carry the Argon2id parameters"
    );
    let out = veil(
        &["get", &link, "--password-file", "bad", "-o", "got.txt"],
        dir.path(),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("got.txt").exists());
    veil_ok(
        &["get", &link, "--password-file", "pw", "-o", "got.txt"],
        dir.path(),
    );
    assert_eq!(
        std::fs::read(dir.path().join("got.txt")).unwrap(),
        b"secret"
    );
}

#[test]
fn after_many_wrong_passwords_the_right_one_still_opens_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.txt"), b"guarded").unwrap();
    std::fs::write(dir.path().join("pw"), "right horse\n").unwrap();
    std::fs::write(dir.path().join("bad"), "wrong horse\n").unwrap();
    let link = send(dir.path(), "s.txt", &["--password-file", "pw"])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    // Past the free wrong guesses the server asks for work; the CLI does it.
    for _ in 0..8 {
        let out = veil(
            &["get", &link, "--password-file", "bad", "-o", "x"],
            dir.path(),
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(4),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = veil(
        &["get", &link, "--password-file", "pw", "-o", "got.txt"],
        dir.path(),
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("proof of work"), "{stderr}");
    assert_eq!(
        std::fs::read(dir.path().join("got.txt")).unwrap(),
        b"guarded"
    );
}

#[test]
fn zero_downloads_is_a_usage_error_not_unlimited() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
    let out = veil(&["send", "a.txt", "--downloads", "0"], dir.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--downloads"));
}

#[test]
fn burn_is_consumed_exactly_once_and_then_gone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.txt"), b"once").unwrap();
    let link = send(dir.path(), "b.txt", &["--burn"])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = veil(&["get", &link, "-o", "one.txt"], dir.path(), None);
    assert!(first.status.success());
    let second = veil(&["get", &link, "-o", "two.txt"], dir.path(), None);
    assert_eq!(second.status.code(), Some(3));
    assert!(!dir.path().join("two.txt").exists());
}

#[test]
fn tampered_data_exits_5_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    std::fs::write(dir.path().join("t.bin"), &content).unwrap();
    let link = send(dir.path(), "t.bin", &[])["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = link.split("/d/").nth(1).unwrap().split('#').next().unwrap();
    // Files have random names: find ours by its size (its content is unique).
    let size: u64 = ureq::head(&format!("{}/api/v1/blobs/{id}", server().url))
        .call()
        .unwrap()
        .header("Content-Length")
        .unwrap()
        .parse()
        .unwrap();
    let blob = std::fs::read_dir(server().data.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::metadata(p).unwrap().len() == size)
        .unwrap();
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x80;
    std::fs::write(&blob, bytes).unwrap();
    let out = veil(&["get", &link, "-o", "t.out"], dir.path(), None);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, vec!["t.bin".to_owned()], "something was written");
    // To standard output: earlier records went out, and the message says so.
    let out = veil(&["get", &link, "-o", "-"], dir.path(), None);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.stdout.is_empty(),
        "the damage is near the end: earlier records go out"
    );
    assert!(
        stderr.contains(&format!(
            "standard output already received {} bytes",
            out.stdout.len()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("nothing was saved"), "{stderr}");
}

#[test]
fn pictures_are_cleaned_and_stdin_works_and_delete_removes() {
    let dir = tempfile::tempdir().unwrap();
    let photo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus/jpeg_iphone4_gps_srgb_icc.jpg");
    std::fs::copy(&photo, dir.path().join("p.jpg")).unwrap();
    let sent = send(dir.path(), "p.jpg", &[]);
    assert!(sent["removed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "GPS position"));
    let out = veil(
        &["get", sent["link"].as_str().unwrap(), "-o", "back.jpg"],
        dir.path(),
        None,
    );
    assert!(out.status.success());
    let back = std::fs::read(dir.path().join("back.jpg")).unwrap();
    assert!(
        !back.windows(6).any(|w| w == b"iPhone"),
        "camera model survived"
    );
    // Delete with the deletion link: then it is gone.
    let del = veil(
        &["delete", sent["delete_link"].as_str().unwrap()],
        dir.path(),
        None,
    );
    assert!(
        del.status.success(),
        "{}",
        String::from_utf8_lossy(&del.stderr)
    );
    let again = veil(
        &["get", sent["link"].as_str().unwrap(), "-o", "x.jpg"],
        dir.path(),
        None,
    );
    assert_eq!(again.status.code(), Some(3));

    let out = veil(&["send", "-", "--json"], dir.path(), Some(b"from a pipe"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = veil(
        &["get", link["link"].as_str().unwrap(), "-o", "-"],
        dir.path(),
        None,
    );
    assert!(got.status.success());
    assert_eq!(got.stdout, b"from a pipe");
}

/// A camera-style name tells when the picture was taken: it goes out as
/// photo.jpg (said on standard error) unless --keep-names keeps it; a
/// name the sender chose is never touched.
#[test]
fn camera_style_names_are_sent_neutral_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let photo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus/jpeg_iphone4_gps_srgb_icc.jpg");
    std::fs::copy(&photo, dir.path().join("IMG_20240612_101530.jpg")).unwrap();
    std::fs::copy(&photo, dir.path().join("garden.jpg")).unwrap();
    let names = |extra: &[&str]| -> (Vec<String>, String, String) {
        let mut args = vec!["send", "IMG_20240612_101530.jpg", "garden.jpg", "--json"];
        args.extend_from_slice(extra);
        let out = veil(&args, dir.path(), None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sent: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let link = sent["link"].as_str().unwrap();
        let listed = veil(&["get", "--list", link], dir.path(), None);
        assert!(listed.status.success());
        let listing = String::from_utf8_lossy(&listed.stdout).into_owned();
        let names = sent["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect();
        (
            names,
            String::from_utf8_lossy(&out.stderr).into_owned(),
            listing,
        )
    };
    let (sent, said, listing) = names(&[]);
    assert_eq!(sent, ["photo.jpg", "garden.jpg"]);
    assert!(
        said.contains("IMG_20240612_101530.jpg is sent as photo.jpg"),
        "{said}"
    );
    // What the recipient sees: the neutral name only.
    assert!(
        listing.contains("photo.jpg") && !listing.contains("20240612"),
        "{listing}"
    );
    let (kept, _, listing) = names(&["--keep-names"]);
    assert_eq!(kept, ["IMG_20240612_101530.jpg", "garden.jpg"]);
    assert!(listing.contains("IMG_20240612_101530.jpg"), "{listing}");
}

#[test]
fn bad_links_and_unreachable_servers_have_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = veil(&["get", "https://x.invalid/d/short#abc"], dir.path(), None);
    assert_eq!(out.status.code(), Some(7));
    let out = veil(&["get", "http://127.0.0.1:9/d/AAAAAAAAAAAAAAAAAAAAAA#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"], dir.path(), None);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TCP proxy in front of the test server that drops the connection of
/// the first PATCH after `cut` bytes of it went through: the client's side
/// at once, the server's side `linger` later (so the server may still be
/// running that PATCH when the client retries). Returns its URL and the
/// `Upload-Offset` of every PATCH it saw.
fn cutting_proxy(
    cut: usize,
    linger: std::time::Duration,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<u64>>>) {
    use std::io::Read;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let upstream = server().url.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let offsets = Arc::new(Mutex::new(Vec::new()));
    let seen = offsets.clone();
    let done = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming().take(64) {
            let Ok(mut client) = client else { return };
            let mut server = TcpStream::connect(&upstream).unwrap();
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            // Answers flow back untouched.
            std::thread::spawn(move || drop(std::io::copy(&mut s2, &mut c2)));
            let (seen, done) = (seen.clone(), done.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut patch_bytes: Option<usize> = None;
                loop {
                    let n = match client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let text = String::from_utf8_lossy(&buf[..n]);
                    if text.starts_with("PATCH ") {
                        let offset = text
                            .lines()
                            .find_map(|l| l.strip_prefix("upload-offset: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap();
                        seen.lock().unwrap().push(offset);
                        if !done.swap(true, Ordering::SeqCst) {
                            patch_bytes = Some(0);
                        }
                    }
                    if let Some(sent) = patch_bytes.as_mut() {
                        let room = cut.saturating_sub(*sent).min(n);
                        let _ = server.write_all(&buf[..room]);
                        *sent += room;
                        if *sent >= cut {
                            // The network fails half way through the PATCH.
                            std::thread::sleep(std::time::Duration::from_millis(200));
                            let _ = client.shutdown(Shutdown::Both);
                            std::thread::sleep(linger);
                            let _ = server.shutdown(Shutdown::Both);
                            break;
                        }
                        continue;
                    }
                    if server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    (url, offsets)
}

#[test]
fn a_send_cut_off_mid_patch_resumes_from_the_server_offset() {
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &content).unwrap();
    let (proxy, offsets) = cutting_proxy(1_000_000, std::time::Duration::ZERO);
    let link = send_through(&proxy, dir.path(), "big.bin");
    let offsets = offsets.lock().unwrap().clone();
    assert_eq!(offsets.first(), Some(&0), "{offsets:?}");
    // The resend starts where the server's bytes end, not at 0 again.
    assert!(
        offsets.get(1).is_some_and(|&o| o > 0 && o < 1_000_000),
        "{offsets:?}"
    );
    assert_fetched(&link, "big.bin", &content);
}

/// `veil send NAME` through `proxy`; the share link.
fn send_through(proxy: &str, dir: &Path, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["send", name, "--json", "--server", proxy])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["link"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `veil get LINK` writes NAME with exactly `content`.
fn assert_fetched(link: &str, name: &str, content: &[u8]) {
    let recv = tempfile::tempdir().unwrap();
    veil_ok(&["get", link], recv.path());
    assert_eq!(std::fs::read(recv.path().join(name)).unwrap(), content);
}

#[test]
fn a_file_over_the_server_limit_is_refused_before_any_byte_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: 65 MiB on paper, over the test server's 64 MiB limit.
    let f = std::fs::File::create(dir.path().join("huge.bin")).unwrap();
    f.set_len(65 << 20).unwrap();
    let out = veil(&["send", "huge.bin"], dir.path(), None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("huge.bin is too large for this server"),
        "{stderr}"
    );
}

#[test]
fn a_retry_while_the_cut_patch_still_runs_gets_409_then_resumes() {
    // The server still holds the first PATCH (its lane) when the client
    // retries: 409, then HEAD once it ended, then the rest.
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..2_000_000u32).map(|i| (i * 13) as u8).collect();
    std::fs::write(dir.path().join("slow.bin"), &content).unwrap();
    let (proxy, offsets) = cutting_proxy(500_000, std::time::Duration::from_millis(1500));
    let link = send_through(&proxy, dir.path(), "slow.bin");
    let offsets = offsets.lock().unwrap().clone();
    // 0 (cut), 0 again (refused with 409: the first still runs), then from the server's offset.
    assert!(offsets.len() >= 3, "{offsets:?}");
    assert_eq!(offsets.get(..2), Some(&[0, 0][..]), "{offsets:?}");
    assert!(offsets.last().is_some_and(|&o| o > 0), "{offsets:?}");
    assert_fetched(&link, "slow.bin", &content);
}

/// Runs `veil` and requires it to succeed.
fn veil_ok(args: &[&str], dir: &Path) -> Output {
    let out = veil(args, dir, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A share of two files and a folder: `(sender dir, link)`; the folder
/// holds a nested file, a hidden file and a link that is not followed.
fn folder_share(extra: &[&str]) -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let photo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus/jpeg_iphone4_gps_srgb_icc.jpg");
    std::fs::copy(&photo, dir.path().join("a.jpg")).unwrap();
    std::fs::write(dir.path().join("b.txt"), b"bee").unwrap();
    std::fs::create_dir_all(dir.path().join("dir/sub")).unwrap();
    std::fs::write(dir.path().join("dir/sub/c.bin"), vec![7u8; 300_000]).unwrap();
    std::fs::write(dir.path().join("dir/.hidden"), b"h").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("dir/link")).unwrap();
    let mut args = vec!["send", "a.jpg", "b.txt", "dir", "--json"];
    args.extend_from_slice(extra);
    let out = veil(&args, dir.path(), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not followed"));
    (dir, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn a_share_of_files_and_a_folder_is_one_link_listed_without_consuming() {
    let (dir, sent) = folder_share(&["--burn"]);
    let names: Vec<&str> = sent["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.jpg", "b.txt", "dir/_.hidden", "dir/sub/c.bin"]);
    let link = sent["link"].as_str().unwrap();
    // Listing twice consumes nothing, even on a burn link.
    for _ in 0..2 {
        let out = veil(&["get", "--list", link], dir.path(), None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("dir/sub/c.bin"), "{text}");
        assert!(text.contains("removed: GPS position"), "{text}");
        assert!(text.contains("burns after the next download"), "{text}");
    }
    let recv = tempfile::tempdir().unwrap();
    veil_ok(&["get", link, "-o", "out"], recv.path());
    let root = recv.path().join("out");
    assert_eq!(std::fs::read(root.join("b.txt")).unwrap(), b"bee");
    assert_eq!(
        std::fs::read(root.join("dir/sub/c.bin")).unwrap(),
        vec![7u8; 300_000]
    );
    assert_eq!(std::fs::read(root.join("dir/_.hidden")).unwrap(), b"h");
    assert!(!root.join("dir/link").exists());
    // The picture is exactly what `veil strip` makes of the original.
    veil_ok(&["strip", "a.jpg", "-o", "a.clean.jpg"], dir.path());
    assert_eq!(
        std::fs::read(root.join("a.jpg")).unwrap(),
        std::fs::read(dir.path().join("a.clean.jpg")).unwrap()
    );
    // Burned: a second download of the share finds nothing.
    let again = veil(&["get", link, "-o", "again"], recv.path(), None);
    assert_eq!(again.status.code(), Some(3));
}

#[test]
fn one_file_of_a_limited_share_is_one_download() {
    let (dir, sent) = folder_share(&["--downloads", "2"]);
    let link = sent["link"].as_str().unwrap();
    veil_ok(&["get", link, "--file", "c.bin"], dir.path());
    assert_eq!(
        std::fs::read(dir.path().join("c.bin")).unwrap(),
        vec![7u8; 300_000]
    );
    let listed = veil(&["get", "--list", link], dir.path(), None);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("burns after the next download"));
    // One file to standard output by its path.
    let out = veil_ok(&["get", link, "--file", "b.txt", "-o", "-"], dir.path());
    assert_eq!(out.stdout, b"bee");
    assert_eq!(
        veil(&["get", "--list", link], dir.path(), None)
            .status
            .code(),
        Some(3)
    );
    // A name the share does not hold is refused before anything is consumed.
    let (dir, sent) = folder_share(&["--burn"]);
    let link = sent["link"].as_str().unwrap();
    let out = veil(&["get", link, "--file", "nope.txt"], dir.path(), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no file named nope.txt"));
    let out = veil(&["get", link, "-o", "-"], dir.path(), None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("choose one with --file"));
    assert!(veil(&["get", "--list", link], dir.path(), None)
        .status
        .success());
}

#[test]
fn a_share_never_writes_through_a_link_in_the_output_folder() {
    let (dir, sent) = folder_share(&[]);
    let link = sent["link"].as_str().unwrap();
    let recv = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(recv.path().join("out")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), recv.path().join("out/dir")).unwrap();
    let out = veil(&["get", link, "-o", "out"], recv.path(), None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a folder: nothing was downloaded")
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    // Refused before the download: nothing written, nothing consumed.
    assert!(!recv.path().join("out/b.txt").exists());
    std::fs::remove_file(recv.path().join("out/dir")).unwrap();
    // Existing files and links (even dangling) are never replaced.
    std::fs::write(recv.path().join("out/b.txt"), b"mine").unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", recv.path().join("out/a.jpg")).unwrap();
    veil_ok(&["get", link, "-o", "out"], recv.path());
    assert_eq!(
        std::fs::read(recv.path().join("out/b.txt")).unwrap(),
        b"mine"
    );
    assert_eq!(
        std::fs::read(recv.path().join("out/b (1).txt")).unwrap(),
        b"bee"
    );
    assert!(std::fs::symlink_metadata(recv.path().join("out/a.jpg"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(recv.path().join("out/a (1).jpg").exists());
    // An output that cannot be made does not spend a burn link.
    let (dir2, sent) = folder_share(&["--burn"]);
    let link = sent["link"].as_str().unwrap();
    std::fs::write(recv.path().join("a-file"), b"x").unwrap();
    let out = veil(&["get", link, "-o", "a-file"], recv.path(), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(veil(&["get", "--list", link], recv.path(), None)
        .status
        .success());
    drop((dir, dir2));
}

#[test]
fn a_report_carries_the_key_and_password_sealed_for_the_operator_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.bin"), b"phish").unwrap();
    std::fs::write(dir.path().join("pw"), "hunter2\n").unwrap();
    let sent = send(dir.path(), "bad.bin", &["--password-file", "pw"]);
    let link = sent["link"].as_str().unwrap();
    let out = veil(
        &[
            "report",
            link,
            "--reason",
            "phishing",
            "--text",
            "fake bank",
            "--password-file",
            "pw",
        ],
        dir.path(),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = veil(&["report", link, "--reason", "spam"], dir.path(), None);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown reason is a usage error"
    );
    // A wrong password is refused before anything is sealed (exit 4).
    std::fs::write(dir.path().join("wrong"), "hunter3\n").unwrap();
    let wrong = veil(
        &[
            "report",
            link,
            "--reason",
            "phishing",
            "--password-file",
            "wrong",
        ],
        dir.path(),
        None,
    );
    assert_eq!(
        wrong.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let listed: serde_json::Value = ureq::get(&format!("{}/api/v1/admin/reports", server().url))
        .set("authorization", &format!("Bearer {}", server().admin))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let report = listed["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["text"] == "fake bank")
        .unwrap();
    assert_eq!(report["category"], "phishing");
    let sealed = veil_core::report::decode_sealed(report["key"].as_str().unwrap()).unwrap();
    let opened = server().operator.open(&sealed).unwrap();
    let parsed = veil_core::protocol::ShareLink::parse(link).unwrap();
    assert_eq!(opened.blob_id, parsed.id.to_string());
    assert_eq!(opened.fragment.as_str(), parsed.fragment.as_str());
    assert_eq!(
        opened.password.as_deref().map(String::as_str),
        Some("hunter2")
    );
    // Without the key: nothing sealed.
    let out = veil(
        &[
            "report", link, "--reason", "other", "--no-key", "--text", "no key",
        ],
        dir.path(),
        None,
    );
    assert!(out.status.success());
}
