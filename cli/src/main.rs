//! `veil`: Veil from a terminal. Today: `veil strip`, a standalone metadata
//! remover that keeps pixels, orientation and colour profile.
//!
//! # Layout
//! - `main.rs`: argument parsing and dispatch (this file);
//! - `strip.rs`: the `strip` subcommand.

mod strip;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Zero-knowledge, anonymous picture and file sharing.
#[derive(Parser)]
#[command(name = "veil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove privacy metadata (GPS, camera, serial numbers, dates, XMP,
    /// IPTC, comments, thumbnails, trailing data) from a picture or video
    /// without re-encoding it.
    ///
    /// Exit status: 0 on success, 1 if the file could not be cleaned (nothing
    /// is written), 2 for usage errors.
    Strip(strip::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Strip(args) => strip::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veil: {e:#}");
            ExitCode::FAILURE
        }
    }
}
