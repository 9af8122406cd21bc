//! tus `Upload-Metadata`: the pairs Veil's options travel in
//! (`expires_in`, `max_downloads`, `proof_hash`, values standard base64),
//! written by the clients and read by the server, here only.

/// Upload options as a client sends them (validated by the server).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadOptions {
    /// Seconds to live.
    pub expires_in: Option<u64>,
    /// Download limit (at least 1; `None` for unlimited).
    pub max_downloads: Option<u32>,
    /// SHA-256 of the download proof, base64url.
    pub proof_hash: Option<String>,
}

/// Raw option texts as the server received them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawOptions {
    /// `expires_in`, if sent.
    pub expires_in: Option<String>,
    /// `max_downloads`, if sent.
    pub max_downloads: Option<String>,
    /// `proof_hash`, if sent.
    pub proof_hash: Option<String>,
}

/// `Upload-Metadata` that is not `key base64,key base64,…` of UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid Upload-Metadata")]
pub struct MetadataError;

/// Decimal digits of `n` (no formatting machinery: this runs in the page).
fn decimal(mut n: u64) -> String {
    let mut digits = Vec::with_capacity(20);
    loop {
        // A digit: below 10 by construction.
        #[allow(clippy::cast_possible_truncation)]
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// The `Upload-Metadata` value for `options`.
#[must_use]
pub fn upload_metadata(options: &UploadOptions) -> String {
    let pair = |key: &str, value: &str| {
        String::from(key) + " " + &crate::b64::encode_standard(value.as_bytes())
    };
    let mut pairs = Vec::new();
    if let Some(e) = options.expires_in {
        pairs.push(pair("expires_in", &decimal(e)));
    }
    if let Some(d) = options.max_downloads {
        pairs.push(pair("max_downloads", &decimal(u64::from(d))));
    }
    if let Some(p) = &options.proof_hash {
        pairs.push(pair("proof_hash", p));
    }
    pairs.join(",")
}

/// Reads Veil's keys from an `Upload-Metadata` value. Unknown keys (tus
/// clients like to send `filename`) are ignored and never stored.
pub fn parse_upload_metadata(value: &str) -> Result<RawOptions, MetadataError> {
    let mut out = RawOptions::default();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = crate::b64::decode_standard(encoded.trim()).ok_or(MetadataError)?;
        let text = String::from_utf8(bytes).map_err(|_| MetadataError)?;
        match key {
            "expires_in" => out.expires_in = Some(text),
            "max_downloads" => out.max_downloads = Some(text),
            "proof_hash" => out.proof_hash = Some(text),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_ignores_unknown_keys() {
        let opts = UploadOptions {
            expires_in: Some(3600),
            max_downloads: Some(1),
            proof_hash: Some("abc_-".into()),
        };
        let text = upload_metadata(&opts);
        assert_eq!(
            text,
            "expires_in MzYwMA==,max_downloads MQ==,proof_hash YWJjXy0="
        );
        let raw = parse_upload_metadata(&format!("{text},filename ZS5qcGc=,flag")).unwrap();
        assert_eq!(raw.expires_in.as_deref(), Some("3600"));
        assert_eq!(raw.max_downloads.as_deref(), Some("1"));
        assert_eq!(raw.proof_hash.as_deref(), Some("abc_-"));
        assert_eq!(parse_upload_metadata("expires_in !!!"), Err(MetadataError));
        assert_eq!(
            parse_upload_metadata("expires_in /w=="),
            Err(MetadataError),
            "not UTF-8"
        );
        assert_eq!(upload_metadata(&UploadOptions::default()), "");
    }
}
