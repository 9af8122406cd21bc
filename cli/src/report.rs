//! `veil report LINK --reason CATEGORY [--text …] [--no-key]`: reports a
//! link to its server's operator. By default the link's key (and, for a
//! password link, the password) is sealed here to the operator's public
//! key from the server's `/api/v1/config`, so only the operator, offline,
//! can open it (docs/FORMAT.md, "Sealed report keys"); the server cannot.

use std::path::PathBuf;

use anyhow::anyhow;
use veil_core::protocol::{ShareLink, CONFIG, REPORTS};
use veil_core::report::{seal_base64, text_is_valid, Category};
use veil_core::Link;

use crate::exit::{transport, Failure};

/// Arguments of `veil report`.
#[derive(clap::Args)]
pub struct Args {
    /// The share link (https://host/d/ID#KEY).
    link: String,
    /// Why: malware, phishing, child-abuse, privacy, violence, copyright or other.
    #[arg(long)]
    reason: String,
    /// What the operator should know (at most 1000 bytes).
    #[arg(long, default_value = "")]
    text: String,
    /// Do not include the key: the operator then cannot look at the file.
    #[arg(long)]
    no_key: bool,
    /// For a password link: read the password to include from this file
    /// (else it is asked for; leave it empty to include none).
    #[arg(long)]
    password_file: Option<PathBuf>,
}

/// Runs `veil report`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let category = Category::parse(&args.reason).ok_or_else(|| {
        let all: Vec<_> = Category::ALL.iter().map(|c| c.as_str()).collect();
        Failure::Other(anyhow!("--reason must be one of: {}", all.join(", ")))
    })?;
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
    match ureq::post(&format!("{server}{REPORTS}")).send_json(body) {
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
