//! `veil delete LINK [--token TOKEN]`: removes a shared file early, with the
//! deletion link (`/x/ID#TOKEN`) or a share link plus its token.

use anyhow::anyhow;
use veil_core::protocol::{DeletionLink, ShareLink, BLOBS};

use crate::exit::{transport, Failure};

/// Arguments of `veil delete`.
#[derive(clap::Args)]
pub struct Args {
    /// The deletion link (https://host/x/ID#TOKEN), or the share link with --token.
    link: String,
    /// The deletion token, when LINK is the share link.
    #[arg(long)]
    token: Option<String>,
}

/// Runs `veil delete`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let (server, id, token) = match (&args.token, DeletionLink::parse(&args.link)) {
        (None, Ok(l)) => (l.origin, l.id, l.token),
        (Some(t), _) => {
            let l = ShareLink::parse(&args.link).map_err(|_| Failure::BadLink)?;
            (l.origin, l.id, t.clone())
        }
        (None, Err(_)) => {
            return Err(Failure::Other(anyhow!(
                "give the deletion link, or the share link with --token"
            )))
        }
    };
    match ureq::delete(&format!("{server}{BLOBS}/{id}"))
        .set("authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(_) => {
            eprintln!("deleted");
            Ok(())
        }
        // Unknown, already gone and wrong token are the same answer.
        Err(ureq::Error::Status(404, _)) => Err(Failure::Gone),
        Err(e) => Err(transport(e)),
    }
}
