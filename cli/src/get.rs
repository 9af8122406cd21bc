//! `veil get LINK`: download, verify and decrypt streaming (constant
//! memory), into a temporary file that is renamed to the final name only
//! after the last record verified.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use veil_core::protocol::{header, DownloadAnswer, ShareLink, BLOBS};
use veil_core::{Decryptor, Link};

use crate::exit::{transport, Failure};
use crate::progress;

/// Arguments of `veil get`.
#[derive(clap::Args)]
pub struct Args {
    /// The share link (https://host/d/ID#SECRET).
    link: String,
    /// Where to write: a path, or `-` for standard output [default: the
    /// original file name, in the current directory]. A file appears only
    /// once everything verified; standard output gets each record as it
    /// verifies, so on damage (exit 5) what it already received must be
    /// discarded.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Read the password from the first line of this file instead of asking.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short, long)]
    force: bool,
}

/// `photo.jpg` → `photo (1).jpg`, the first name that does not exist.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..10_000)
        .map(|i| dir.join(format!("{stem} ({i}){ext}")))
        .find(|c| !c.exists())
        .unwrap_or_else(|| dir.join(name))
}

/// Runs `veil get`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let parsed = ShareLink::parse(&args.link).map_err(|_| Failure::BadLink)?;
    let link = Link::parse_fragment(&parsed.fragment).map_err(|_| Failure::BadLink)?;
    let id = parsed.id.to_string();
    let url = format!("{}{BLOBS}/{id}", parsed.origin);
    if let Some(out) = args.output.as_deref().filter(|o| o.as_os_str() != "-") {
        if out.exists() && !args.force {
            return Err(Failure::Other(anyhow!(
                "{} already exists (use --force to overwrite)",
                out.display()
            )));
        }
    }
    let head = match ureq::head(&url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(404, _)) => return Err(Failure::Gone),
        Err(e) => return Err(transport(e)),
    };
    let total: u64 = head
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let password = if link.needs_password() {
        Some(crate::password::read(
            args.password_file.as_deref(),
            "Password: ",
        )?)
    } else {
        None
    };
    let key = link.unlock(password.as_deref().map(String::as_str))?;
    let proof = key.download_proof();
    let proof_text = proof.to_base64().to_string();
    // The meaning of each answer is the protocol's (DownloadAnswer); a 429
    // asking for work is answered once with the work done.
    let call = |work: Option<u64>| -> Result<ureq::Response, Failure> {
        let req = ureq::get(&url).set(header::PROOF, &proof_text);
        let req = match work {
            Some(n) => req.set(header::WORK, &n.to_string()),
            None => req,
        };
        match req.call() {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(_, r)) => Ok(r),
            Err(e) => Err(transport(e)),
        }
    };
    let classify = |r: &ureq::Response| {
        DownloadAnswer::classify(r.status(), password.is_some(), r.header(header::WORK_BITS))
    };
    let mut resp = call(None)?;
    if let DownloadAnswer::WorkRequired(bits) = classify(&resp) {
        eprintln!("someone tried wrong passwords on this link; doing the server's proof of work");
        resp = call(Some(veil_core::work::solve(&id, &proof_text, bits)))?;
    }
    match classify(&resp) {
        DownloadAnswer::Granted => {}
        DownloadAnswer::Gone => return Err(Failure::Gone),
        DownloadAnswer::WrongPassword => return Err(Failure::WrongPassword),
        DownloadAnswer::WrongLink => return Err(Failure::BadLink),
        DownloadAnswer::WorkRequired(_) | DownloadAnswer::Busy => {
            return Err(Failure::Other(anyhow!(
                "the server is busy; nothing was downloaded, try again in a moment"
            )))
        }
        _ => {
            return Err(Failure::Other(anyhow!(
                "the server answered {}",
                resp.status()
            )))
        }
    }
    let mut reader = resp.into_reader();
    let mut dec = Decryptor::new(key);
    let bar = progress::bar(total, "receiving");
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    let mut sink: Option<Sink> = None;
    // Bytes already written to standard output, which cannot be taken back.
    let mut sent = 0u64;
    let damaged = |sent: u64| {
        if sent > 0 {
            Failure::DamagedAfterStdout(sent)
        } else {
            Failure::Damaged
        }
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(Failure::Unreachable(e.to_string())),
        };
        received += n as u64;
        bar.set_position(received);
        let plain = dec
            .push(buf.get(..n).unwrap_or_default())
            .map_err(|_| damaged(sent))?;
        if sink.is_none() {
            if let Some(meta) = dec.metadata() {
                sink = Some(Sink::open(args, &meta.name)?);
            }
        }
        if let Some(s) = sink.as_mut() {
            s.write(&plain)?;
            if matches!(s, Sink::Stdout(_)) {
                sent += plain.len() as u64;
            }
        }
    }
    let meta = dec.finish().map_err(|_| damaged(sent))?;
    bar.finish_and_clear();
    let sink = match sink {
        Some(s) => s,
        None => Sink::open(args, &meta.name)?,
    };
    let done = sink.commit(args.force)?;
    if let Some(path) = done {
        eprintln!("saved {} ({} bytes)", path.display(), meta.size);
    }
    Ok(())
}

/// Where plaintext goes: a temp file beside the destination, or stdout.
enum Sink {
    Stdout(std::io::Stdout),
    File {
        tmp: tempfile::NamedTempFile,
        dest: PathBuf,
    },
}

impl Sink {
    fn open(args: &Args, sender_name: &str) -> Result<Self, Failure> {
        let dest = match &args.output {
            Some(o) if o.as_os_str() == "-" => return Ok(Self::Stdout(std::io::stdout())),
            Some(o) => o.clone(),
            None => PathBuf::from(veil_core::metadata::safe_file_name(sender_name)),
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok(Self::File { tmp, dest })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        match self {
            Self::Stdout(s) => s
                .write_all(data)
                .context("cannot write to standard output")?,
            Self::File { tmp, .. } => tmp.write_all(data).context("cannot write the file")?,
        }
        Ok(())
    }

    /// Renames the verified file into place (never over an existing file
    /// without --force: a free name is chosen instead, since a
    /// burn-after-reading download cannot be repeated).
    fn commit(self, force: bool) -> Result<Option<PathBuf>, Failure> {
        match self {
            Self::Stdout(mut s) => {
                s.flush().context("cannot write to standard output")?;
                Ok(None)
            }
            Self::File { tmp, dest } => {
                tmp.as_file().sync_all().context("cannot flush the file")?;
                let dest = if dest.exists() && !force {
                    let dir = dest
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."));
                    let name = dest
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    free_name(dir, &name)
                } else {
                    dest
                };
                tmp.persist(&dest)
                    .with_context(|| format!("cannot create {}", dest.display()))?;
                Ok(Some(dest))
            }
        }
    }
}
