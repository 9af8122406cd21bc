//! `veil get LINK`: look at what the link holds (consuming nothing), then
//! download, verify and decrypt streaming (constant memory) every file, or
//! the one `--file` names (one byte range: one download); each file goes
//! to a temporary file renamed to its name only once all of it verified.
//! `--list` stops after the look.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use veil_core::format::MAX_HEAD_LEN;
use veil_core::protocol::{header, DownloadAnswer, ShareLink, BLOBS, LOOK_SUFFIX};
use veil_core::share::Splitter;
use veil_core::{Decryptor, Link, Manifest};

use crate::exit::{transport, Failure};
use crate::progress;

/// Arguments of `veil get`.
#[derive(clap::Args)]
pub struct Args {
    /// The share link (https://host/d/ID#SECRET).
    link: String,
    /// Where to write. One file: a path, or `-` for standard output
    /// [default: its name, in the current directory]. Several files: the
    /// folder to write them under, with their paths [default: the current
    /// directory]. A file appears only once all of it verified; standard
    /// output gets each record as it verifies, so on damage (exit 5) what
    /// it already received must be discarded.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Download only this file of the share (its path, or its name when
    /// no other file has it). On a limited link this is one download.
    #[arg(long, conflicts_with = "list")]
    file: Option<String>,
    /// Print what the share holds (paths, sizes, types, what was removed),
    /// when it expires and how many downloads are left, without
    /// downloading anything: nothing is consumed.
    #[arg(long)]
    list: bool,
    /// Read the password from the first line of this file instead of asking.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(short, long)]
    force: bool,
}

/// `photo.jpg` → `photo (1).jpg`, `photo (2).jpg` …: names to try when
/// the first is taken.
fn free_names(dir: &Path, name: &str) -> impl Iterator<Item = PathBuf> {
    let p = Path::new(name);
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let dir = dir.to_path_buf();
    (1..10_000).map(move |i| dir.join(format!("{stem} ({i}){ext}")))
}

/// Text from the sender made safe for a terminal: control and
/// bidirectional-override characters (which could move the cursor, retitle
/// the window or reorder what is shown) become `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_control() => '?',
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '?',
            c => c,
        })
        .collect()
}

/// A proof-carrying request to the server: asks once more with the work
/// done when a `429` asks for it; any answer other than success is the
/// failure it means (`DownloadAnswer`).
struct Asker {
    id: String,
    proof: String,
    password: bool,
}

impl Asker {
    fn ask(&self, url: &str, range: Option<&str>) -> Result<ureq::Response, Failure> {
        let call = |work: Option<u64>| -> Result<ureq::Response, Failure> {
            let mut req = ureq::get(url).set(header::PROOF, &self.proof);
            if let Some(n) = work {
                req = req.set(header::WORK, &n.to_string());
            }
            if let Some(r) = range {
                req = req.set("range", r);
            }
            match req.call() {
                Ok(r) => Ok(r),
                Err(ureq::Error::Status(_, r)) => Ok(r),
                Err(e) => Err(transport(e)),
            }
        };
        let classify = |r: &ureq::Response| {
            DownloadAnswer::classify(r.status(), self.password, r.header(header::WORK_BITS))
        };
        let mut resp = call(None)?;
        if let DownloadAnswer::WorkRequired(bits) = classify(&resp) {
            eprintln!(
                "someone tried wrong passwords on this link; doing the server's proof of work"
            );
            resp = call(Some(veil_core::work::solve(&self.id, &self.proof, bits)))?;
        }
        match classify(&resp) {
            DownloadAnswer::Granted => Ok(resp),
            DownloadAnswer::Gone => Err(Failure::Gone),
            DownloadAnswer::Removed => Err(Failure::Removed),
            DownloadAnswer::WrongPassword => Err(Failure::WrongPassword),
            DownloadAnswer::WrongLink => Err(Failure::BadLink),
            DownloadAnswer::WorkRequired(_) | DownloadAnswer::Busy => Err(Failure::Other(anyhow!(
                "the server is busy; nothing was downloaded, try again in a moment"
            ))),
            _ => Err(Failure::Other(anyhow!(
                "the server answered {}",
                resp.status()
            ))),
        }
    }
}

/// Runs `veil get`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let parsed = ShareLink::parse(&args.link).map_err(|_| Failure::BadLink)?;
    let link = Link::parse_fragment(&parsed.fragment).map_err(|_| Failure::BadLink)?;
    let id = parsed.id.to_string();
    let url = format!("{}{BLOBS}/{id}", parsed.origin);
    let password = if link.needs_password() {
        Some(crate::password::read(
            args.password_file.as_deref(),
            "Password: ",
        )?)
    } else {
        None
    };
    let key = link.unlock(password.as_deref().map(String::as_str))?;
    let asker = Asker {
        id,
        proof: key.download_proof().to_base64().to_string(),
        password: password.is_some(),
    };

    // Look first: the head alone, which consumes nothing.
    let looked = asker.ask(&format!("{url}{LOOK_SUFFIX}"), None)?;
    let expires_at: Option<u64> = looked
        .header(header::EXPIRES_AT)
        .and_then(|v| v.parse().ok());
    let left: Option<u64> = looked
        .header(header::DOWNLOADS_LEFT)
        .and_then(|v| v.parse().ok());
    let mut head = Vec::new();
    looked
        .into_reader()
        .take(MAX_HEAD_LEN as u64 + 1)
        .read_to_end(&mut head)
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    let mut dec = Decryptor::new(key);
    dec.push(&head).map_err(|_| Failure::Damaged)?;
    let manifest = match dec.manifest() {
        Some(m) if dec.at_records() => m.clone(),
        _ => return Err(Failure::Damaged),
    };
    if args.list {
        list(&manifest, expires_at, left);
        return Ok(());
    }
    let (first, last) = match &args.file {
        Some(name) => {
            let i = find(&manifest, name)?;
            (i, i)
        }
        None => (0, manifest.files().len().saturating_sub(1)),
    };
    let one = first == last && (args.file.is_some() || manifest.files().len() == 1);
    if !one && args.output.as_deref().is_some_and(|o| o.as_os_str() == "-") {
        return Err(Failure::Other(anyhow!(
            "this share holds {} files: choose one with --file to write it to standard output",
            manifest.files().len()
        )));
    }
    if let Some(out) = args
        .output
        .as_deref()
        .filter(|o| one && o.as_os_str() != "-")
    {
        if out.exists() && !args.force {
            return Err(Failure::Other(anyhow!(
                "{} already exists (use --force to overwrite)",
                out.display()
            )));
        }
    }
    let range = manifest
        .content_range(first, last)
        .ok_or(Failure::Damaged)?;
    let sel = dec.select(range).map_err(|_| Failure::Damaged)?;
    // Everything that can refuse to write is checked before the download
    // counts: a burn link is not spent on an output that cannot be made.
    let mut saver = Saver::new(args, one, &manifest, first..=last)?;
    let spec = format!(
        "bytes={}-{}",
        sel.bytes.start,
        sel.bytes.end.saturating_sub(1)
    );
    let resp = asker.ask(&url, Some(&spec))?;
    // A server that ignored the range sent everything: skip to ours.
    let skip = if resp.status() == 206 {
        0
    } else {
        sel.bytes.start
    };
    let total = sel.bytes.end - sel.bytes.start;
    let mut reader = resp.into_reader();
    std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    let mut reader = reader.take(total);
    let mut splitter =
        Splitter::new(&manifest, first, last, sel.content_start).ok_or(Failure::Damaged)?;
    let bar = progress::bar(total, "receiving");
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
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
            .map_err(|_| saver.damaged())?;
        saver.take(&manifest, &mut splitter, &plain)?;
    }
    dec.finish().map_err(|_| saver.damaged())?;
    saver.take(&manifest, &mut splitter, &[])?;
    bar.finish_and_clear();
    if !splitter.done() {
        return Err(saver.damaged());
    }
    Ok(())
}

/// `--list`: the share's contents and terms, consuming nothing.
fn list(manifest: &Manifest, expires_at: Option<u64>, left: Option<u64>) {
    for (i, f) in manifest.files().iter().enumerate() {
        let path = printable(&manifest.save_path(i).unwrap_or_default());
        let mime = if f.mime.is_empty() {
            "?".to_owned()
        } else {
            printable(&f.mime)
        };
        println!("{:>12}  {path}  ({mime})", f.size);
        for line in &f.report {
            println!("              {}", printable(line));
        }
    }
    let total: u64 = manifest.files().iter().map(|f| f.size).sum();
    println!("{} file(s), {total} bytes", manifest.files().len());
    if let Some(t) = expires_at {
        println!("expires at {t} (Unix time)");
    }
    match left {
        Some(1) => println!("burns after the next download (of everything, or of one file)"),
        Some(n) => println!("{n} downloads left"),
        None => println!("no download limit"),
    }
}

/// The index of the file `--file` names: its exact path, else the one file
/// with that name.
fn find(manifest: &Manifest, name: &str) -> Result<usize, Failure> {
    let paths: Vec<String> = (0..manifest.files().len())
        .filter_map(|i| manifest.save_path(i))
        .collect();
    if let Some(i) = paths.iter().position(|p| p == name) {
        return Ok(i);
    }
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
    let same: Vec<usize> = paths
        .iter()
        .enumerate()
        .filter(|(_, p)| base(p) == name)
        .map(|(i, _)| i)
        .collect();
    match same.as_slice() {
        [i] => Ok(*i),
        [] => Err(Failure::Other(anyhow!(
            "no file named {name} in this share (veil get --list shows its contents)"
        ))),
        _ => Err(Failure::Other(anyhow!(
            "several files are named {name}: give the path (veil get --list shows them)"
        ))),
    }
}

/// Writes the chosen files as their bytes arrive: one file as before
/// (a path, or standard output), several under a folder with their paths.
struct Saver<'a> {
    args: &'a Args,
    one: bool,
    root: PathBuf,
    open: Option<Sink>,
    saved: usize,
    /// Bytes already written to standard output, which cannot be taken back.
    sent: u64,
}

impl<'a> Saver<'a> {
    /// Checks, before anything is downloaded, that the chosen files can be
    /// written: the output folder can be created and written in, and no
    /// folder a path needs is a file or a link.
    fn new(
        args: &'a Args,
        one: bool,
        manifest: &Manifest,
        chosen: std::ops::RangeInclusive<usize>,
    ) -> Result<Self, Failure> {
        let to_stdout = args.output.as_deref().is_some_and(|o| o.as_os_str() == "-");
        let root = match (&args.output, one) {
            (Some(dir), false) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                dir.clone()
            }
            _ => PathBuf::from("."),
        };
        if !to_stdout {
            // The folder the (first) file will be written in must take one.
            let probe_dir = match (&args.output, one) {
                (Some(out), true) => out
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                _ => root.clone(),
            };
            tempfile::NamedTempFile::new_in(&probe_dir)
                .with_context(|| format!("cannot write in {}", probe_dir.display()))?;
        }
        if !one {
            for i in chosen {
                let path = manifest.save_path(i).unwrap_or_default();
                let mut dir = root.clone();
                let mut segments: Vec<&str> = path.split('/').collect();
                segments.pop();
                for seg in segments {
                    dir.push(seg);
                    match std::fs::symlink_metadata(&dir) {
                        Ok(m) if m.is_dir() => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                        _ => {
                            return Err(Failure::Other(anyhow!(
                                "{} exists and is not a folder: nothing was downloaded",
                                printable(&dir.display().to_string())
                            )))
                        }
                    }
                }
            }
        }
        Ok(Self {
            args,
            one,
            root,
            open: None,
            saved: 0,
            sent: 0,
        })
    }

    /// The failure to report for damage found now.
    fn damaged(&self) -> Failure {
        if self.sent > 0 {
            Failure::DamagedAfterStdout(self.sent)
        } else if self.saved > 0 {
            Failure::DamagedAfterFiles(self.saved)
        } else {
            Failure::Damaged
        }
    }

    fn take(
        &mut self,
        manifest: &Manifest,
        splitter: &mut Splitter,
        plain: &[u8],
    ) -> Result<(), Failure> {
        for piece in splitter.split(plain.len()) {
            if piece.starts {
                let path = manifest.save_path(piece.file).unwrap_or_default();
                self.open = Some(if self.one {
                    Sink::open(self.args, &path)?
                } else {
                    Sink::under(&self.root, &path)?
                });
            }
            let bytes = plain.get(piece.range.clone()).unwrap_or_default();
            if let Some(s) = self.open.as_mut() {
                s.write(bytes)?;
                if matches!(s, Sink::Stdout(_)) {
                    self.sent += bytes.len() as u64;
                }
            }
            if piece.ends {
                if let Some(s) = self.open.take() {
                    if let Some(path) = s.commit(self.args.force)? {
                        let size = manifest.files().get(piece.file).map_or(0, |f| f.size);
                        eprintln!(
                            "saved {} ({size} bytes)",
                            printable(&path.display().to_string())
                        );
                    }
                    self.saved += 1;
                }
            }
        }
        Ok(())
    }
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

    /// A file at `path` (safe form: FORMAT.md "Shares") under `root`:
    /// creates the folders it names, never through a link, never over a
    /// file.
    fn under(root: &Path, path: &str) -> Result<Self, Failure> {
        let mut dir = root.to_path_buf();
        let mut segments: Vec<&str> = path.split('/').collect();
        let name = segments.pop().unwrap_or("veil-download");
        for seg in segments {
            dir.push(seg);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Failure::Other(anyhow!(
                        "{} exists and is not a folder: nothing was written there",
                        dir.display()
                    )))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?,
                Err(e) => return Err(Failure::Other(e.into())),
            }
        }
        let tmp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok(Self::File {
            tmp,
            dest: dir.join(name),
        })
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
                if force {
                    tmp.persist(&dest)
                        .with_context(|| format!("cannot create {}", dest.display()))?;
                    return Ok(Some(dest));
                }
                // Never over anything already there (a file, a link, even
                // a dangling one): the name, then `name (1)`, `name (2)` …,
                // each taken atomically or not at all.
                let dir = dest
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf();
                let name = dest
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut tmp = tmp;
                for candidate in std::iter::once(dest.clone()).chain(free_names(&dir, &name)) {
                    match tmp.persist_noclobber(&candidate) {
                        Ok(_) => return Ok(Some(candidate)),
                        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                            tmp = e.file
                        }
                        Err(e) => {
                            return Err(Failure::Other(anyhow!(
                                "cannot create {}: {}",
                                candidate.display(),
                                e.error
                            )))
                        }
                    }
                }
                Err(Failure::Other(anyhow!(
                    "{} and every free variant of its name exist: nothing was overwritten",
                    dest.display()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sender_text_cannot_drive_the_terminal() {
        assert_eq!(
            super::printable("removed: GPS\u{1b}[2J\u{1b}]0;title\u{7} \u{202e}gpj.exe"),
            "removed: GPS?[2J?]0;title? ?gpj.exe"
        );
        assert_eq!(super::printable("photo é.jpg"), "photo é.jpg");
    }
}
