//! The stripper on hostile input: proptest mutations (bit flips, byte
//! overwrites, truncations, insertions) of every corpus file (pictures,
//! videos, audio and documents), over the whole corpus and per parser,
//! must never
//! panic or allocate without bound, and anything accepted must be stable
//! under a second pass. On the untouched corpus, stripping is idempotent.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use veil_core::strip::strip;

fn corpus() -> &'static Vec<(String, Vec<u8>)> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests");
        let mut v: Vec<_> = ["corpus", "corpus-docs"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e != "tsv"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
    /// Overwrite 4 bytes with a huge big-endian and little-endian length.
    HugeLength(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<prop::sample::Index>().prop_map(Mutation::HugeLength),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    if data.is_empty() {
        return;
    }
    match m {
        Mutation::Flip(i, b) => {
            let i = i.index(data.len());
            data[i] ^= 1 << b;
        }
        Mutation::Set(i, v) => {
            let i = i.index(data.len());
            data[i] = *v;
        }
        Mutation::Truncate(i) => data.truncate(i.index(data.len())),
        Mutation::Insert(i, v) => {
            let i = i.index(data.len());
            data.splice(i..i, v.iter().copied());
        }
        Mutation::HugeLength(i) => {
            let i = i.index(data.len().saturating_sub(4).max(1));
            let end = (i + 4).min(data.len());
            data[i..end].fill(0xFF);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn mutated_corpus_never_panics(file in any::<prop::sample::Index>(), muts in proptest::collection::vec(mutation(), 1..4)) {
        let files = corpus();
        let (_, original) = &files[file.index(files.len())];
        let mut data = original.clone();
        for m in &muts {
            apply(&mut data, m);
        }
        if let Ok(once) = strip(&data, None) {
            // Output is never larger than input plus the 34-byte orientation
            // block; a PDF is written anew, its objects re-serialised.
            let bound = if once.report.format == Some("PDF") { 2 * data.len() + 4096 } else { data.len() + 64 };
            prop_assert!(once.data.len() <= bound);
            let twice = strip(&once.data, None);
            prop_assert!(twice.is_ok(), "a cleaned file no longer parses: {:?}", twice.err());
        }
    }
}

/// One parser's files, mutated: what the general test above does for the
/// whole corpus, with cases enough for each parser on its own.
fn check_parser(
    exts: &[&str],
    file: prop::sample::Index,
    muts: &[Mutation],
) -> Result<(), TestCaseError> {
    let files: Vec<&Vec<u8>> = corpus()
        .iter()
        .filter(|(name, _)| exts.iter().any(|e| name.ends_with(&format!(".{e}"))))
        .map(|(_, data)| data)
        .collect();
    prop_assert!(!files.is_empty(), "no corpus file for {exts:?}");
    let mut data = files[file.index(files.len())].clone();
    for m in muts {
        apply(&mut data, m);
    }
    if let Ok(once) = strip(&data, None) {
        let twice = strip(&once.data, None);
        prop_assert!(
            twice.is_ok(),
            "{exts:?}: a cleaned file no longer parses: {:?}",
            twice.err()
        );
    }
    Ok(())
}

macro_rules! per_parser {
    ($($name:ident: [$($ext:literal),+];)+) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            $(
                #[test]
                fn $name(file in any::<prop::sample::Index>(), muts in proptest::collection::vec(mutation(), 1..4)) {
                    check_parser(&[$($ext),+], file, &muts)?;
                }
            )+
        }
    };
}

per_parser! {
    jpeg_mutations: ["jpg", "mpo"];
    png_mutations: ["png"];
    webp_mutations: ["webp"];
    gif_mutations: ["gif"];
    isobmff_mutations: ["heic", "avif", "mp4", "mov"];
    tiff_mutations: ["tif"];
    jxl_mutations: ["jxl"];
    mp3_mutations: ["mp3"];
    flac_mutations: ["flac"];
    wav_mutations: ["wav"];
    ogg_mutations: ["ogg"];
    m4a_mutations: ["m4a"];
    svg_mutations: ["svg"];
    office_mutations: ["docx", "pptx", "ods"];
    pdf_mutations: ["pdf"];
}

#[test]
fn stripping_is_idempotent_on_the_corpus() {
    for (name, data) in corpus() {
        let once = strip(data, None).unwrap().data.into_owned();
        let twice = strip(&once, None).unwrap();
        assert_eq!(
            twice.data.as_ref(),
            &once[..],
            "{name}: a second pass changed the file"
        );
        // A second pass finds nothing left to remove (dates zeroed in video
        // headers are not reported again).
        assert!(
            twice.report.removed.is_empty(),
            "{name}: second pass still removes {:?}",
            twice.report.removed
        );
    }
}

#[test]
fn claims_are_checked_and_other_files_pass_through() {
    let text = b"just some notes, not a picture";
    let r = strip(text, Some("text/plain")).unwrap();
    assert_eq!(r.data.as_ref(), text);
    assert_eq!(r.report.lines(), vec!["not an image: sent as is"]);
    assert!(strip(text, Some("image/jpeg")).is_err());
    assert!(strip(text, Some("image/svg+xml")).is_err());
    assert!(
        strip(b"\xff\xd8\xff\xe0\x00", None).is_err(),
        "a truncated JPEG is refused, not passed"
    );
}

/// Content decides what a file is: containers Veil recognises but cannot
/// clean, or that are damaged, are refused whatever they are called, never
/// sent as is. (QuickTime's openings without `ftyp` have their own test
/// with a real movie in tests/corpus.rs.)
#[test]
fn recognised_containers_are_never_passed_through() {
    let mut big_tiff = b"II\x2b\x00\x08\x00\x00\x00".to_vec();
    big_tiff.resize(64, 0);
    let mut big_tiff_mm = b"MM\x00\x2b\x00\x08\x00\x00".to_vec();
    big_tiff_mm.resize(64, 0);
    // A QuickTime opening whose atoms do not add up.
    let mut broken_movie = b"\x00\x00\x00\x10wide\x00\x00\x00\x00".to_vec();
    broken_movie.extend_from_slice(b"\x00\x00\xff\xffmdat");
    // Documents Veil cannot clean, which hold authors and edit history.
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(512, 0);
    let rtf = br"{\rtf1\ansi{\info{\author Jane Roe}{\company Acme}}Hello}".to_vec();
    for doc in [&ole, &rtf] {
        let e = strip(doc, Some("application/octet-stream")).unwrap_err();
        assert!(e.to_string().contains("authors, company"), "{e}");
    }
    for (what, data) in [
        ("BigTIFF", big_tiff),
        ("BigTIFF, big-endian", big_tiff_mm),
        ("a cut QuickTime movie", broken_movie),
        ("an older Office file", ole.clone()),
        ("an RTF document", rtf.clone()),
    ] {
        for declared in [
            None,
            Some(""),
            Some("application/octet-stream"),
            Some("text/plain"),
        ] {
            assert!(
                strip(&data, declared).is_err(),
                "{what} declared {declared:?} was passed through"
            );
        }
    }
}
