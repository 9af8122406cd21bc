//! Share links and deletion links: `https://host/d/ID#SECRET[.PARAMS]` and
//! `https://host/x/ID#TOKEN`. The server URL comes from the link itself.

use crate::exit::Failure;

/// A parsed link: server base URL, blob id, and what followed `#`.
pub struct ParsedLink {
    /// e.g. `https://veil.example`.
    pub server: String,
    /// The blob id.
    pub id: String,
    /// The fragment (secret, or deletion token).
    pub fragment: String,
}

/// Parses a share (`/d/`) or deletion (`/x/`) link.
pub fn parse(link: &str, kind: char) -> Result<ParsedLink, Failure> {
    let link = link.trim();
    let (url, fragment) = link.split_once('#').ok_or(Failure::BadLink)?;
    let scheme_end = url.find("://").ok_or(Failure::BadLink)? + 3;
    let path_start = url[scheme_end..]
        .find('/')
        .map(|p| p + scheme_end)
        .ok_or(Failure::BadLink)?;
    let (server, path) = url.split_at(path_start);
    let id = path
        .strip_prefix(&format!("/{kind}/"))
        .ok_or(Failure::BadLink)?;
    let valid_id = id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_id
        || fragment.is_empty()
        || !(server.starts_with("http://") || server.starts_with("https://"))
    {
        return Err(Failure::BadLink);
    }
    Ok(ParsedLink {
        server: server.to_owned(),
        id: id.to_owned(),
        fragment: fragment.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_share_links() {
        let l = parse("https://v.example:8443/d/AAAAAAAAAAAAAAAAAAAAAA#abc", 'd')
            .ok()
            .unwrap();
        assert_eq!(l.server, "https://v.example:8443");
        assert_eq!(l.id, "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(l.fragment, "abc");
        for bad in [
            "https://v/d/AAAA#x",
            "https://v/d/AAAAAAAAAAAAAAAAAAAAAA",
            "v/d/AAAAAAAAAAAAAAAAAAAAAA#x",
            "https://v/x/AAAAAAAAAAAAAAAAAAAAAA#x",
        ] {
            assert!(parse(bad, 'd').is_err(), "{bad}");
        }
    }
}
