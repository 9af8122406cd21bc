//! Office Open XML (DOCX, PPTX, XLSX) and OpenDocument (ODT, ODS, ODP):
//! ZIP packages of XML parts ([`super::zip`], [`super::xml`]).
//!
//! Office Open XML. Removed parts: everything under `docProps/` (core
//! properties: author, last editor, dates; extended properties: company,
//! manager, software, template, editing time; custom properties; the
//! thumbnail), printer settings (the printer's name and driver), and
//! `word/people.xml` (comment authors' accounts). The package's index
//! (`[Content_Types].xml`) and relationships (`*.rels`) lose their entries
//! for those parts, so no reference dangles. Inside the remaining XML
//! parts: Word's edit-session ids (`w:rsid…` attributes and
//! `<w:rsids>`), the attached template's path, comment and revision
//! authors and initials (emptied: the attribute is required), their dates,
//! PowerPoint's comment author names and Excel's threaded-comment persons.
//!
//! OpenDocument. Removed parts: `meta.xml` (creator, dates, editing time
//! and cycles, generator, user-defined fields) and `Thumbnails/`; the
//! manifest loses their entries; `settings.xml` loses the printer's name
//! and setup; comments (`office:annotation`) lose their author and date.
//! Not yet: tracked changes' `office:change-info`, whose author and date
//! the schema requires, keep them. `mimetype` stays first and stored, as
//! the format requires.
//!
//! Every other part is copied compressed as it was, so the document's own
//! content is byte for byte what it was; a rewritten part is deflated anew.

#[cfg(feature = "formats")]
use std::borrow::Cow;

#[cfg(feature = "formats")]
use quick_xml::events::BytesStart;

#[cfg(feature = "formats")]
use super::report::Report;
#[cfg(feature = "formats")]
use super::xml::{self, split, Attr, Policy, Scopes};
#[cfg(feature = "formats")]
use super::zip;
#[cfg(feature = "formats")]
use super::StripError;

#[cfg(feature = "formats")]
fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: "Office",
        problem: what,
    }
}

/// Whether the first entry of a ZIP (from its local header at 0) names an
/// Office Open XML or OpenDocument part: the first bytes decide, so other
/// ZIP archives are never taken for documents.
#[must_use]
pub(crate) fn looks_like_office(head: &[u8]) -> bool {
    if head.get(..4) != Some(b"PK\x03\x04") {
        return false;
    }
    let nlen = super::read::le16(head, 26).map_or(0, usize::from);
    let xlen = super::read::le16(head, 28).map_or(0, usize::from);
    let Some(name) = head.get(30..30 + nlen) else {
        return false;
    };
    if name == b"mimetype" {
        let body = head.get(30 + nlen + xlen..).unwrap_or_default();
        return body.starts_with(b"application/vnd.oasis.opendocument");
    }
    name == b"[Content_Types].xml"
        || name == b"_rels/.rels"
        || ["docProps/", "word/", "ppt/", "xl/"]
            .iter()
            .any(|p| name.starts_with(p.as_bytes()))
}

/// The document's media type, from its content: OpenDocument's own
/// `mimetype` entry, or the main part an Office package holds.
#[must_use]
#[cfg(feature = "formats")]
pub(crate) fn mime(data: &[u8]) -> &'static str {
    const ODF: [(&str, &str); 3] = [
        ("text", "application/vnd.oasis.opendocument.text"),
        (
            "spreadsheet",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            "presentation",
            "application/vnd.oasis.opendocument.presentation",
        ),
    ];
    let has = |s: &[u8]| super::jpeg::contains(data, s);
    if let Some(kind) = data
        .get(38..)
        .and_then(|b| b.strip_prefix(b"application/vnd.oasis.opendocument."))
    {
        for (k, m) in ODF {
            if kind.starts_with(k.as_bytes()) {
                return m;
            }
        }
        return "application/zip";
    }
    if has(b"word/document.xml") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else if has(b"ppt/presentation.xml") {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    } else if has(b"xl/workbook.xml") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "application/zip"
    }
}

#[cfg(feature = "formats")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ooxml,
    Odf,
}

/// Why a whole part goes, in the report's words; `None` when it stays.
#[cfg(feature = "formats")]
fn dropped(kind: Kind, name: &[u8]) -> Option<&'static str> {
    let name = std::str::from_utf8(name).ok()?;
    match kind {
        Kind::Ooxml => match name {
            "docProps/core.xml" => Some("author, last editor and dates (core properties)"),
            "docProps/app.xml" => {
                Some("company, manager, template and software (extended properties)")
            }
            "docProps/custom.xml" => Some("custom properties"),
            "word/people.xml" => Some("comment authors' accounts"),
            _ if name.ends_with('/') => Some(""), // a folder entry: nothing to report
            _ if name.starts_with("docProps/thumbnail") => Some("thumbnail"),
            _ if name.starts_with("docProps/") => Some("document properties"),
            _ if name.contains("/printerSettings/") => Some("printer settings"),
            _ => None,
        },
        Kind::Odf => match name {
            "meta.xml" => Some("author, dates, editing time and software (meta.xml)"),
            _ if name.starts_with("Thumbnails/") && !name.ends_with('/') => Some("thumbnail"),
            _ => None,
        },
    }
}

/// `[Content_Types].xml`, `*.rels` and ODF's manifest: drops the entries
/// naming removed parts. `base` is the folder relative targets start from.
#[cfg(feature = "formats")]
struct Index<'a> {
    removed: &'a [Vec<u8>],
    base: Vec<u8>,
}

/// A relationship target (relative to `base`, or absolute with `/`) as a
/// part name: `..` and `.` resolved.
#[cfg(feature = "formats")]
fn resolve(base: &[u8], target: &[u8]) -> Vec<u8> {
    let joined: Vec<u8> = match target.strip_prefix(b"/") {
        Some(abs) => abs.to_vec(),
        None => [base, target].concat(),
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for seg in joined.split(|&c| c == b'/') {
        match seg {
            b".." => {
                parts.pop();
            }
            b"." | b"" => {}
            s => parts.push(s),
        }
    }
    parts.join(&b'/')
}

#[cfg(feature = "formats")]
impl Policy for Index<'_> {
    fn element(&mut self, _: &Scopes, tag: &BytesStart<'_>, _: usize) -> Result<bool, StripError> {
        let local = tag.name();
        let target = match split(local.as_ref()).1 {
            b"Override" => xml::attribute(tag, b"PartName"),
            b"Relationship"
                if xml::attribute(tag, b"TargetMode").as_deref() != Some(b"External") =>
            {
                xml::attribute(tag, b"Target")
            }
            b"file-entry" => xml::attribute(tag, b"manifest:full-path"),
            _ => None,
        };
        Ok(match target {
            Some(t) => {
                let part = resolve(&self.base, &t);
                !self.removed.contains(&part)
            }
            None => true,
        })
    }
    fn attribute(&mut self, _: &Scopes, _: &[u8], _: &[u8], _: &[u8]) -> Attr {
        Attr::Keep
    }
    fn comment(&mut self) -> bool {
        true
    }
    fn instruction(&mut self, _: &[u8]) -> bool {
        true
    }
}

/// The XML parts of a document: who edited what, and when.
#[cfg(feature = "formats")]
struct Scrub<'r> {
    report: &'r mut Report,
    /// The depth of the OpenDocument comment (`office:annotation`) being
    /// read, whose author and date children go.
    annotation: Option<usize>,
}

#[cfg(feature = "formats")]
impl Policy for Scrub<'_> {
    fn element(
        &mut self,
        _: &Scopes,
        tag: &BytesStart<'_>,
        depth: usize,
    ) -> Result<bool, StripError> {
        let name = tag.name();
        // An element at the annotation's depth or above closes it.
        if self.annotation.is_some_and(|a| depth <= a) {
            self.annotation = None;
        }
        Ok(match name.as_ref() {
            b"office:annotation" => {
                self.annotation = Some(depth);
                true
            }
            // Optional children of a comment (ODF 1.2, 14.1): its author,
            // its date and the date as the writer displayed it. (Tracked
            // changes' `office:change-info` requires both, so they stay:
            // see the module doc.)
            b"dc:creator" | b"dc:date" | b"meta:date-string"
                if self.annotation.is_some_and(|a| depth == a + 1) =>
            {
                self.report.removed("comment authors and dates");
                false
            }
            b"w:rsids" => {
                self.report.removed("edit session ids (rsid)");
                false
            }
            b"w:attachedTemplate" => {
                self.report.removed("template path");
                false
            }
            b"config:config-item"
                if matches!(
                    xml::attribute(tag, b"config:name").as_deref(),
                    Some(b"PrinterName" | b"PrinterSetup")
                ) =>
            {
                self.report.removed("printer settings");
                false
            }
            _ => true,
        })
    }

    fn attribute(&mut self, _: &Scopes, element: &[u8], key: &[u8], value: &[u8]) -> Attr {
        let (prefix, local) = split(key);
        match (prefix, local) {
            (b"w", l) if l.starts_with(b"rsid") => {
                self.report.removed("edit session ids (rsid)");
                Attr::Drop
            }
            (b"w", b"author" | b"initials") if !value.is_empty() => {
                self.report.removed("comment and revision authors");
                Attr::Replace(b"")
            }
            (b"w", b"date") | (b"w16cex", b"dateUtc") => {
                self.report.removed("comment and revision dates");
                Attr::Drop
            }
            (b"", b"name" | b"initials") if element == b"p:cmAuthor" && !value.is_empty() => {
                self.report.removed("comment authors");
                Attr::Replace(b"")
            }
            (b"", b"displayName" | b"userId" | b"providerId")
                if element == b"person" && !value.is_empty() =>
            {
                self.report.removed("comment authors' accounts");
                Attr::Replace(b"")
            }
            _ => Attr::Keep,
        }
    }

    fn comment(&mut self) -> bool {
        true
    }

    fn instruction(&mut self, _: &[u8]) -> bool {
        true
    }
}

/// Strips an Office Open XML or OpenDocument file held in memory.
#[cfg(feature = "formats")]
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let entries = zip::entries(data, err)?;
    let kind = if entries.iter().any(|e| e.name == b"[Content_Types].xml") {
        Kind::Ooxml
    } else if entries.first().is_some_and(|e| e.name == b"mimetype") {
        Kind::Odf
    } else {
        return Err(err(
            "is a ZIP archive but not an Office or OpenDocument file",
        ));
    };
    let has = |p: &str| entries.iter().any(|e| e.name.starts_with(p.as_bytes()));
    let format = match kind {
        Kind::Odf => "OpenDocument",
        Kind::Ooxml if has("word/") => "Word document",
        Kind::Ooxml if has("ppt/") => "PowerPoint presentation",
        Kind::Ooxml if has("xl/") => "Excel workbook",
        Kind::Ooxml => "Office document",
    };
    let mut report = Report::new(format);
    let removed: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|e| {
            let why = dropped(kind, e.name)?;
            if !why.is_empty() {
                report.removed(why);
            }
            Some(e.name.to_vec())
        })
        .collect();
    let mut out = Vec::with_capacity(entries.len());
    for e in &entries {
        if removed.iter().any(|r| r.as_slice() == e.name) {
            continue;
        }
        let name = std::str::from_utf8(e.name).unwrap_or_default();
        let is_index = name == "[Content_Types].xml"
            || name.ends_with(".rels")
            || name == "META-INF/manifest.xml";
        let is_xml = name.ends_with(".xml");
        if !is_index && !is_xml {
            out.push(kept(e));
            continue;
        }
        let original = zip::inflate(e, err)?;
        if original.is_empty() {
            out.push(kept(e)); // an empty placeholder (OpenOffice writes some)
            continue;
        }
        let xml_err = || err("has an XML part that is not well-formed");
        let rewritten = if is_index {
            // "word/_rels/document.xml.rels" describes "word/document.xml".
            let base = match name.rsplit_once("_rels/") {
                Some((dir, _)) => dir.as_bytes().to_vec(),
                None => Vec::new(),
            };
            let mut index = Index {
                removed: &removed,
                base,
            };
            xml::rewrite(&original, &mut index, xml_err, err)?
        } else {
            xml::rewrite(
                &original,
                &mut Scrub {
                    report: &mut report,
                    annotation: None,
                },
                xml_err,
                err,
            )?
        };
        if rewritten == original {
            out.push(kept(e));
        } else {
            out.push(zip::deflated(e.name, &rewritten, err)?);
        }
    }
    report.kept("the document's content");
    Ok((zip::write(&out, err)?, report))
}

#[cfg(feature = "formats")]
fn kept<'a>(e: &zip::Entry<'a>) -> zip::Out<'a> {
    zip::Out {
        name: e.name,
        method: e.method,
        crc: e.crc,
        size: e.size,
        compressed: Cow::Borrowed(e.compressed),
    }
}

#[cfg(all(test, feature = "formats"))]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_like_part_names() {
        assert_eq!(resolve(b"", b"docProps/core.xml"), b"docProps/core.xml");
        assert_eq!(
            resolve(b"word/", b"../docProps/app.xml"),
            b"docProps/app.xml"
        );
        assert_eq!(resolve(b"word/", b"/word/people.xml"), b"word/people.xml");
        assert_eq!(
            resolve(b"ppt/", b"./printerSettings/p1.bin"),
            b"ppt/printerSettings/p1.bin"
        );
    }

    #[test]
    fn only_office_zips_are_taken_for_documents() {
        let local = |name: &[u8], body: &[u8]| {
            let mut h = b"PK\x03\x04".to_vec();
            h.extend_from_slice(&[0; 22]);
            h.extend_from_slice(&u16::try_from(name.len()).unwrap_or(0).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(name);
            h.extend_from_slice(body);
            h
        };
        assert!(looks_like_office(&local(b"[Content_Types].xml", b"<")));
        assert!(looks_like_office(&local(
            b"mimetype",
            b"application/vnd.oasis.opendocument.text"
        )));
        assert!(!looks_like_office(&local(
            b"mimetype",
            b"application/epub+zip"
        )));
        assert!(!looks_like_office(&local(b"holiday/photo1.jpg", b"")));
    }

    /// An OpenDocument comment loses its author and date, keeps its text;
    /// a `dc:creator` outside a comment is not this rule's business.
    #[test]
    #[cfg(feature = "formats")]
    fn odf_comments_lose_author_and_date() {
        let content = br#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"><office:body><office:text><text:p>Hello<office:annotation><dc:creator>Jane Roe</dc:creator><dc:date>2024-06-12T10:15:30</dc:date><meta:date-string>12/06/24</meta:date-string><text:p>Check this</text:p></office:annotation> world</text:p><text:p><dc:creator>kept</dc:creator></text:p></office:text></office:body></office:document-content>"#;
        let manifest = br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
        let mime: &[u8] = b"application/vnd.oasis.opendocument.text";
        let stored = zip::Out {
            name: b"mimetype",
            method: 0,
            crc: crate::strip::png::crc32(mime),
            size: u32::try_from(mime.len()).unwrap_or(0),
            compressed: Cow::Borrowed(mime),
        };
        let doc = zip::write(
            &[
                stored,
                zip::deflated(b"META-INF/manifest.xml", manifest, err)
                    .unwrap_or_else(|_| unreachable!()),
                zip::deflated(b"content.xml", content, err).unwrap_or_else(|_| unreachable!()),
            ],
            err,
        )
        .unwrap_or_else(|_| unreachable!());
        let (out, report) = strip(&doc).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report
                .removed
                .iter()
                .any(|r| r == "comment authors and dates"),
            "{report:?}"
        );
        let entries = zip::entries(&out, err).unwrap_or_else(|_| unreachable!());
        let part = entries
            .iter()
            .find(|e| e.name == b"content.xml")
            .map(|e| zip::inflate(e, err));
        let Some(Ok(part)) = part else {
            panic!("content.xml is missing")
        };
        let text = String::from_utf8_lossy(&part);
        assert!(
            !text.contains("Jane Roe")
                && !text.contains("2024-06-12")
                && !text.contains("12/06/24"),
            "{text}"
        );
        assert!(
            text.contains("<text:p>Check this</text:p>") && text.contains(" world"),
            "{text}"
        );
        assert!(text.contains("<dc:creator>kept</dc:creator>"), "{text}");
    }
}
