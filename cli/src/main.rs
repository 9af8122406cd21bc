//! `veil`: Veil from a terminal. `veil strip` removes metadata like the
//! page does; `veil send`, `veil get` and `veil delete` share files with a
//! Veil server using the same container format as the browser, so links
//! work both ways.
//!
//! # Layout
//! - `main.rs`: argument parsing and dispatch (this file);
//! - `strip.rs`, `send.rs`, `get.rs`, `delete.rs`, `report.rs`: one subcommand each;
//! - `password.rs`: reading passwords (links and the protocol are the
//!   core's, `veil_core::protocol`);
//! - `work.rs`: the server's upload work, solved when asked;
//! - `progress.rs`: progress bars; `exit.rs`: failure kinds and exit codes.

mod delete;
mod exit;
mod get;
mod password;
mod progress;
mod report;
mod send;
mod strip;
mod work;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Zero-knowledge, anonymous picture and file sharing.
#[derive(Parser)]
#[command(
    name = "veil",
    version,
    about,
    after_help = "Exit status: 0 success; 1 error; 2 usage error; 3 gone (expired, used up, deleted or \
never existed); 4 wrong password; 5 damaged or tampered data; 6 server unreachable; 7 incomplete or \
malformed link."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove privacy metadata (GPS, camera, serial numbers, dates, XMP,
    /// IPTC, comments, thumbnails, trailing data; a song's tags and cover
    /// pictures; a document's authors, software, edit history and earlier
    /// revisions) from a picture, video, sound, SVG, Office, OpenDocument
    /// or PDF file without re-encoding it.
    Strip(strip::Args),
    /// Clean, encrypt and upload files and folders; prints one link for them all.
    Send(send::Args),
    /// Download, verify and decrypt a share (or one file of it), or list it.
    Get(get::Args),
    /// Delete a shared file early.
    Delete(delete::Args),
    /// Report a link to its server's operator (with its key sealed to them).
    Report(report::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Strip(args) => strip::run(&args).map_err(exit::Failure::Other),
        Command::Send(args) => send::run(&args),
        Command::Get(args) => get::run(&args),
        Command::Delete(args) => delete::run(&args),
        Command::Report(args) => report::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veil: {e}");
            e.code()
        }
    }
}
