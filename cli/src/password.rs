//! Reading a password: from `--password-file` (first line), else a prompt
//! on the terminal without echo; trailing newline removed. It is passed on
//! as typed: the core normalises it (NFC, `veil_core::password`), the same
//! for every client.

use anyhow::{bail, Context, Result};
use std::path::Path;
use zeroize::Zeroizing;

/// The password from a file or the terminal.
pub fn read(file: Option<&Path>, prompt: &str) -> Result<Zeroizing<String>> {
    let pw = match file {
        Some(f) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read {}", f.display()))?,
            );
            Zeroizing::new(text.lines().next().unwrap_or_default().to_owned())
        }
        None => Zeroizing::new(
            rpassword::prompt_password(prompt)
                .context("cannot read a password from the terminal (use --password-file)")?,
        ),
    };
    if pw.is_empty() {
        bail!("the password is empty");
    }
    Ok(pw)
}
