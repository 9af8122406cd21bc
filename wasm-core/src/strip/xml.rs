//! The one XML rewriter the cleaners share (SVG, Office and OpenDocument
//! parts): a streaming walk with `quick-xml` that copies every piece of
//! markup it keeps byte for byte, and asks a [`Policy`] which elements
//! (with their subtrees), attributes, comments and processing instructions
//! stay. A start tag is rebuilt only when one of its attributes goes.
//!
//! Fail closed: markup that does not parse, mismatched or unclosed tags,
//! several roots, nesting deeper than 256, or a DOCTYPE declaring its own
//! entities (what they expand to would need a DTD processor) is an error.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::StripError;

const MAX_DEPTH: usize = 256;

/// The namespace declarations in scope: (prefix, URI), innermost last;
/// an empty prefix is the default namespace.
#[derive(Default)]
pub(crate) struct Scopes {
    bindings: Vec<(Vec<u8>, Vec<u8>)>,
    /// How many bindings each open element added.
    added: Vec<usize>,
}

impl Scopes {
    /// The URI a prefix (empty: the default namespace) is bound to.
    pub(crate) fn resolve(&self, prefix: &[u8]) -> Option<&[u8]> {
        if prefix == b"xml" {
            return Some(b"http://www.w3.org/XML/1998/namespace");
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_slice())
    }

    fn push(&mut self, start: &BytesStart<'_>, err: fn() -> StripError) -> Result<(), StripError> {
        let mut added = 0;
        for a in start.attributes() {
            let a = a.map_err(|_| err())?;
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

/// The value of attribute `key` of `tag`, as written (still escaped).
pub(crate) fn attribute<'t>(
    tag: &'t BytesStart<'_>,
    key: &[u8],
) -> Option<std::borrow::Cow<'t, [u8]>> {
    tag.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .map(|a| a.value)
}

/// Splits `p:name` into (`p`, `name`); no prefix gives an empty one.
pub(crate) fn split(qname: &[u8]) -> (&[u8], &[u8]) {
    match qname.iter().position(|&c| c == b':') {
        Some(i) => (
            qname.get(..i).unwrap_or_default(),
            qname.get(i + 1..).unwrap_or_default(),
        ),
        None => (&[], qname),
    }
}

/// What happens to one attribute.
pub(crate) enum Attr {
    Keep,
    Drop,
    /// Keep the attribute with this (already escaped) value.
    Replace(&'static [u8]),
}

/// Decides what stays. `scopes` already holds the element's own
/// namespace declarations.
pub(crate) trait Policy {
    /// Whether the element (and its subtree) stays; `depth` 0 is the root.
    fn element(
        &mut self,
        scopes: &Scopes,
        tag: &BytesStart<'_>,
        depth: usize,
    ) -> Result<bool, StripError>;
    /// What happens to an attribute of a kept element (`value` as written).
    fn attribute(&mut self, scopes: &Scopes, element: &[u8], key: &[u8], value: &[u8]) -> Attr;
    /// Whether comments stay.
    fn comment(&mut self) -> bool;
    /// Whether a processing instruction (not the XML declaration) stays.
    fn instruction(&mut self, target: &[u8]) -> bool;
}

/// The start tag rebuilt with only the kept attributes; `None` when
/// nothing changed (then the original bytes are copied).
fn filter_attributes(
    scopes: &Scopes,
    start: &BytesStart<'_>,
    empty: bool,
    policy: &mut impl Policy,
    err: fn() -> StripError,
) -> Result<Option<Vec<u8>>, StripError> {
    let mut kept: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut changed = false;
    let name = start.name();
    for a in start.attributes() {
        let a = a.map_err(|_| err())?;
        match policy.attribute(scopes, name.as_ref(), a.key.as_ref(), &a.value) {
            Attr::Keep => kept.push((a.key.as_ref().to_vec(), a.value.into_owned())),
            Attr::Drop => changed = true,
            Attr::Replace(v) => {
                changed |= *a.value != *v;
                kept.push((a.key.as_ref().to_vec(), v.to_vec()));
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(start.len() + 2);
    out.push(b'<');
    out.extend_from_slice(name.as_ref());
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

/// Rewrites an XML document under `policy`. `err` makes the format's
/// "is not well-formed" error; other problems get their own wording
/// through `malformed`.
pub(crate) fn rewrite(
    data: &[u8],
    policy: &mut impl Policy,
    err: fn() -> StripError,
    malformed: fn(&'static str) -> StripError,
) -> Result<Vec<u8>, StripError> {
    // quick-xml skips a byte-order mark without counting it in its
    // positions: keep it aside so positions index `data`.
    let (bom, data) = match data.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (&b"\xEF\xBB\xBF"[..], rest),
        None => (&b""[..], data),
    };
    let mut reader = Reader::from_reader(data);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::with_capacity(data.len() + bom.len());
    out.extend_from_slice(bom);
    let mut scopes = Scopes::default();
    // Depth of open elements, and the depth at which a removed subtree began.
    let mut depth = 0usize;
    let mut skipping: Option<usize> = None;
    let mut root = false;
    loop {
        let from = usize::try_from(reader.buffer_position()).map_err(|_| err())?;
        let event = reader.read_event().map_err(|_| err())?;
        let to = usize::try_from(reader.buffer_position()).map_err(|_| err())?;
        let raw = data.get(from..to).ok_or_else(err)?;
        match event {
            // Every byte was seen by exactly one event, or the copy is wrong.
            Event::Eof if from == data.len() => break,
            Event::Eof => return Err(err()),
            Event::Start(ref s) | Event::Empty(ref s) => {
                let empty = matches!(event, Event::Empty(_));
                if depth >= MAX_DEPTH {
                    return Err(malformed("nests elements too deeply"));
                }
                scopes.push(s, err)?;
                if depth == 0 {
                    if root {
                        return Err(malformed("has more than one root element"));
                    }
                    root = true;
                }
                if skipping.is_none() {
                    if policy.element(&scopes, s, depth)? {
                        match filter_attributes(&scopes, s, empty, policy, err)? {
                            Some(tag) => out.extend_from_slice(&tag),
                            None => out.extend_from_slice(raw),
                        }
                    } else {
                        skipping = Some(depth);
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
                    .ok_or_else(|| malformed("closes a tag it never opened"))?;
                scopes.pop();
                if skipping.is_none() {
                    out.extend_from_slice(raw);
                } else if skipping == Some(depth) {
                    skipping = None;
                }
            }
            Event::Comment(_) => {
                if skipping.is_none() && policy.comment() {
                    out.extend_from_slice(raw);
                }
            }
            Event::PI(ref pi) => {
                if skipping.is_none() && policy.instruction(pi.target()) {
                    out.extend_from_slice(raw);
                }
            }
            Event::DocType(ref d) => {
                if d.contains(&b'[') {
                    return Err(malformed("declares its own entities"));
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
        return Err(malformed("ends before its root element is closed"));
    }
    Ok(out)
}
