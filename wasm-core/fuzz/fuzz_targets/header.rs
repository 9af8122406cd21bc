//! Header and metadata parsing on arbitrary bytes: must never panic, and
//! whatever parses must serialise back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_core::metadata::Metadata;
use veil_core::{Header, Link, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::parse(data) {
        assert_eq!(&h.to_bytes()[..], &data[..HEADER_LEN]);
    }
    if let Some(m) = Metadata::decode(data) {
        let again = m.encode().expect("decoded metadata re-encodes");
        assert_eq!(Metadata::decode(&again).as_ref(), Some(&m));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(link) = Link::parse_fragment(s) {
            assert_eq!(link.fragment().as_str(), s.strip_prefix('#').unwrap_or(s));
        }
    }
});
