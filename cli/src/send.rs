//! `veil send FILE...`: strip, encrypt and upload with tus (resumable), one
//! link per file. The link goes to standard output, the deletion link to
//! standard error (both as JSON with `--json`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use veil_core::protocol::{
    header, upload_metadata, BlobId, DeletionLink, ShareLink, UploadOptions, TUS_CONTENT_TYPE,
    TUS_VERSION, UPLOADS,
};
use veil_core::{prepare, strip, Argon2Params, Encryptor, Link, Metadata, DEFAULT_RECORD_SIZE};

use crate::exit::{transport, Failure};
use crate::progress;

/// Bytes per PATCH.
const CHUNK: usize = 8 << 20;
/// Bytes read and encrypted per step.
const SLICE: usize = 1 << 20;

/// Arguments of `veil send`.
#[derive(clap::Args)]
pub struct Args {
    /// Files to send (`-` reads standard input).
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
    /// Print {link, delete_link, expires_at, removed} per file as JSON lines.
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

/// Where the bytes to send come from.
enum Source {
    Memory(Vec<u8>),
    File(std::fs::File, u64),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Self::Memory(v) => v.len() as u64,
            Self::File(_, n) => *n,
        }
    }
}

/// Runs `veil send`.
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
    for file in &args.files {
        send_one(args, file, expires, password.as_deref().map(String::as_str))?;
    }
    Ok(())
}

fn send_one(
    args: &Args,
    path: &Path,
    expires: Option<u64>,
    password: Option<&str>,
) -> Result<(), Failure> {
    let Prepared {
        name,
        source,
        lines,
        mime,
        removed,
    } = prepare(path, args.no_strip)?;
    let kdf = password.map(|_| Argon2Params::DEFAULT);
    let link = Link::generate(kdf)?;
    let key = link.unlock(password)?;
    let meta = Metadata {
        name: name.clone(),
        mime,
        size: source.len(),
        report: lines,
    };
    let mut enc = Encryptor::new(&key, &meta, DEFAULT_RECORD_SIZE)?;
    let total = enc.container_len();
    let server = args.server.trim_end_matches('/');

    let metadata = upload_metadata(&UploadOptions {
        expires_in: expires,
        max_downloads: if args.burn { Some(1) } else { args.downloads },
        proof_hash: Some(key.download_proof().verifier_base64()),
    });
    let created = ureq::post(&format!("{server}{UPLOADS}"))
        .set(header::TUS_RESUMABLE, TUS_VERSION)
        .set(header::UPLOAD_LENGTH, &total.to_string())
        .set(header::UPLOAD_METADATA, &metadata)
        .call()
        .map_err(|e| match e {
            ureq::Error::Status(413, _) => {
                Failure::Other(anyhow!("{name} is too large for this server"))
            }
            other => transport(other),
        })?;
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

    let bar = progress::bar(total, &format!("sending {name}"));
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
    match source {
        Source::Memory(bytes) => {
            for slice in bytes.chunks(SLICE) {
                let sealed = enc.push(slice)?;
                push(sealed, &mut buf, &mut up)?;
            }
        }
        Source::File(mut f, len) => {
            let mut slice = vec![0u8; SLICE];
            let mut left = len;
            while left > 0 {
                let n = usize::try_from(left.min(SLICE as u64)).unwrap_or(SLICE);
                let chunk = slice.get_mut(..n).unwrap_or_default();
                f.read_exact(chunk)
                    .context("the file changed or shrank while being sent")?;
                let sealed = enc.push(chunk)?;
                push(sealed, &mut buf, &mut up)?;
                left -= n as u64;
            }
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
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "file": name, "link": share, "delete_link": delete, "expires_at": up.expires_at, "removed": removed })
        );
    } else {
        if !removed.is_empty() {
            eprintln!("{name}: removed {}", removed.join(", "));
        }
        println!("{share}");
        eprintln!("deletion link (keep it private): {delete}");
    }
    Ok(())
}

/// One input, read and (for media) cleaned, ready to encrypt.
struct Prepared {
    /// The name sealed into the metadata.
    name: String,
    source: Source,
    /// The report lines sealed into the metadata.
    lines: Vec<String>,
    mime: String,
    /// What was removed, for the sender.
    removed: Vec<String>,
}

/// Reads (and, for media, cleans) one input.
fn prepare(path: &Path, no_strip: bool) -> Result<Prepared, Failure> {
    let (name, file, len) = if path.as_os_str() == "-" {
        // Standard input has no known size: spool it to an unnamed temp file.
        let mut tmp = tempfile::tempfile().context("cannot create a temporary file")?;
        let n = std::io::copy(&mut std::io::stdin().lock(), &mut tmp)
            .context("cannot read standard input")?;
        use std::io::Seek;
        tmp.rewind().context("cannot rewind the temporary file")?;
        ("stdin".to_owned(), tmp, n)
    } else {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let n = f.metadata().context("cannot read the file size")?.len();
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        (name, f, n)
    };
    let mut head = [0u8; 64];
    let mut file = file;
    let got = read_prefix(&mut file, &mut head)?;
    let head = head.get(..got).unwrap_or_default();
    let declared = crate::strip::declared_type(Path::new(&name));
    let kind = prepare::classify(head, declared);
    if no_strip || kind == prepare::Kind::Other {
        use std::io::Seek;
        file.rewind().context("cannot rewind the file")?;
        let mime = strip::media_type(head, declared);
        let lines = prepare::as_is_report(kind, None);
        return Ok(Prepared {
            name,
            source: Source::File(file, len),
            lines,
            mime,
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
    let report = cleaned.report;
    let bytes = cleaned.data.into_owned();
    Ok(Prepared {
        name,
        source: Source::Memory(bytes),
        lines: report.lines(),
        mime,
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
