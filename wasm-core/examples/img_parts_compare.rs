//! Veil's JPEG, PNG and WebP cleaners beside the same allow-list built on
//! `img-parts` (the crate the stack names for picture containers), on the
//! picture corpus: what exiftool still finds, what is left that exiftool
//! does not report (the camera maker's name anywhere in the bytes),
//! output sizes, time, and panics on mutated files. The figures behind the
//! choice recorded in `src/strip/mod.rs` ("Why not img-parts").
//!
//!   cargo run --release -p wasm-core --example img_parts_compare
//!
//! (exiftool is installed by `make setup`.) The img-parts side drops every
//! APPn but JFIF, ICC and Adobe and every COM before the first scan, the
//! same ancillary PNG chunks as Veil, and WebP's EXIF and XMP; it does not
//! write the orientation-only EXIF, so its JPEGs are 36 bytes smaller
//! where a photo is rotated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/judge/mod.rs"]
mod judge;

use img_parts::{Bytes, ImageEXIF};
use std::path::Path;
use std::time::Instant;

fn with_img_parts(d: &[u8]) -> Option<Vec<u8>> {
    let b = Bytes::copy_from_slice(d);
    let out = match d {
        [0xFF, 0xD8, ..] => {
            let mut j = img_parts::jpeg::Jpeg::from_bytes(b).ok()?;
            j.segments_mut().retain(|s| {
                let c = s.contents();
                match s.marker() {
                    0xE0 => c.starts_with(b"JFIF\0"),
                    0xE2 => c.starts_with(b"ICC_PROFILE\0"),
                    0xEE => c.starts_with(b"Adobe"),
                    0xE1..=0xEF | 0xFE => false,
                    _ => true,
                }
            });
            j.encoder().bytes()
        }
        [0x89, b'P', ..] => {
            let mut p = img_parts::png::Png::from_bytes(b).ok()?;
            p.chunks_mut().retain(|c| {
                let k = c.kind();
                k[0].is_ascii_uppercase()
                    || matches!(
                        &k,
                        b"iCCP"
                            | b"sRGB"
                            | b"gAMA"
                            | b"cHRM"
                            | b"cICP"
                            | b"sBIT"
                            | b"tRNS"
                            | b"acTL"
                            | b"fcTL"
                            | b"fdAT"
                    )
            });
            p.encoder().bytes()
        }
        _ => {
            let mut w = img_parts::webp::WebP::from_bytes(b).ok()?;
            w.set_exif(None);
            w.remove_chunks_by_id(img_parts::webp::CHUNK_XMP);
            w.encoder().bytes()
        }
    };
    Some(out.to_vec())
}

fn with_veil(d: &[u8]) -> Option<Vec<u8>> {
    veil_core::strip::strip(d, None)
        .ok()
        .map(|s| s.data.into_owned())
}

/// How often the original's camera maker (its EXIF `Make`) appears in the
/// cleaned bytes: a trace exiftool does not report when it sits where
/// exiftool does not look (an MPO's second picture).
fn traces(d: &[u8], make: &str) -> usize {
    if make.is_empty() {
        return 0;
    }
    d.windows(make.len())
        .filter(|w| *w == make.as_bytes())
        .count()
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("jpg" | "mpo" | "png" | "webp")
            )
        })
        .collect();
    files.sort();
    let dir = tempfile::tempdir().unwrap();
    let left = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        judge::sensitive(&judge::tags(&p)).len()
    };
    println!("file | exiftool finds (Veil / img-parts) | camera maker's name (Veil / img-parts) | bytes (Veil / img-parts)");
    let (mut t_veil, mut t_ip) = (0.0, 0.0);
    for f in &files {
        let d = std::fs::read(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let veil = with_veil(&d).expect("Veil cleans every corpus picture");
        let make = judge::tags(f)
            .get("IFD0:Make")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let Some(ip) = with_img_parts(&d) else {
            println!("{name} | img-parts refused it");
            continue;
        };
        let t = Instant::now();
        for _ in 0..20 {
            std::hint::black_box(with_veil(&d));
        }
        t_veil += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..20 {
            std::hint::black_box(with_img_parts(&d));
        }
        t_ip += t.elapsed().as_secs_f64();
        println!(
            "{name} | {} / {} | {} / {} | {} / {}",
            left(&format!("v-{name}"), &veil),
            left(&format!("i-{name}"), &ip),
            traces(&veil, &make),
            traces(&ip, &make),
            veil.len(),
            ip.len()
        );
    }
    println!(
        "time, {} files x 20: Veil {t_veil:.3} s, img-parts {t_ip:.3} s",
        files.len()
    );

    // Mutated files: a few bytes changed, a third of them also cut short.
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    std::panic::set_hook(Box::new(|_| {}));
    let (mut runs, mut panics_veil, mut panics_ip) = (0, 0, 0);
    for f in &files {
        let d = std::fs::read(f).unwrap();
        for _ in 0..300 {
            let mut m = d.clone();
            for _ in 0..=rnd() % 8 {
                let i = usize::try_from(rnd()).unwrap() % m.len();
                m[i] = rnd().to_le_bytes()[0];
            }
            if rnd() % 3 == 0 {
                m.truncate(usize::try_from(rnd()).unwrap() % m.len());
            }
            runs += 1;
            panics_veil += usize::from(std::panic::catch_unwind(|| with_veil(&m)).is_err());
            panics_ip += usize::from(std::panic::catch_unwind(|| with_img_parts(&m)).is_err());
        }
    }
    println!("mutated files: {runs}; panics: Veil {panics_veil}, img-parts {panics_ip}");
}
