//! `veil strip` as a user runs it: default output name, --report, --json,
//! refusing to overwrite, and nothing written when a file cannot be cleaned.
#![allow(
    clippy::cast_possible_truncation,
    clippy::panic,
    clippy::type_complexity,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn veil(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus")
        .join(name)
}

#[test]
fn strips_to_the_default_name_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        corpus("jpeg_iphone4_gps_srgb_icc.jpg"),
        dir.path().join("photo.jpg"),
    )
    .unwrap();
    let out = veil(&["strip", "photo.jpg", "--report"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("removed: GPS position"), "{stdout}");
    assert!(
        stdout.contains("removed: camera: Apple iPhone 4"),
        "{stdout}"
    );
    assert!(stdout.contains("kept: colour profile"), "{stdout}");
    let cleaned = std::fs::read(dir.path().join("photo.clean.jpg")).unwrap();
    assert!(
        !cleaned.windows(6).any(|w| w == b"iPhone"),
        "camera model still in the file"
    );

    // Refuses to overwrite without --force; succeeds with it.
    let again = veil(&["strip", "photo.jpg"], dir.path());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(veil(&["strip", "photo.jpg", "--force"], dir.path())
        .status
        .success());
}

#[test]
fn json_output_is_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus("webp_htc_desire_exif_gps_iccp.webp");
    let out = veil(
        &["strip", input.to_str().unwrap(), "-o", "x.webp", "--json"],
        dir.path(),
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "WebP");
    assert!(v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "GPS position"));
    assert!(dir.path().join("x.webp").exists());
}

#[test]
fn failure_writes_nothing_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    // A JPEG cut in the middle of its image data.
    let data = std::fs::read(corpus("jpeg_progressive_com_comment.jpg")).unwrap();
    std::fs::write(dir.path().join("cut.jpg"), &data[..data.len() / 2]).unwrap();
    // A text file pretending to be a PNG.
    std::fs::write(dir.path().join("fake.png"), b"not a png").unwrap();
    for name in ["cut.jpg", "fake.png", "missing.jpg"] {
        let out = veil(&["strip", name], dir.path());
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "something was written: {left:?}");
}

#[test]
fn other_files_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let out = veil(&["strip", "notes.txt", "--report"], dir.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not an image: sent as is"));
    assert_eq!(
        std::fs::read(dir.path().join("notes.clean.txt")).unwrap(),
        b"hello"
    );
}

#[test]
fn songs_lose_their_tags_and_a_fake_song_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus-docs/flac_vorbis_comments_picture.flac");
    let out = veil(
        &[
            "strip",
            input.to_str().unwrap(),
            "-o",
            "song.flac",
            "--json",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "FLAC");
    let removed = v["removed"].as_array().unwrap();
    assert!(
        removed.iter().any(|r| r == "embedded picture"),
        "{removed:?}"
    );
    let cleaned = std::fs::read(dir.path().join("song.flac")).unwrap();
    assert!(cleaned.starts_with(b"fLaC"));
    assert!(cleaned.len() < std::fs::metadata(&input).unwrap().len() as usize);
    // A text file named like a song claims to be one: refused, nothing written.
    std::fs::write(dir.path().join("fake.mp3"), b"not a song").unwrap();
    let out = veil(&["strip", "fake.mp3"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("fake.clean.mp3").exists());
}
