//! The ZIP a recipient saves a share as, read back byte for byte by an
//! independent reader (Python's `zipfile`): plain entries, an empty one,
//! UTF-8 names, folders, and more than 65,535 entries (ZIP64 end records).
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use veil_zip::ZipWriter;

struct File {
    name: String,
    size: u64,
}

#[test]
fn a_zip_of_the_share_reads_back_in_python() {
    let sizes = [0usize, 1, 5000, 70_000, 3];
    let files: Vec<File> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| File {
            name: format!("dir{}/f{i} é.bin", i % 3),
            size: n as u64,
        })
        .collect();
    let bodies: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (i * 7 + j * 13) as u8).collect())
        .collect();
    let mut zip = ZipWriter::new();
    let mut out = Vec::new();
    for (f, body) in files.iter().zip(&bodies) {
        out.extend(zip.begin(&f.name, f.size).unwrap());
        for chunk in body.chunks(4096) {
            zip.data(chunk).unwrap();
            out.extend_from_slice(chunk);
        }
        out.extend(zip.end().unwrap());
    }
    out.extend(zip.finish().unwrap());
    let entries = files.iter().map(|f| (f.name.as_str(), f.size));
    assert_eq!(ZipWriter::archive_len(entries).unwrap(), out.len() as u64);
    check_with_python(&out, &files, &bodies);
}

#[test]
fn a_zip_of_more_than_65535_entries_uses_zip64_end_records() {
    let n = 70_000;
    let mut zip = ZipWriter::new();
    let mut out = Vec::new();
    for i in 0..n {
        out.extend(zip.begin(&format!("{i}"), 1).unwrap());
        zip.data(&[i as u8]).unwrap();
        out.push(i as u8);
        out.extend(zip.end().unwrap());
    }
    out.extend(zip.finish().unwrap());
    let script = "n=z.namelist()\nprint(len(n), n[-1], z.read(n[-1])[0])";
    let last = n - 1;
    assert_eq!(
        python(&out, script).trim(),
        format!("{n} {last} {}", last as u8)
    );
}

/// Runs `script` with `z`, the archive opened (and tested) by zipfile;
/// its standard output.
fn python(zip: &[u8], script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("share.zip");
    std::fs::write(&path, zip).unwrap();
    let script = format!("import sys,zipfile,hashlib\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n{script}");
    let run = std::process::Command::new("python3")
        .args(["-c", &script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn check_with_python(zip: &[u8], files: &[File], bodies: &[Vec<u8>]) {
    let got = python(
        zip,
        "for i in z.infolist(): print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest(), i.flag_bits & 0x808)",
    );
    let want: String = files
        .iter()
        .zip(bodies)
        .map(|(f, b)| {
            use sha2::Digest;
            format!(
                "{} {} {} 2056\n",
                f.name,
                f.size,
                hex::encode(sha2::Sha256::digest(b))
            )
        })
        .collect();
    assert_eq!(got, want);
}
