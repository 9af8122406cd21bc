//! SVG: the drawing stays, what the editor and the author left goes.
//!
//! SVG is XML, read with `quick-xml` (a streaming reader that hands back
//! each piece of markup with its position, so everything kept is copied
//! byte for byte). The allow-list is by XML namespace: elements and
//! attributes in the namespaces a browser renders (SVG, XLink, XHTML,
//! MathML, `xml:`) and unprefixed attributes stay; everything in another
//! namespace goes with its subtree: Inkscape's and Sodipodi's attributes
//! (the document's file name, export paths under the author's home folder,
//! window geometry), Illustrator's and Sketch's private data, RDF. Also
//! removed: SVG's own `<metadata>` element (RDF: author, licence, dates),
//! XML comments ("Created with …"), and processing instructions other than
//! the XML declaration (XMP packets). Namespace declarations for removed
//! namespaces go too. Renderers ignore all of these, so the picture renders
//! the same (`rsvg-convert` decides in the tests).
//!
//! Fail closed: markup that does not parse, mismatched tags, or a DOCTYPE
//! declaring its own entities (what they expand to would need a DTD
//! processor) is refused with the reason.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::report::Report;
use super::StripError;

const FORMAT: &str = "SVG";
const MAX_DEPTH: usize = 256;

/// Namespaces whose elements and attributes a browser renders.
const RENDERED: [&[u8]; 5] = [
    b"http://www.w3.org/2000/svg",
    b"http://www.w3.org/1999/xlink",
    b"http://www.w3.org/1999/xhtml",
    b"http://www.w3.org/1998/Math/MathML",
    b"http://www.w3.org/XML/1998/namespace",
];

fn err(what: &'static str) -> StripError {
    StripError::Malformed {
        format: FORMAT,
        problem: what,
    }
}

/// Whether `data` opens (within its first 4 KiB, after the XML
/// declaration, comments and a DOCTYPE) with an `<svg>` root element.
#[must_use]
pub(crate) fn looks_like_svg(data: &[u8]) -> bool {
    let head = data.get(..data.len().min(4096)).unwrap_or_default();
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        rest = trim_start(rest);
        let skip_to = |rest: &[u8], end: &[u8]| -> Option<usize> {
            rest.windows(end.len())
                .position(|w| w == end)
                .map(|p| p + end.len())
        };
        let next = if rest.starts_with(b"<?") {
            skip_to(rest, b"?>")
        } else if rest.starts_with(b"<!--") {
            skip_to(rest, b"-->")
        } else if rest.starts_with(b"<!DOCTYPE") {
            let close = skip_to(rest, b">");
            match (rest.iter().position(|&c| c == b'['), close) {
                (Some(open), Some(close)) if open < close => skip_to(rest, b"]>")
                    .or_else(|| skip_to(rest, b"]"))
                    .and_then(|p| Some(p + skip_to(rest.get(p..)?, b">")?)),
                _ => close,
            }
        } else {
            break;
        };
        match next.and_then(|n| rest.get(n..)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    let Some(tag) = rest.strip_prefix(b"<") else {
        return false;
    };
    let name_end = tag
        .iter()
        .position(|&c| c.is_ascii_whitespace() || c == b'>' || c == b'/')
        .unwrap_or(tag.len());
    let name = tag.get(..name_end).unwrap_or_default();
    name == b"svg" || name.ends_with(b":svg")
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or_default()
}

/// The namespace declarations in scope: (prefix, URI), innermost last;
/// an empty prefix is the default namespace.
#[derive(Default)]
struct Scopes {
    bindings: Vec<(Vec<u8>, Vec<u8>)>,
    /// How many bindings each open element added.
    added: Vec<usize>,
}

impl Scopes {
    fn resolve(&self, prefix: &[u8]) -> Option<&[u8]> {
        if prefix == b"xml" {
            return Some(b"http://www.w3.org/XML/1998/namespace");
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_slice())
    }

    fn push(&mut self, start: &BytesStart<'_>) -> Result<(), StripError> {
        let mut added = 0;
        for a in start.attributes() {
            let a = a.map_err(|_| err("has a malformed attribute"))?;
            let key = a.key.as_ref();
            let prefix = if key == b"xmlns" {
                Some(&b""[..])
            } else {
                key.strip_prefix(b"xmlns:")
            };
            if let Some(p) = prefix {
                self.bindings.push((p.to_vec(), a.value.into_owned()));
                added += 1;
            }
        }
        self.added.push(added);
        Ok(())
    }

    fn pop(&mut self) {
        let n = self.added.pop().unwrap_or(0);
        self.bindings
            .truncate(self.bindings.len().saturating_sub(n));
    }
}

/// What the report calls data in a removed namespace.
fn editor(uri: Option<&[u8]>) -> &'static str {
    let uri = uri.unwrap_or_default();
    let has = |s: &[u8]| uri.windows(s.len()).any(|w| w == s);
    if has(b"inkscape") || has(b"sodipodi") {
        "editor data (Inkscape)"
    } else if has(b"adobe") {
        "editor data (Adobe Illustrator)"
    } else if has(b"bohemiancoding") {
        "editor data (Sketch)"
    } else if has(b"rdf-syntax") || has(b"purl.org/dc") || has(b"creativecommons") {
        "author and licence (RDF)"
    } else {
        "other editor data"
    }
}

fn rendered(uri: Option<&[u8]>) -> bool {
    uri.is_some_and(|u| RENDERED.contains(&u))
}

/// Splits `p:name` into (`p`, `name`); no prefix gives an empty one.
fn split(qname: &[u8]) -> (&[u8], &[u8]) {
    match qname.iter().position(|&c| c == b':') {
        Some(i) => (
            qname.get(..i).unwrap_or_default(),
            qname.get(i + 1..).unwrap_or_default(),
        ),
        None => (&[], qname),
    }
}

/// Whether an element is kept (it must already be pushed on `scopes`).
fn keep_element(scopes: &Scopes, name: &[u8]) -> Result<bool, &'static str> {
    let (prefix, local) = split(name);
    let uri = scopes.resolve(prefix);
    match uri {
        // No namespace at all (an SVG without xmlns): keep what renders.
        None if prefix.is_empty() => Ok(local != b"metadata"),
        _ if rendered(uri) => Ok(!(local == b"metadata" && uri == RENDERED.first().copied())),
        _ => Err(editor(uri)),
    }
}

/// The start tag rebuilt with only the kept attributes; `None` when
/// nothing was dropped (then the original bytes are copied).
fn filter_attributes(
    scopes: &Scopes,
    start: &BytesStart<'_>,
    empty: bool,
    report: &mut Report,
) -> Result<Option<Vec<u8>>, StripError> {
    let mut kept: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut dropped = false;
    for a in start.attributes() {
        let a = a.map_err(|_| err("has a malformed attribute"))?;
        let key = a.key.as_ref();
        let (prefix, _) = split(key);
        let keep = if key == b"xmlns" || prefix.is_empty() {
            true
        } else if prefix == b"xmlns" {
            rendered(Some(&a.value))
        } else {
            rendered(scopes.resolve(prefix))
        };
        if keep {
            kept.push((key.to_vec(), a.value.into_owned()));
        } else {
            dropped = true;
            let uri = if prefix == b"xmlns" {
                Some(&*a.value)
            } else {
                scopes.resolve(prefix)
            };
            report.removed(editor(uri));
            let v = &*a.value;
            let has = |s: &[u8]| v.windows(s.len()).any(|w| w == s);
            if has(b"/home/") || has(b"/Users/") || has(b":\\") || has(b"\\Users\\") {
                report.removed("file paths (with a user name)");
            }
        }
    }
    if !dropped {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(start.len() + 2);
    out.push(b'<');
    out.extend_from_slice(start.name().as_ref());
    for (k, v) in kept {
        // The raw (still escaped) value: it cannot hold both quote kinds.
        let q = if v.contains(&b'"') { b'\'' } else { b'"' };
        out.push(b' ');
        out.extend_from_slice(&k);
        out.push(b'=');
        out.push(q);
        out.extend_from_slice(&v);
        out.push(q);
    }
    out.extend_from_slice(if empty { b"/>" } else { b">" });
    Ok(Some(out))
}

/// Strips an SVG held in memory.
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new(FORMAT);
    let mut reader = Reader::from_reader(data);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::with_capacity(data.len());
    let mut scopes = Scopes::default();
    // Depth of open elements, and the depth at which a removed subtree began.
    let mut depth = 0usize;
    let mut skipping: Option<usize> = None;
    let mut root = false;
    loop {
        let from = usize::try_from(reader.buffer_position()).map_err(|_| err("is too large"))?;
        let event = reader
            .read_event()
            .map_err(|_| err("is not well-formed XML"))?;
        let to = usize::try_from(reader.buffer_position()).map_err(|_| err("is too large"))?;
        let raw = data
            .get(from..to)
            .ok_or_else(|| err("is not well-formed XML"))?;
        match event {
            Event::Eof => break,
            Event::Start(ref s) | Event::Empty(ref s) => {
                let empty = matches!(event, Event::Empty(_));
                if depth >= MAX_DEPTH {
                    return Err(err("nests elements too deeply"));
                }
                scopes.push(s)?;
                if depth == 0 {
                    if root {
                        return Err(err("has more than one root element"));
                    }
                    root = true;
                    if split(s.name().as_ref()).1 != b"svg" {
                        return Err(err("does not have an svg root element"));
                    }
                }
                if skipping.is_none() {
                    match keep_element(&scopes, s.name().as_ref()) {
                        Ok(true) => match filter_attributes(&scopes, s, empty, &mut report)? {
                            Some(tag) => out.extend_from_slice(&tag),
                            None => out.extend_from_slice(raw),
                        },
                        Ok(false) => {
                            report.removed("metadata (RDF: author, licence, dates)");
                            skipping = Some(depth);
                        }
                        Err(what) => {
                            report.removed(what);
                            skipping = Some(depth);
                        }
                    }
                }
                if empty {
                    scopes.pop();
                    if skipping == Some(depth) {
                        skipping = None;
                    }
                } else {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| err("closes a tag it never opened"))?;
                scopes.pop();
                if skipping.is_none() {
                    out.extend_from_slice(raw);
                } else if skipping == Some(depth) {
                    skipping = None;
                }
            }
            Event::Comment(_) => report.removed("comments"),
            Event::PI(_) => report.removed("processing instructions (XMP)"),
            Event::DocType(ref d) => {
                if d.contains(&b'[') {
                    return Err(err("declares its own entities"));
                }
                out.extend_from_slice(raw);
            }
            Event::Decl(_) | Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                if skipping.is_none() {
                    out.extend_from_slice(raw);
                }
            }
        }
    }
    if depth != 0 || !root {
        return Err(err("ends before its root element is closed"));
    }
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn svg_is_recognised_after_its_prologue() {
        assert!(looks_like_svg(b"<svg xmlns='http://www.w3.org/2000/svg'/>"));
        assert!(looks_like_svg(
            b"\xEF\xBB\xBF<?xml version='1.0'?>\n<!-- Created with X -->\n<!DOCTYPE svg PUBLIC '-//W3C//DTD SVG 1.1//EN' 'x'>\n<svg:svg>"
        ));
        assert!(!looks_like_svg(b"<?xml version='1.0'?><html/>"));
        assert!(!looks_like_svg(b"<svgfoo/>"));
        assert!(!looks_like_svg(b"plain text"));
    }

    #[test]
    fn editor_data_metadata_and_comments_go_drawing_stays() {
        let svg = br##"<?xml version="1.0"?>
<!-- Created with Inkscape -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="10" inkscape:export-filename="/home/luc/x.png">
  <metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>
  <inkscape:namedview id="n"><inkscape:grid/></inkscape:namedview>
  <path d="M0 0L1 1" style="fill:red" inkscape:label="me &amp; you"/>
  <use xlink:href="#a"/><text>a &lt; b</text>
</svg>"##;
        let (out, report) = strip(svg).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\"?>\n\n<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"10\">\n  \n  \n  <path d=\"M0 0L1 1\" style=\"fill:red\"/>\n  <use xlink:href=\"#a\"/><text>a &lt; b</text>\n</svg>"
        );
        for want in [
            "comments",
            "editor data (Inkscape)",
            "file paths (with a user name)",
            "metadata (RDF: author, licence, dates)",
        ] {
            assert!(
                report.removed.contains(&want.to_owned()),
                "{want}: {:?}",
                report.removed
            );
        }
        let (again, report) = strip(&out).unwrap();
        assert_eq!(again, out);
        assert!(report.removed.is_empty());
    }

    #[test]
    fn broken_or_entity_declaring_svg_is_refused() {
        assert!(strip(b"<svg><g></svg>").is_err());
        assert!(strip(b"<svg>").is_err());
        assert!(strip(b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg>&a;</svg>").is_err());
        assert!(strip(b"<html/>").is_err());
        assert!(strip(b"<svg/><svg/>").is_err());
    }
}
