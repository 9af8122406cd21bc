//! `veil send FILE|DIR...`: strip, encrypt and upload with tus
//! (resumable) as one share: one link for every file and folder given. The
//! link goes to standard output, the deletion link to standard error (both
//! as JSON with `--json`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use veil_core::protocol::{
    header, upload_metadata, BlobId, DeletionLink, ShareLink, UploadOptions, TUS_CONTENT_TYPE,
    TUS_VERSION, UPLOADS,
};
use veil_core::{
    prepare, strip, Argon2Params, Encryptor, Link, Manifest, Metadata, DEFAULT_RECORD_SIZE,
};

use crate::exit::{transport, Failure};
use crate::progress;

/// Bytes per PATCH.
const CHUNK: usize = 8 << 20;
/// Bytes read and encrypted per step.
const SLICE: usize = 1 << 20;

/// Arguments of `veil send`.
#[derive(clap::Args)]
pub struct Args {
    /// Files and folders to send, all in one share (`-` reads standard
    /// input). Folders are sent whole, with their relative paths.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Server URL.
    #[arg(long, env = "VEIL_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Expiry: seconds, or a number with s, m, h or d (e.g. 30m, 1h, 7d).
    #[arg(long)]
    expire: Option<String>,
    /// Burn after reading (one download).
    #[arg(long, conflicts_with = "downloads")]
    burn: bool,
    /// Maximum number of downloads (at least 1; leave it out for no limit).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    downloads: Option<u32>,
    /// Ask for a password (the recipient needs it too).
    #[arg(long)]
    password: bool,
    /// Read the password from the first line of this file instead of asking.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Send pictures and videos as they are, without removing metadata.
    #[arg(long)]
    no_strip: bool,
    /// Print what was removed from (and kept in) each file.
    #[arg(long)]
    report: bool,
    /// Keep camera-style file names (IMG_20240612_101530.jpg, DSC_0042.JPG),
    /// which tell when a picture was taken or by which camera; by default
    /// they are sent as photo.jpg, video.mp4 or screenshot.png.
    #[arg(long)]
    keep_names: bool,
    /// Print {link, delete_link, expires_at, removed, files} as one JSON line.
    #[arg(long)]
    json: bool,
}

fn parse_expiry(s: &str) -> Result<u64, Failure> {
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86400),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| Failure::Other(anyhow!("--expire must look like 3600, 30m, 1h or 7d")))
}

/// Where one file's bytes to send come from.
enum Source {
    /// A cleaned picture or video (or standard input), spooled at this
    /// offset of the share's unnamed spool file.
    Spooled(u64),
    /// A file sent as it is, read again when its turn comes.
    File(PathBuf),
}

/// One file of the share, ready to encrypt.
struct Item {
    source: Source,
    meta: Metadata,
    /// What was removed, for the sender.
    removed: Vec<String>,
}

/// Runs `veil send`: every file and folder given becomes one share.
pub fn run(args: &Args) -> Result<(), Failure> {
    let expires = args.expire.as_deref().map(parse_expiry).transpose()?;
    let password = if args.password || args.password_file.is_some() {
        Some(crate::password::read(
            args.password_file.as_deref(),
            "Password for the recipient: ",
        )?)
    } else {
        None
    };
    let mut spool = tempfile::tempfile().context("cannot create a temporary file")?;
    let mut items = Vec::new();
    for (path, name) in inputs(&args.files)? {
        let name = neutral_name(name, args.keep_names);
        items.push(prepare(&path, name, args.no_strip, &mut spool)?);
    }
    send_share(
        args,
        items,
        spool,
        expires,
        password.as_deref().map(String::as_str),
    )
}

/// The files named on the command line, folders walked (in name order,
/// without following links inside them): each with its path in the share,
/// relative to the folder's parent (`dir/sub/a.jpg`).
fn inputs(args: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, Failure> {
    let mut out = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            out.push((arg.clone(), "stdin".to_owned()));
            continue;
        }
        let meta =
            std::fs::metadata(arg).with_context(|| format!("cannot read {}", arg.display()))?;
        if !meta.is_dir() {
            let name = arg
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into());
            out.push((arg.clone(), name));
            continue;
        }
        let base = arg
            .canonicalize()
            .with_context(|| format!("cannot read {}", arg.display()))?;
        let parent = base.parent().map(Path::to_path_buf).unwrap_or_default();
        for entry in walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.with_context(|| format!("cannot read {}", arg.display()))?;
            let kind = entry.file_type();
            if kind.is_symlink() {
                eprintln!("{}: a link, not followed: skipped", entry.path().display());
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(&parent).unwrap_or(entry.path());
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((entry.path().to_path_buf(), name));
        }
    }
    if out.is_empty() {
        return Err(Failure::Other(anyhow!(
            "nothing to send: the folders given are empty"
        )));
    }
    Ok(out)
}

fn send_share(
    args: &Args,
    items: Vec<Item>,
    mut spool: std::fs::File,
    expires: Option<u64>,
    password: Option<&str>,
) -> Result<(), Failure> {
    let kdf = password.map(|_| Argon2Params::DEFAULT);
    let link = Link::generate(kdf)?;
    let key = link.unlock(password)?;
    let manifest = Manifest::share(items.iter().map(|i| i.meta.clone()).collect())?;
    let mut enc = Encryptor::for_manifest(&key, &manifest, DEFAULT_RECORD_SIZE)?;
    let total = enc.container_len();
    let server = args.server.trim_end_matches('/');
    let what = match manifest.files() {
        [one] => one.name.clone(),
        many => format!("{} files", many.len()),
    };

    let metadata = upload_metadata(&UploadOptions {
        expires_in: expires,
        max_downloads: if args.burn { Some(1) } else { args.downloads },
        proof_hash: Some(key.download_proof().verifier_base64()),
    });
    // ureq's own error type: taken apart just below.
    #[allow(clippy::result_large_err)]
    let create = |work: Option<String>| {
        let mut req = ureq::post(&format!("{server}{UPLOADS}"))
            .set(header::TUS_RESUMABLE, TUS_VERSION)
            .set(header::UPLOAD_LENGTH, &total.to_string())
            .set(header::UPLOAD_METADATA, &metadata);
        if let Some(w) = &work {
            req = req.set(header::WORK, w);
        }
        req.call()
    };
    let refused = |e: ureq::Error| match e {
        ureq::Error::Status(413, _) => {
            Failure::Other(anyhow!("{what} is too large for this server"))
        }
        ureq::Error::Status(507, r) => Failure::Other(anyhow!(
            "the server has no room for {what}: {}",
            r.into_json::<serde_json::Value>()
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "insufficient storage".into())
        )),
        ureq::Error::Status(code @ (429 | 503), r) => {
            let wait = r.header("retry-after").unwrap_or("a while").to_owned();
            let text = r.into_string().unwrap_or_default();
            Failure::Other(anyhow!(
                "the server refused the upload for now ({code}: {text}); try again in {wait} s"
            ))
        }
        other => transport(other),
    };
    let created = crate::work::with_work(create).map_err(refused)?;
    let location = created
        .header("location")
        .ok_or_else(|| anyhow!("the server gave no upload location"))?
        .to_owned();
    let id = created
        .header(header::BLOB_ID)
        .ok_or_else(|| anyhow!("the server gave no blob id"))?
        .to_owned();
    let token = created
        .header(header::DELETE_TOKEN)
        .ok_or_else(|| anyhow!("the server gave no deletion token"))?
        .to_owned();
    let upload_url = if location.starts_with("http") {
        location
    } else {
        format!("{server}{location}")
    };

    let bar = progress::bar(total, &format!("sending {what}"));
    let mut up = Upload {
        url: upload_url,
        offset: 0,
        expires_at: None,
    };
    let mut buf = Vec::with_capacity(CHUNK + 2 * SLICE);
    buf.extend_from_slice(enc.header());
    let push = |data: Vec<u8>, buf: &mut Vec<u8>, up: &mut Upload| -> Result<(), Failure> {
        buf.extend_from_slice(&data);
        if buf.len() >= CHUNK {
            up.send(buf)?;
            buf.clear();
            bar.set_position(up.offset);
        }
        Ok(())
    };
    let mut slice = vec![0u8; SLICE];
    for item in &items {
        use std::io::{Seek, SeekFrom};
        let mut file = match &item.source {
            Source::Spooled(at) => {
                spool
                    .seek(SeekFrom::Start(*at))
                    .context("cannot read the spool file")?;
                spool.try_clone().context("cannot read the spool file")?
            }
            Source::File(path) => std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        };
        let mut left = item.meta.size;
        while left > 0 {
            let n = usize::try_from(left.min(SLICE as u64)).unwrap_or(SLICE);
            let chunk = slice.get_mut(..n).unwrap_or_default();
            file.read_exact(chunk).with_context(|| {
                format!("{} changed or shrank while being sent", item.meta.name)
            })?;
            let sealed = enc.push(chunk)?;
            push(sealed, &mut buf, &mut up)?;
            left -= n as u64;
        }
    }
    while enc.padding_left() > 0 {
        let sealed = enc.pad(SLICE)?;
        push(sealed, &mut buf, &mut up)?;
    }
    buf.extend_from_slice(&enc.finish()?);
    up.send(&buf)?;
    bar.finish_and_clear();

    let id = BlobId::parse(&id).ok_or_else(|| anyhow!("the server gave a malformed blob id"))?;
    let share = ShareLink {
        origin: server.to_owned(),
        id,
        fragment: link.fragment().to_string(),
    }
    .to_string();
    let delete = DeletionLink {
        origin: server.to_owned(),
        id,
        token,
    }
    .to_string();
    let files: Vec<_> = manifest
        .files()
        .iter()
        .zip(&items)
        .map(|(f, i)| {
            serde_json::json!({ "name": f.name, "size": f.size, "type": f.mime, "removed": i.removed, "report": f.report })
        })
        .collect();
    if args.json {
        let removed: Vec<&String> = items.iter().flat_map(|i| &i.removed).collect();
        println!(
            "{}",
            serde_json::json!({ "file": what, "files": files, "link": share, "delete_link": delete, "expires_at": up.expires_at, "removed": removed })
        );
    } else {
        for (f, item) in manifest.files().iter().zip(&items) {
            if args.report {
                eprintln!("{} ({} bytes):", f.name, f.size);
                for line in &f.report {
                    eprintln!("  {line}");
                }
            } else if !item.removed.is_empty() {
                eprintln!("{}: removed {}", f.name, item.removed.join(", "));
            }
        }
        println!("{share}");
        eprintln!("deletion link (keep it private): {delete}");
    }
    Ok(())
}

/// The name a file is sent under: a camera-style one is replaced by a
/// neutral one (saying so on standard error) unless `keep` is set.
fn neutral_name(name: String, keep: bool) -> String {
    use prepare::NameReveals;
    match prepare::camera_name(&name) {
        Some(c) if !keep => {
            let why = match c.reveals {
                NameReveals::CaptureTime => "when it was taken",
                NameReveals::CameraNumbering => "the camera and how many pictures it has taken",
            };
            eprintln!(
                "{name} is sent as {}: its name tells {why} (--keep-names keeps it)",
                c.neutral
            );
            c.neutral
        }
        _ => name,
    }
}

/// Reads one input; a picture or video is cleaned and the result spooled
/// (its cleaned size must be known before the share is encrypted), other
/// files are only measured now and read again when sent.
fn prepare(
    path: &Path,
    name: String,
    no_strip: bool,
    spool: &mut std::fs::File,
) -> Result<Item, Failure> {
    use std::io::{Seek, SeekFrom, Write};
    let spooled = |spool: &mut std::fs::File, bytes: &[u8]| -> Result<u64, Failure> {
        let at = spool
            .seek(SeekFrom::End(0))
            .context("cannot write the spool file")?;
        spool
            .write_all(bytes)
            .context("cannot write the spool file (is the disk full?)")?;
        Ok(at)
    };
    let (mut file, len) = if path.as_os_str() == "-" {
        // Standard input has no known size: into the spool as it is.
        let at = spool
            .seek(SeekFrom::End(0))
            .context("cannot write the spool file")?;
        let n = std::io::copy(&mut std::io::stdin().lock(), spool)
            .context("cannot read standard input")?;
        let meta = Metadata {
            name,
            mime: String::new(),
            size: n,
            report: prepare::as_is_report(prepare::Kind::Other, None),
        };
        return Ok(Item {
            source: Source::Spooled(at),
            meta,
            removed: vec![],
        });
    } else {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let n = f.metadata().context("cannot read the file size")?.len();
        (f, n)
    };
    let mut head = [0u8; prepare::HEAD_BYTES];
    let got = read_prefix(&mut file, &mut head)?;
    let head = head.get(..got).unwrap_or_default();
    let declared = crate::strip::declared_type(Path::new(&name));
    let kind = prepare::classify(head, declared);
    if no_strip || kind == prepare::Kind::Other {
        return Ok(Item {
            source: Source::File(path.to_path_buf()),
            meta: Metadata {
                name,
                mime: strip::media_type(head, declared),
                size: len,
                report: prepare::as_is_report(kind, None),
            },
            removed: vec![],
        });
    }
    let mut data = head.to_vec();
    file.read_to_end(&mut data)
        .context("cannot read the file")?;
    let cleaned = strip::strip(&data, declared).map_err(|e| {
        Failure::Other(anyhow!(
            "{name}: {e} (use --no-strip to send it unmodified)"
        ))
    })?;
    let mime = strip::media_type(&data, declared);
    let at = spooled(spool, &cleaned.data)?;
    let report = cleaned.report;
    Ok(Item {
        source: Source::Spooled(at),
        meta: Metadata {
            name,
            mime,
            size: cleaned.data.len() as u64,
            report: report.lines(),
        },
        removed: report.removed,
    })
}

fn read_prefix(f: &mut std::fs::File, buf: &mut [u8]) -> Result<usize, Failure> {
    let mut n = 0;
    while n < buf.len() {
        match f
            .read(buf.get_mut(n..).unwrap_or_default())
            .context("cannot read the file")?
        {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A tus upload in progress.
struct Upload {
    url: String,
    offset: u64,
    expires_at: Option<u64>,
}

impl Upload {
    /// Sends `bytes` (which start at `self.offset`), resuming after
    /// network errors from the server's offset.
    fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let start = self.offset;
        let end = start + bytes.len() as u64;
        let mut failures = 0u32;
        while self.offset < end {
            let skip = usize::try_from(self.offset - start).unwrap_or(usize::MAX);
            let rest = bytes.get(skip..).unwrap_or_default();
            let result = ureq::patch(&self.url)
                .set(header::TUS_RESUMABLE, TUS_VERSION)
                .set(header::UPLOAD_OFFSET, &self.offset.to_string())
                .set("content-type", TUS_CONTENT_TYPE)
                .send_bytes(rest);
            match result {
                Ok(r) => {
                    self.offset = r
                        .header(header::UPLOAD_OFFSET)
                        .and_then(|o| o.parse().ok())
                        .unwrap_or(end);
                    if let Some(e) = r.header(header::EXPIRES_AT).and_then(|e| e.parse().ok()) {
                        self.expires_at = Some(e);
                    }
                }
                Err(ureq::Error::Status(409, _)) | Err(ureq::Error::Transport(_))
                    if failures < 5 =>
                {
                    failures += 1;
                    std::thread::sleep(Duration::from_millis(500 * u64::from(failures)));
                    let head = ureq::head(&self.url)
                        .set(header::TUS_RESUMABLE, TUS_VERSION)
                        .call()
                        .map_err(transport)?;
                    self.offset = head
                        .header(header::UPLOAD_OFFSET)
                        .and_then(|o| o.parse().ok())
                        .unwrap_or(self.offset);
                }
                Err(e) => return Err(transport(e)),
            }
        }
        Ok(())
    }
}
