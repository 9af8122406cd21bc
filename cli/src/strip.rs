//! `veil strip IN [-o OUT] [--report] [--json]`: cleans one file.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use veil_core::strip::{self, Report};

/// Arguments of `veil strip`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to clean.
    input: PathBuf,
    /// Where to write the cleaned file [default: IN with `.clean` before
    /// the extension, e.g. photo.clean.jpg].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print what was removed and kept.
    #[arg(long)]
    report: bool,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    json: bool,
    /// Overwrite OUT if it exists.
    #[arg(short, long)]
    force: bool,
}

/// `photo.jpg` → `photo.clean.jpg`; `notes` → `notes.clean`.
fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match input.extension() {
        Some(ext) => format!("{stem}.clean.{}", ext.to_string_lossy()),
        None => format!("{stem}.clean"),
    };
    input.with_file_name(name)
}

/// A media type guessed from the file name, so that a `.jpg` that is not a
/// JPEG is refused instead of passed through.
pub fn declared_type(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" | "jpe" | "jfif" | "mpo" => "image/jpeg",
        "png" | "apng" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" | "heif" => "image/heic",
        "avif" => "image/avif",
        "tif" | "tiff" => "image/tiff",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "jxl" => "image/jxl",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "m4a" | "m4b" => "audio/mp4",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// Runs `veil strip`.
pub fn run(args: &Args) -> Result<()> {
    let data = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let stripped = strip::strip(&data, declared_type(&args.input))?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    if output.exists() && !args.force {
        bail!(
            "{} already exists (use --force to overwrite)",
            output.display()
        );
    }
    write_atomically(&output, &stripped.data)?;
    if args.json {
        println!("{}", report_json(&args.input, &output, &stripped.report));
    } else {
        eprintln!("{} -> {}", args.input.display(), output.display());
        if args.report {
            print_report(&stripped.report);
        }
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .context("cannot write the cleaned file")?;
    tmp.as_file()
        .sync_all()
        .context("cannot flush the cleaned file")?;
    tmp.persist(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

fn print_report(r: &Report) {
    let format = r.format.unwrap_or("not an image");
    println!("format: {format}");
    if r.format.is_none() {
        println!("not an image: sent as is");
        return;
    }
    if r.removed.is_empty() {
        println!("removed: nothing (no metadata found)");
    }
    for item in &r.removed {
        println!("removed: {item}");
    }
    for item in &r.kept {
        println!("kept: {item}");
    }
}

fn report_json(input: &Path, output: &Path, r: &Report) -> serde_json::Value {
    serde_json::json!({
        "input": input.display().to_string(),
        "output": output.display().to_string(),
        "format": r.format,
        "removed": r.removed,
        "kept": r.kept,
    })
}
