//! `veil get LINK`: download, verify and decrypt streaming (constant
//! memory), into a temporary file that is renamed to the final name only
//! after the last record verified.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use veil_core::{Decryptor, Link};

use crate::exit::{transport, Failure};
use crate::progress;

/// Arguments of `veil get`.
#[derive(clap::Args)]
pub struct Args {
    /// The share link (https://host/d/ID#SECRET).
    link: String,
    /// Where to write: a path, or `-` for standard output [default: the
    /// original file name, in the current directory].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Read the password from the first line of this file instead of asking.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short, long)]
    force: bool,
}

/// A file name from the sender, made safe: no directories, no dot names.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => "veil-download".to_owned(),
        n if n.starts_with('.') => format!("_{n}"),
        n => n.to_owned(),
    }
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
    let parsed = crate::link::parse(&args.link, 'd')?;
    let link = Link::parse_fragment(&parsed.fragment).map_err(|_| Failure::BadLink)?;
    let url = format!("{}/api/v1/blobs/{}", parsed.server, parsed.id);
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
    let key = link.unlock(password.as_ref().map(|p| p.as_bytes()))?;
    let proof = key.download_proof();
    let proof_text = proof.to_base64().to_string();
    let mut answer = ureq::get(&url).set("Veil-Proof", &proof_text).call();
    let bits = match &answer {
        Err(ureq::Error::Status(429, r)) => r.header("Veil-Work-Bits").and_then(|b| b.parse().ok()),
        _ => None,
    };
    if let Some(bits) = bits {
        // Others tried wrong passwords on this link: prove this attempt is
        // not a guess (docs/API.md, "Wrong proofs").
        eprintln!("someone tried wrong passwords on this link; doing the server's proof of work");
        let nonce = veil_core::work::solve(&parsed.id, &proof_text, bits);
        answer = ureq::get(&url)
            .set("Veil-Proof", &proof_text)
            .set("Veil-Work", &nonce.to_string())
            .call();
    }
    let resp = match answer {
        Ok(r) => r,
        Err(ureq::Error::Status(404, _)) => return Err(Failure::Gone),
        Err(ureq::Error::Status(403, _)) if password.is_some() => {
            return Err(Failure::WrongPassword)
        }
        Err(ureq::Error::Status(403, _)) => return Err(Failure::BadLink),
        Err(ureq::Error::Status(429 | 503, _)) => {
            return Err(Failure::Other(anyhow!(
                "the server is busy; nothing was downloaded, try again in a moment"
            )));
        }
        Err(e) => return Err(transport(e)),
    };
    let mut reader = resp.into_reader();
    let mut dec = Decryptor::new(key);
    let bar = progress::bar(total, "receiving");
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    let mut sink: Option<Sink> = None;
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
            .map_err(|_| Failure::Damaged)?;
        if sink.is_none() {
            if let Some(meta) = dec.metadata() {
                sink = Some(Sink::open(args, &meta.name)?);
            }
        }
        if let Some(s) = sink.as_mut() {
            s.write(&plain)?;
        }
    }
    let meta = dec.finish().map_err(|_| Failure::Damaged)?;
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
            None => PathBuf::from(safe_name(sender_name)),
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

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn sender_names_cannot_escape_the_directory() {
        assert_eq!(safe_name("photo.jpg"), "photo.jpg");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\\\x\\\\evil.exe"), "evil.exe");
        assert_eq!(safe_name(".."), "veil-download");
        assert_eq!(safe_name(".bashrc"), "_.bashrc");
        assert_eq!(safe_name("a\nb"), "a_b");
    }
}
