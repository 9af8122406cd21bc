//! `veil report LINK --reason CATEGORY [--text …] [--no-key]`: reports a
//! link to its server's operator. By default the link's key (and, for a
//! password link, the password) is sealed here to the operator's public
//! key from the server's `/api/v1/config`, so only the operator, offline,
//! can open it (docs/FORMAT.md, "Sealed report keys"); the server cannot.

use std::path::PathBuf;

use anyhow::anyhow;
use veil_core::protocol::{header, DownloadAnswer, ShareLink, BLOBS, CONFIG, LOOK_SUFFIX, REPORTS};
use veil_core::report::{seal_base64, text_is_valid, Category};
use veil_core::Link;

use crate::exit::{transport, Failure};

/// Arguments of `veil report`.
#[derive(clap::Args)]
pub struct Args {
    /// The share link (https://host/d/ID#KEY).
    link: String,
    /// Why.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
        ["malware", "phishing", "child-abuse", "privacy", "violence", "copyright", "other"]
    ))]
    reason: String,
    /// What the operator should know (at most 1000 bytes).
    #[arg(long, default_value = "")]
    text: String,
    /// Do not include the key: the operator then cannot look at the file.
    #[arg(long)]
    no_key: bool,
    /// For a password link: the password to include, from this file (else
    /// it is asked for). It is checked with the server first (which
    /// consumes nothing), so the operator gets one that opens the link.
    #[arg(long)]
    password_file: Option<PathBuf>,
}

/// Runs `veil report`.
pub fn run(args: &Args) -> Result<(), Failure> {
    // clap checked the name against the same list.
    let category = Category::parse(&args.reason)
        .ok_or_else(|| Failure::Other(anyhow!("--reason: unknown category")))?;
    if !text_is_valid(&args.text) {
        return Err(Failure::Other(anyhow!(
            "--text: at most 1000 bytes, no control characters"
        )));
    }
    let parsed = ShareLink::parse(&args.link).map_err(|_| Failure::BadLink)?;
    let server = &parsed.origin;
    let id = parsed.id.to_string();
    let key = if args.no_key {
        None
    } else {
        let config: serde_json::Value = ureq::get(&format!("{server}{CONFIG}"))
            .call()
            .map_err(transport)?
            .into_json()
            .map_err(|e| Failure::Unreachable(e.to_string()))?;
        match config.get("report_key").and_then(|k| k.as_str()) {
            None => {
                eprintln!("this server takes no keys with reports: sending the report without it");
                None
            }
            Some(public) => {
                let link = Link::parse_fragment(&parsed.fragment).map_err(|_| Failure::BadLink)?;
                let password = if link.needs_password() {
                    let pw = crate::password::read(
                        args.password_file.as_deref(),
                        "Password to include (the operator needs it to open the file): ",
                    )?;
                    check_password(server, &id, &link, &pw)?;
                    Some(pw)
                } else {
                    None
                };
                Some(
                    seal_base64(
                        public,
                        &id,
                        &parsed.fragment,
                        password.as_deref().map(String::as_str),
                    )
                    .map_err(|e| Failure::Other(anyhow!("cannot seal the key: {e}")))?,
                )
            }
        }
    };
    let body = serde_json::json!({
        "id": id,
        "category": category.as_str(),
        "text": args.text,
        "key": key,
    });
    // ureq's own error type: taken apart just below.
    #[allow(clippy::result_large_err)]
    let post = |work: Option<String>| {
        let mut req = ureq::post(&format!("{server}{REPORTS}"));
        if let Some(w) = &work {
            req = req.set(header::WORK, w);
        }
        req.send_json(body.clone())
    };
    // With upload work on, a report costs the same (docs/API.md, "Reports").
    let sent = crate::work::with_work(post);
    match sent {
        Ok(_) => {
            eprintln!(
                "reported{}; nothing about you was kept",
                if key.is_some() {
                    ", with the key sealed to the operator"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Err(ureq::Error::Status(404, _)) => Err(Failure::Gone),
        Err(ureq::Error::Status(410, _)) => Err(Failure::Removed),
        Err(ureq::Error::Status(code, r)) => Err(Failure::Other(anyhow!(
            "the server refused the report ({code}): {}",
            r.into_string().unwrap_or_default()
        ))),
        Err(e) => Err(transport(e)),
    }
}

/// Checks `password` with a look at the share's head (which consumes
/// nothing): a wrong one is refused here, not sealed for an operator who
/// could not use it.
fn check_password(server: &str, id: &str, link: &Link, password: &str) -> Result<(), Failure> {
    let key = link.unlock(Some(password))?;
    let proof = key.download_proof().to_base64();
    let status = match ureq::get(&format!("{server}{BLOBS}/{id}{LOOK_SUFFIX}"))
        .set(header::PROOF, &proof)
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => return Err(transport(e)),
    };
    match DownloadAnswer::classify(status, true, None) {
        DownloadAnswer::WrongPassword => Err(Failure::WrongPassword),
        DownloadAnswer::Gone => Err(Failure::Gone),
        DownloadAnswer::Removed => Err(Failure::Removed),
        // Granted, or work asked after others' wrong guesses: the report
        // goes on (the server checks nothing of the sealed key anyway).
        _ => Ok(()),
    }
}
