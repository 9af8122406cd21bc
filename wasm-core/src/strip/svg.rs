//! SVG: the drawing stays, what the editor and the author left goes.
//!
//! SVG is XML, walked by [`super::xml`] (everything kept is copied byte
//! for byte). The allow-list is by XML namespace: elements and
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
//! Fail closed: what [`super::xml`] refuses, and a root element that is not
//! `svg` in the SVG namespace (or none), is refused with the reason.

#[cfg(feature = "formats")]
use quick_xml::events::BytesStart;

#[cfg(feature = "formats")]
use super::report::Report;
#[cfg(feature = "formats")]
use super::xml::{self, split, Attr, Policy, Scopes};
#[cfg(feature = "formats")]
use super::StripError;

#[cfg(feature = "formats")]
const FORMAT: &str = "SVG";

/// Namespaces whose elements and attributes a browser renders.
#[cfg(feature = "formats")]
const RENDERED: [&[u8]; 5] = [
    b"http://www.w3.org/2000/svg",
    b"http://www.w3.org/1999/xlink",
    b"http://www.w3.org/1999/xhtml",
    b"http://www.w3.org/1998/Math/MathML",
    b"http://www.w3.org/XML/1998/namespace",
];

#[cfg(feature = "formats")]
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

/// What the report calls data in a removed namespace.
#[cfg(feature = "formats")]
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

#[cfg(feature = "formats")]
fn rendered(uri: Option<&[u8]>) -> bool {
    uri.is_some_and(|u| RENDERED.contains(&u))
}

/// Keeps what renders, and says in the report what went.
#[cfg(feature = "formats")]
struct Drawing<'r> {
    report: &'r mut Report,
}

#[cfg(feature = "formats")]
impl Drawing<'_> {
    /// Whether an element is kept, or what the report calls it.
    fn keep(scopes: &Scopes, name: &[u8]) -> Result<bool, &'static str> {
        let (prefix, local) = split(name);
        let uri = scopes.resolve(prefix);
        match uri {
            // No namespace at all (an SVG without xmlns): keep what renders.
            None if prefix.is_empty() => Ok(local != b"metadata"),
            _ if rendered(uri) => Ok(!(local == b"metadata" && uri == RENDERED.first().copied())),
            _ => Err(editor(uri)),
        }
    }
}

#[cfg(feature = "formats")]
impl Policy for Drawing<'_> {
    fn element(
        &mut self,
        scopes: &Scopes,
        tag: &BytesStart<'_>,
        depth: usize,
    ) -> Result<bool, StripError> {
        let name = tag.name();
        let name = name.as_ref();
        let keep = Self::keep(scopes, name);
        if depth == 0 && (split(name).1 != b"svg" || keep != Ok(true)) {
            return Err(err("does not have an SVG root element"));
        }
        match keep {
            Ok(true) => Ok(true),
            Ok(false) => {
                self.report
                    .removed("metadata (RDF: author, licence, dates)");
                Ok(false)
            }
            Err(what) => {
                self.report.removed(what);
                Ok(false)
            }
        }
    }

    fn attribute(&mut self, scopes: &Scopes, _element: &[u8], key: &[u8], value: &[u8]) -> Attr {
        let (prefix, _) = split(key);
        let keep = if key == b"xmlns" || prefix.is_empty() {
            true
        } else if prefix == b"xmlns" {
            rendered(Some(value))
        } else {
            rendered(scopes.resolve(prefix))
        };
        if keep {
            return Attr::Keep;
        }
        let uri = if prefix == b"xmlns" {
            Some(value)
        } else {
            scopes.resolve(prefix)
        };
        self.report.removed(editor(uri));
        let has = |s: &[u8]| value.windows(s.len()).any(|w| w == s);
        if has(b"/home/") || has(b"/Users/") || has(b":\\") || has(b"\\Users\\") {
            self.report.removed("file paths (with a user name)");
        }
        Attr::Drop
    }

    fn comment(&mut self) -> bool {
        self.report.removed("comments");
        false
    }

    fn instruction(&mut self, _target: &[u8]) -> bool {
        self.report.removed("processing instructions (XMP)");
        false
    }
}

/// Strips an SVG held in memory.
#[cfg(feature = "formats")]
pub fn strip(data: &[u8]) -> Result<(Vec<u8>, Report), StripError> {
    let mut report = Report::new(FORMAT);
    let out = xml::rewrite(
        data,
        &mut Drawing {
            report: &mut report,
        },
        || err("is not well-formed XML"),
        err,
    )?;
    Ok((out, report))
}

#[cfg(all(test, feature = "formats"))]
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
        // A byte-order mark stays, and shifts nothing (a fuzzer's find).
        let with_bom = [&b"\xEF\xBB\xBF"[..], svg].concat();
        let (out_bom, _) = strip(&with_bom).unwrap();
        assert_eq!(out_bom, [&b"\xEF\xBB\xBF"[..], &out].concat());
    }

    #[test]
    fn broken_or_entity_declaring_svg_is_refused() {
        assert!(strip(b"<svg><g></svg>").is_err());
        assert!(strip(b"<svg>").is_err());
        assert!(strip(b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg>&a;</svg>").is_err());
        assert!(strip(b"<html/>").is_err());
        assert!(strip(b"<svg/><svg/>").is_err());
        // A root in another namespace (a fuzzer's find): refused, not emptied.
        assert!(strip(b"<svg xmlns='http://www.w0.org/2000/svg'><g/></svg>").is_err());
    }
}
