//! PDF: the document is read into its objects and written anew by
//! [`lopdf`], which keeps every object a page needs (content streams byte
//! for byte, fonts, images, the page tree, outlines, forms) and drops:
//!
//! - the document information dictionary (author, title, subject,
//!   keywords, creating and producing software, dates, custom keys such as
//!   Company) and the file identifiers (`/ID`);
//! - XMP metadata streams (`/Metadata`, on the catalog, pages, pictures
//!   and fonts) and application data (`/PieceInfo`, `/LastModified`);
//! - the authors and dates of comments (markup annotations' `/T`, `/M`,
//!   `/CreationDate`, `/NM`); a form field's `/T` is its name and stays;
//! - earlier revisions: an incrementally updated PDF keeps each older
//!   version of what it changed (an earlier author, a deleted comment) in
//!   the file; only the objects the last revision uses are written, in one
//!   section with one cross-reference table. Linearization (fast web view)
//!   goes with them, as it describes the old layout.
//!
//! Encrypted PDFs are refused: they cannot be rewritten without their
//! password, and what they hide cannot be checked.
//!
//! Why lopdf and not an in-place scrubber, as for ISO media: since PDF 1.5
//! the catalog and the information dictionary may sit inside compressed
//! object streams, whose offsets a cross-reference stream records, so
//! removing a reference means rewriting the file. lopdf parses
//! cross-reference streams and object streams, caps nesting depth and
//! decompressed sizes, and writes a plain file. It costs about 300 KB
//! gzipped (its text encodings and filters), so it is a module of its own
//! for the page (feature `pdf`, web/pkg-pdf), loaded only for PDFs.

use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, SaveOptions};

use super::report::Report;
use super::StripError;

fn err(problem: &'static str) -> StripError {
    StripError::Malformed {
        format: "PDF",
        problem,
    }
}

/// What the information dictionary's keys held, for the report.
fn describe_info(info: &Dictionary, report: &mut Report) {
    for (key, _) in info.iter() {
        report.removed(match key.as_slice() {
            b"Author" => "author",
            b"Creator" | b"Producer" => "software",
            b"CreationDate" | b"ModDate" => "dates",
            b"Title" | b"Subject" | b"Keywords" => "title, subject and keywords",
            b"Trapped" => continue,
            _ => "custom properties",
        });
    }
}

/// Whether a dictionary is an annotation other than a form field's
/// widget: a comment, a highlight, a stamp, a pop-up…
fn is_markup_annotation(d: &Dictionary) -> bool {
    let subtype = d.get(b"Subtype").and_then(Object::as_name).ok();
    (d.has_type(b"Annot") || (subtype.is_some() && d.has(b"Rect")))
        && subtype != Some(b"Widget".as_slice())
        && subtype != Some(b"Link".as_slice())
        && !d.has(b"FT")
}

/// Removes what one dictionary holds about people, software and times.
fn scrub(d: &mut Dictionary, report: &mut Report) {
    if d.remove(b"Metadata").is_some() {
        report.removed("XMP");
    }
    if d.remove(b"PieceInfo").is_some() | d.remove(b"LastModified").is_some() {
        report.removed("application data (PieceInfo)");
    }
    if is_markup_annotation(d) {
        let mut any = false;
        for key in [b"T".as_slice(), b"M", b"CreationDate", b"NM"] {
            any |= d.remove(key).is_some();
        }
        if any {
            report.removed("comment authors and dates");
        }
    }
}

/// How many times the file was saved after it was first written: its
/// `%%EOF` markers, less the one a linearized file's first section adds.
fn earlier_revisions(data: &[u8], linearized: bool) -> usize {
    let eofs = data.windows(5).filter(|w| *w == b"%%EOF").count();
    eofs.saturating_sub(1 + usize::from(linearized))
}

/// Strips a PDF held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut doc = Document::load_mem(data).map_err(|_| err("cannot be read"))?;
    // lopdf opens a PDF encrypted with an empty password and drops its
    // `/Encrypt`; such a file is refused all the same.
    if doc.encryption_state.is_some() || doc.trailer.has(b"Encrypt") {
        return Err(StripError::Unsupported("encrypted PDF".to_owned()));
    }
    let mut report = Report::new("PDF");

    if let Some(info) = doc.trailer.remove(b"Info") {
        let dict = match &info {
            Object::Reference(id) => doc.get_dictionary(*id).ok(),
            Object::Dictionary(d) => Some(d),
            _ => None,
        };
        match dict {
            Some(d) => describe_info(d, &mut report),
            None => report.removed("document information"),
        }
    }
    if doc.trailer.remove(b"ID").is_some() {
        report.removed("document id");
    }
    let linearized = doc.objects.values().any(|o| match o {
        Object::Dictionary(d) => d.has(b"Linearized"),
        _ => false,
    });
    for object in doc.objects.values_mut() {
        match object {
            Object::Dictionary(d) => scrub(d, &mut report),
            Object::Stream(s) => scrub(&mut s.dict, &mut report),
            _ => {}
        }
    }
    match earlier_revisions(data, linearized) {
        0 => {}
        1 => report.removed("an earlier revision (incremental update)"),
        n => report.removed(format!("{n} earlier revisions (incremental updates)")),
    }
    if linearized {
        report.removed("fast web view layout (linearization)");
    }
    // Whatever only the removed entries or earlier revisions reached (the
    // information dictionary, XMP streams, the linearization dictionary).
    doc.prune_objects();
    // Numbered 1..n again, so that the trailer's /Size is what the file
    // holds (qpdf warns otherwise) and no gap hints at what was removed.
    doc.renumber_objects();

    // A file that packed its objects into compressed object streams is
    // written that way again (else it would grow by a third); an older one
    // keeps its plain cross-reference table.
    let packed = matches!(
        doc.reference_table.cross_reference_type,
        XrefType::CrossReferenceStream
    );
    let mut out = Vec::with_capacity(data.len());
    let written = if packed {
        let options = SaveOptions::builder()
            .use_object_streams(true)
            .use_xref_streams(true)
            // The builder's default is 0: stored, not compressed.
            .compression_level(6)
            .build();
        doc.save_with_options(&mut out, options)
    } else {
        doc.save_to(&mut out)
    };
    written.map_err(|_| err("cannot be written back"))?;
    Ok((out, report))
}
