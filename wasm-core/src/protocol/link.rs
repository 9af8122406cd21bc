//! Share links (`ORIGIN/d/ID#FRAGMENT`) and deletion links
//! (`ORIGIN/x/ID#TOKEN`): built and parsed here for every client. The
//! API is always at the link's own origin (FORMAT.md, "Links").

use super::{BlobId, DELETE_PREFIX, SHARE_PREFIX};

/// Why a link did not parse (shown to users as "incomplete or wrong").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not `http://` or `https://` followed by a host.
    #[error("the link does not start with http:// or https:// and a host")]
    Origin,
    /// The path is not `/d/ID` (or `/x/ID`) with a well-formed id.
    #[error("the link does not point to a Veil file")]
    Path,
    /// Nothing after `#`: the key (or token) is missing.
    #[error("the link is incomplete: the part after # is missing")]
    Fragment,
}

/// A link to share: where the page is, which blob, and the fragment that
/// holds the key (never sent to the server).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShareLink {
    /// `scheme://host[:port]`, no trailing slash.
    pub origin: String,
    /// The blob.
    pub id: BlobId,
    /// What follows `#` (see [`crate::Link::parse_fragment`]).
    pub fragment: String,
}

/// A link that deletes a blob early.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeletionLink {
    /// `scheme://host[:port]`, no trailing slash.
    pub origin: String,
    /// The blob.
    pub id: BlobId,
    /// The deletion token (base64url).
    pub token: String,
}

/// Splits `ORIGIN PREFIX ID # FRAGMENT`.
fn split<'a>(link: &'a str, prefix: &str) -> Result<(&'a str, BlobId, &'a str), LinkError> {
    // ASCII whitespace only: str::trim would bring Unicode tables into the page.
    let link = link.trim_matches(|c: char| c.is_ascii_whitespace());
    let (url, fragment) = link.split_once('#').ok_or(LinkError::Fragment)?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(LinkError::Origin)?;
    let host_len = rest.find('/').ok_or(LinkError::Path)?;
    if host_len == 0
        || rest
            .get(..host_len)
            .is_some_and(|h| h.contains(['@', '?', '\\']))
    {
        return Err(LinkError::Origin);
    }
    let origin_len = url.len() - rest.len() + host_len;
    // `get`, not `split_at`: no panic path (and its formatting) in the page.
    let (origin, path) = url
        .get(..origin_len)
        .zip(url.get(origin_len..))
        .ok_or(LinkError::Origin)?;
    let id = path
        .strip_prefix(prefix)
        .and_then(BlobId::parse)
        .ok_or(LinkError::Path)?;
    if fragment.is_empty() {
        return Err(LinkError::Fragment);
    }
    Ok((origin, id, fragment))
}

impl ShareLink {
    /// Parses a share link.
    pub fn parse(link: &str) -> Result<Self, LinkError> {
        let (origin, id, fragment) = split(link, SHARE_PREFIX)?;
        Ok(Self {
            origin: origin.to_owned(),
            id,
            fragment: fragment.to_owned(),
        })
    }
}

impl DeletionLink {
    /// Parses a deletion link.
    pub fn parse(link: &str) -> Result<Self, LinkError> {
        let (origin, id, token) = split(link, DELETE_PREFIX)?;
        Ok(Self {
            origin: origin.to_owned(),
            id,
            token: token.to_owned(),
        })
    }
}

impl std::fmt::Display for ShareLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{SHARE_PREFIX}{}#{}",
            self.origin, self.id, self.fragment
        )
    }
}

impl std::fmt::Display for DeletionLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{DELETE_PREFIX}{}#{}",
            self.origin, self.id, self.token
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn share_links_round_trip() {
        let text = format!("https://v.example:8443/d/{ID}#abc.def");
        let l = ShareLink::parse(&text).unwrap();
        assert_eq!(l.origin, "https://v.example:8443");
        assert_eq!(l.id.to_string(), ID);
        assert_eq!(l.fragment, "abc.def");
        assert_eq!(l.to_string(), text);
        let d = DeletionLink::parse(&format!("http://127.0.0.1:8080/x/{ID}#tok")).unwrap();
        assert_eq!(
            (d.origin.as_str(), d.token.as_str()),
            ("http://127.0.0.1:8080", "tok")
        );
    }

    #[test]
    fn malformed_links_are_refused_with_a_reason() {
        for (bad, why) in [
            ("https://v/d/AAAA#x".to_owned(), LinkError::Path),
            (format!("https://v/d/{ID}"), LinkError::Fragment),
            (format!("https://v/d/{ID}#"), LinkError::Fragment),
            (format!("v/d/{ID}#x"), LinkError::Origin),
            (format!("ftp://v/d/{ID}#x"), LinkError::Origin),
            (format!("https:///d/{ID}#x"), LinkError::Origin),
            (format!("https://user@v/d/{ID}#x"), LinkError::Origin),
            (format!("https://v/x/{ID}#x"), LinkError::Path),
            (format!("https://v/d/{ID}/more#x"), LinkError::Path),
        ] {
            assert_eq!(ShareLink::parse(&bad), Err(why), "{bad}");
        }
    }
}
