//! `blob-server admin …`: the operator's tools. They work against a running
//! server through the admin API (`--server URL --token-file F`), or
//! directly on a stopped server's data directory (`--data-dir D`; the
//! directory's lock refuses a running one). Opening a reported item
//! happens here, on the operator's machine: the sealed key is opened with
//! the private key file, the ciphertext fetched without counting a
//! download, and the plaintext written under a fresh directory with
//! neutral names (`1.bin`, `2.bin`, … and `manifest.txt`), so no hostile
//! name touches the file system.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use veil_core::protocol::{BlobId, ShareLink, ADMIN};
use veil_core::report::OperatorKey;
use veil_core::{Decryptor, Link};
use zeroize::Zeroizing;

use crate::ids::{slot, DeleteToken, Digest32};
use crate::moderation::{Removal, Report, ReportId, ReportState};
use crate::store::Store;

/// The operator's subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Operator tools: reports, reviews, removals, counters.
    Admin(AdminArgs),
}

/// Where the tools act, and what they do.
#[derive(clap::Args)]
pub struct AdminArgs {
    /// A running server's URL (with --token-file).
    #[arg(long, requires = "token_file", conflicts_with = "offline_dir")]
    pub server: Option<String>,
    /// The admin token's file (as given to the server's --admin-token-file).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// A stopped server's data directory (local engine).
    #[arg(long = "data-dir", id = "offline_dir")]
    pub offline_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// One operator action.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Makes the report key pair and an admin token in DIR (files 0600);
    /// prints the public key for --report-public-key.
    Keygen {
        /// Where to write `report.key` and `admin.token`.
        dir: PathBuf,
    },
    /// Lists reports (open first) and the removal list.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Opens a reported item: unseals its key, downloads it without
    /// counting, decrypts it into OUT (a new directory).
    Open {
        /// The report's id (base64url: it may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        report: String,
        /// The report private key file (`report.key` from keygen).
        #[arg(long)]
        key_file: PathBuf,
        /// A directory to create for the plaintext.
        #[arg(long)]
        out: PathBuf,
    },
    /// Removes a blob (by report, by link or by id) with a reason; it is
    /// never served again and its page says it was removed.
    Remove {
        /// A report's id: removes the blob it names.
        #[arg(long, conflicts_with_all = ["link", "id"], allow_hyphen_values = true)]
        report: Option<String>,
        /// A share link.
        #[arg(long, conflicts_with = "id")]
        link: Option<String>,
        /// A blob id.
        #[arg(long, allow_hyphen_values = true)]
        id: Option<String>,
        /// Why (kept with the removal and the reports).
        #[arg(long)]
        reason: String,
    },
    /// Dismisses a report (the blob stays).
    Dismiss {
        /// The report's id (base64url: it may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        report: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Prints every decision (decided reports and removals) as JSON.
    Export,
    /// Sets the public count of legal requests received.
    LegalRequests {
        /// The count.
        count: u64,
    },
}

/// Reads an admin token file: its hash, for the server's settings.
pub fn read_token(path: &Path) -> Result<Digest32, String> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --admin-token-file {}: {e}", path.display()))?,
    );
    DeleteToken::parse(text.trim())
        .map(|t| t.hash())
        .ok_or_else(|| {
            "the admin token file must hold a token from `blob-server admin keygen`".into()
        })
}

/// Where the actions go.
enum Target {
    Online {
        base: String,
        token: Zeroizing<String>,
    },
    Offline(Store),
}

/// Runs one admin command.
pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    if let Action::Keygen { dir } = &args.action {
        return keygen(dir);
    }
    let target = match (&args.server, &args.offline_dir) {
        (Some(url), _) => {
            let path = args
                .token_file
                .as_deref()
                .context("--server needs --token-file")?;
            let token = Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .trim()
                    .to_owned(),
            );
            Target::Online {
                base: url.trim_end_matches('/').to_owned(),
                token,
            }
        }
        (None, Some(dir)) => {
            // A mistyped path must not become a new, empty store.
            if !dir.join("db-current").exists() && !dir.join("db").exists() {
                bail!("{} is not a blob-server data directory", dir.display());
            }
            Target::Offline(Store::open(dir).with_context(|| {
                format!(
                    "cannot open {} (is the server still running?)",
                    dir.display()
                )
            })?)
        }
        (None, None) => bail!("say where: --server URL --token-file F, or --data-dir DIR"),
    };
    match args.action {
        Action::Keygen { .. } => unreachable!("handled above"),
        Action::List { json } => list(&target, json),
        Action::Open {
            report,
            key_file,
            out,
        } => open(&target, &report, &key_file, &out),
        Action::Remove {
            report,
            link,
            id,
            reason,
        } => remove(&target, report, link, id, &reason),
        Action::Dismiss { report, reason } => dismiss(&target, &report, &reason),
        Action::Export => export(&target),
        Action::LegalRequests { count } => match &target {
            Target::Online { .. } => {
                call(
                    &target,
                    "PUT",
                    "/legal-requests",
                    &serde_json::json!({ "count": count }),
                )?;
                Ok(())
            }
            Target::Offline(store) => Ok(store.set_legal_requests(count)?),
        },
    }
}

fn now() -> u64 {
    crate::clock::Clock::default().now()
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

fn keygen(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let key = OperatorKey::generate()?;
    write_secret(&dir.join("report.key"), &key.encode())?;
    let token = DeleteToken::generate()?;
    write_secret(&dir.join("admin.token"), &token.encode())?;
    println!("report public key (--report-public-key): {}", key.public());
    println!(
        "wrote {} (keep it off the server) and {} (--admin-token-file)",
        dir.join("report.key").display(),
        dir.join("admin.token").display()
    );
    Ok(())
}

/// One admin API call; the answer's JSON, or `null` for `204`.
fn call(
    target: &Target,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let Target::Online { base, token } = target else {
        unreachable!("online calls only")
    };
    let req = ureq::request(method, &format!("{base}{ADMIN}{path}"))
        .set("authorization", &format!("Bearer {}", token.as_str()));
    let resp = if body.is_null() {
        req.call()
    } else {
        req.send_json(body.clone())
    };
    match resp {
        Ok(r) if r.status() == 204 => Ok(serde_json::Value::Null),
                Ok(r) => r.into_json().map_err(|_| {
            anyhow!("the answer is not the admin API's: is --server the server's address (https://host, no path)?")
        }),
        Err(ureq::Error::Status(401, _)) => bail!("the server refused the admin token"),
        Err(ureq::Error::Status(404, _)) if path == "/reports" && method == "GET" => {
            bail!("this server has no admin API (start it with --admin-token-file)")
        }
        Err(ureq::Error::Status(404, _)) => bail!("not found: no such report, or no blob or upload with that id (nothing was changed)"),
        Err(ureq::Error::Status(409, _)) => bail!("that report was decided already"),
        Err(ureq::Error::Status(code, r)) => {
            bail!(
                "the server answered {code}: {}",
                r.into_string().unwrap_or_default()
            )
        }
        Err(e) => Err(anyhow!("cannot reach the server: {e}")),
    }
}

fn fetch_all(target: &Target) -> anyhow::Result<(Vec<Report>, Vec<Removal>)> {
    match target {
        Target::Online { .. } => {
            let v = call(target, "GET", "/reports", &serde_json::Value::Null)?;
            Ok((
                serde_json::from_value(v.get("reports").cloned().unwrap_or_default())?,
                serde_json::from_value(v.get("removals").cloned().unwrap_or_default())?,
            ))
        }
        Target::Offline(store) => Ok((store.reports()?, store.removals()?)),
    }
}

/// Sender- and reporter-supplied text, safe for a terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c.is_control() && c != '\n') || veil_core::report::is_bidi_control(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

fn list(target: &Target, json: bool) -> anyhow::Result<()> {
    let (mut reports, removals) = fetch_all(target)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "reports": reports, "removals": removals })
            )?
        );
        return Ok(());
    }
    // Open first, then by blob (its slot's first characters), then by day.
    reports.sort_by(|a, b| {
        (a.state != ReportState::Open, &a.slot, a.received).cmp(&(
            b.state != ReportState::Open,
            &b.slot,
            b.received,
        ))
    });
    for r in &reports {
        println!(
            "{}  {:<9}  blob {}  {:<11}  {}  key: {}",
            r.id,
            format!("{:?}", r.state).to_lowercase(),
            r.slot.get(..12).unwrap_or_default(),
            r.category,
            day(r.received),
            if r.key.is_some() { "sealed" } else { "none" },
        );
        if !r.text.is_empty() {
            println!("    {}", printable(&r.text).replace('\n', "\n    "));
        }
        if let Some(d) = &r.decision {
            println!("    decided: {}", printable(d).replace('\n', " "));
        }
    }
    for m in &removals {
        println!(
            "removed blob {}  {}  {}",
            m.slot.get(..12).unwrap_or_default(),
            day(m.removed),
            printable(&m.reason).replace('\n', " ")
        );
    }
    println!("{} reports; {} removals", reports.len(), removals.len());
    Ok(())
}

fn day(t: u64) -> String {
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(t))
        .map_or_else(
            || "(a date out of range)".to_owned(),
            httpdate::fmt_http_date,
        )
}

fn find(target: &Target, report: &str) -> anyhow::Result<Report> {
    let id = ReportId::parse(report).context("not a report id")?;
    let (reports, _) = fetch_all(target)?;
    reports
        .into_iter()
        .find(|r| r.id == id.to_string())
        .context("no such report")
}

fn open(target: &Target, report: &str, key_file: &Path, out: &Path) -> anyhow::Result<()> {
    let r = find(target, report)?;
    let sealed = r
        .key
        .as_deref()
        .and_then(veil_core::report::decode_sealed)
        .context("the reporter did not include the key: this item cannot be opened")?;
    let text = Zeroizing::new(
        std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read {}", key_file.display()))?,
    );
    let key = OperatorKey::parse(&text).context("the key file does not hold a report key")?;
    let opened = key
        .open(&sealed)
        .map_err(|_| anyhow!("the sealed key does not open with this key file"))?;
    let id = BlobId::parse(&opened.blob_id).context("the sealed key names no blob")?;
    if Some(slot(&id)) != r.slot() {
        bail!("the sealed key names another blob than the report: refusing it");
    }
    let link = Link::parse_fragment(&opened.fragment)
        .map_err(|_| anyhow!("the sealed key holds a malformed link"))?;
    let file_key = link
        .unlock(opened.password.as_deref().map(String::as_str))
        .map_err(|e| {
            anyhow!("cannot unlock the link: {e} (the reporter may not have included the password)")
        })?;
    let reader: Box<dyn Read> = match target {
        Target::Online { .. } => {
            let Target::Online { base, token } = target else {
                unreachable!()
            };
            let resp = ureq::get(&format!("{base}{ADMIN}/blobs/{id}"))
                .set("authorization", &format!("Bearer {}", token.as_str()))
                .call()
                .map_err(|e| anyhow!("cannot download the blob: {e}"))?;
            Box::new(resp.into_reader())
        }
        Target::Offline(store) => {
            let (_, file, _reading) = store
                .review(&slot(&id), now())?
                .context("the blob is gone (expired, used up or removed)")?;
            Box::new(file)
        }
    };
    create_private_dir(out)?;
    let done = decrypt_into(reader, file_key, out);
    if done.is_err() {
        // Nothing half-decrypted is left, and the same path can be retried.
        let _ = std::fs::remove_dir_all(out);
    }
    done
}

/// Decrypts a whole container into `out` as `1.bin`, `2.bin`, … with a
/// `manifest.txt` of the names and types the sender gave (made printable).
fn decrypt_into(
    mut reader: Box<dyn Read>,
    key: veil_core::FileKey,
    out: &Path,
) -> anyhow::Result<()> {
    let damaged = || anyhow!("the blob does not decrypt: damaged, or the key is wrong");
    let mut dec = Decryptor::new(key);
    let mut buf = vec![0u8; 256 * 1024];
    let mut splitter = None;
    let mut current: Option<std::fs::File> = None;
    loop {
        let n = reader.read(&mut buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        let plain = if n == 0 {
            Vec::new()
        } else {
            dec.push(chunk).map_err(|_| damaged())?
        };
        if splitter.is_none() {
            if let Some(m) = dec.manifest() {
                let last = m.files().len().saturating_sub(1);
                splitter =
                    Some(veil_core::share::Splitter::new(m, 0, last, 0).ok_or_else(damaged)?);
            }
        }
        if let Some(sp) = splitter.as_mut() {
            for piece in sp.split(plain.len()) {
                if piece.starts {
                    let name = out.join(format!("{}.bin", piece.file + 1));
                    current = Some(create_private_file(&name)?);
                }
                if let Some(f) = current.as_mut() {
                    f.write_all(plain.get(piece.range.clone()).unwrap_or_default())?;
                }
                if piece.ends {
                    if let Some(f) = current.take() {
                        f.sync_all()?;
                    }
                }
            }
        } else if !plain.is_empty() {
            return Err(damaged());
        }
        if n == 0 {
            break;
        }
    }
    let manifest = dec.finish().map_err(|_| damaged())?;
    let mut list = String::new();
    for (i, f) in manifest.files().iter().enumerate() {
        list.push_str(&format!(
            "{}.bin\t{} bytes\t{}\t{}\n",
            i + 1,
            f.size,
            printable(&f.mime).replace('\n', " "),
            printable(&f.name).replace('\n', " ")
        ));
    }
    create_private_file(&out.join("manifest.txt"))?.write_all(list.as_bytes())?;
    println!(
        "decrypted {} file(s) into {} (names and types in manifest.txt)",
        manifest.files().len(),
        out.display()
    );
    Ok(())
}

/// A new directory only its owner can enter (reported material inside).
fn create_private_dir(out: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if out.exists() {
        bail!("{} exists already: name a new directory", out.display());
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(out)
        .with_context(|| format!("cannot create {}", out.display()))
}

/// A new file only its owner can read.
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn remove(
    target: &Target,
    report: Option<String>,
    link: Option<String>,
    id: Option<String>,
    reason: &str,
) -> anyhow::Result<()> {
    let report = report
        .map(|r| {
            ReportId::parse(&r)
                .map(|r| r.to_string())
                .context("not a report id")
        })
        .transpose()?;
    let blob = match (&report, link, id) {
        (Some(_), _, _) => None,
        (None, Some(l), _) => Some(
            ShareLink::parse(&l)
                .map_err(|_| anyhow!("not a share link"))?
                .id,
        ),
        (None, None, Some(i)) => Some(BlobId::parse(&i).context("not a blob id")?),
        (None, None, None) => bail!("say which: --report, --link or --id"),
    };
    match target {
        Target::Online { .. } => {
            let body = serde_json::json!({ "reason": reason });
            match (&report, blob) {
                (Some(r), _) => call(target, "POST", &format!("/reports/{r}/remove"), &body)?,
                (None, Some(b)) => call(target, "POST", &format!("/blobs/{b}/remove"), &body)?,
                (None, None) => unreachable!("checked above"),
            };
        }
        Target::Offline(store) => {
            let s = match (&report, blob) {
                (Some(r), _) => find(target, r)?
                    .slot()
                    .context("a report's slot is corrupt")?,
                (None, Some(b)) => slot(&b),
                (None, None) => unreachable!("checked above"),
            };
            if !store.remove_by_operator(&s, reason, now())? {
                bail!("no blob or upload has that id: nothing was removed");
            }
        }
    }
    println!("removed");
    Ok(())
}

fn dismiss(target: &Target, report: &str, reason: &str) -> anyhow::Result<()> {
    let report = &ReportId::parse(report)
        .context("not a report id")?
        .to_string();
    match target {
        Target::Online { .. } => {
            call(
                target,
                "POST",
                &format!("/reports/{report}/dismiss"),
                &serde_json::json!({ "reason": reason }),
            )?;
        }
        Target::Offline(store) => {
            let id = ReportId::parse(report).context("not a report id")?;
            match store.dismiss(&id.0, reason, now())? {
                crate::moderation::Decided::Done => {}
                crate::moderation::Decided::Unknown => bail!("no such report"),
                crate::moderation::Decided::AlreadyDecided => {
                    bail!("that report was decided already")
                }
            }
        }
    }
    println!("dismissed");
    Ok(())
}

fn export(target: &Target) -> anyhow::Result<()> {
    let (reports, removals) = fetch_all(target)?;
    let decided: Vec<serde_json::Value> = reports
        .iter()
        .filter(|r| r.state != ReportState::Open)
        .map(|r| {
            serde_json::json!({
                "report": r.id, "slot": r.slot, "category": r.category, "received": r.received,
                "state": r.state, "decision": r.decision, "decided": r.decided,
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(
            &serde_json::json!({ "decisions": decided, "removals": removals })
        )?
    );
    Ok(())
}
