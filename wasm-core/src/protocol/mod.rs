//! The HTTP protocol between clients and `blob-server`, defined once: the
//! API paths and header names, the id syntax, share and deletion links,
//! tus upload metadata, and what each download answer means. The server,
//! the CLI and (through the wasm exports) the page all use these; no
//! client spells a header or parses a link on its own. docs/API.md is the
//! prose form.

mod answer;
mod id;
mod link;
mod tus;

pub use answer::DownloadAnswer;
pub use id::{BlobId, ID_LEN};
pub use link::{DeletionLink, LinkError, ShareLink};
pub use tus::{parse_upload_metadata, upload_metadata, MetadataError, RawOptions, UploadOptions};

/// One-request uploads and, under it, each blob.
pub const BLOBS: &str = "/api/v1/blobs";
/// After a blob's path: its head (header and sealed metadata), fetched
/// with the proof without consuming a download.
pub const LOOK_SUFFIX: &str = "/head";
/// tus uploads and, under them, each upload.
pub const UPLOADS: &str = "/api/v1/uploads";
/// Abuse reports.
pub const REPORTS: &str = "/api/v1/reports";
/// The public counters.
pub const TRANSPARENCY: &str = "/api/v1/transparency";
/// The operator's API.
pub const ADMIN: &str = "/api/v1/admin";
/// The server's limits.
pub const CONFIG: &str = "/api/v1/config";
/// Where a share link points (the page opens `/d/{id}`).
pub const SHARE_PREFIX: &str = "/d/";
/// Where a deletion link points.
pub const DELETE_PREFIX: &str = "/x/";

/// Header names, lowercase (HTTP header names are case-insensitive; the
/// server's `HeaderName::from_static` needs lowercase).
pub mod header {
    /// Seconds to live (upload option).
    pub const EXPIRES_IN: &str = "veil-expires-in";
    /// Download limit (upload option).
    pub const MAX_DOWNLOADS: &str = "veil-max-downloads";
    /// SHA-256 of the download proof (upload option).
    pub const PROOF_HASH: &str = "veil-proof-hash";
    /// The download proof (download request).
    pub const PROOF: &str = "veil-proof";
    /// A proof of work's nonce, decimal (download request after a `429`).
    pub const WORK: &str = "veil-work";
    /// The work a download attempt must carry (a `429` answer).
    pub const WORK_BITS: &str = "veil-work-bits";
    /// The challenge an upload's creation must solve (a `429` answer).
    pub const WORK_CHALLENGE: &str = "veil-work-challenge";
    /// The blob's expiry, Unix seconds (answers).
    pub const EXPIRES_AT: &str = "veil-expires-at";
    /// Whether downloads need a proof, `0`/`1` (answers).
    pub const PROOF_REQUIRED: &str = "veil-proof-required";
    /// Downloads left after this one (answers for limited blobs).
    pub const DOWNLOADS_LEFT: &str = "veil-downloads-left";
    /// The future blob id of a tus upload (creation answer).
    pub const BLOB_ID: &str = "veil-blob-id";
    /// The deletion token of a tus upload (creation answer).
    pub const DELETE_TOKEN: &str = "veil-delete-token";
    /// tus: protocol version, on every tus request and answer.
    pub const TUS_RESUMABLE: &str = "tus-resumable";
    /// tus: bytes received so far.
    pub const UPLOAD_OFFSET: &str = "upload-offset";
    /// tus: the upload's total length.
    pub const UPLOAD_LENGTH: &str = "upload-length";
    /// tus: the upload's options.
    pub const UPLOAD_METADATA: &str = "upload-metadata";
    /// tus: when an unfinished upload is discarded.
    pub const UPLOAD_EXPIRES: &str = "upload-expires";
}

/// The tus version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// The content type of tus PATCH bodies.
pub const TUS_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Everything above as one JSON object, for the page (`protocol()` in the
/// wasm exports), so its JavaScript spells no path or header itself.
#[must_use]
pub fn as_json() -> String {
    use header::*;
    let pairs: [(&str, &str); 32] = [
        ("blobs", BLOBS),
        ("lookSuffix", LOOK_SUFFIX),
        ("uploads", UPLOADS),
        ("config", CONFIG),
        ("sharePrefix", SHARE_PREFIX),
        ("deletePrefix", DELETE_PREFIX),
        ("tusVersion", TUS_VERSION),
        ("tusContentType", TUS_CONTENT_TYPE),
        ("expiresIn", EXPIRES_IN),
        ("maxDownloads", MAX_DOWNLOADS),
        ("proofHash", PROOF_HASH),
        ("proof", PROOF),
        ("work", WORK),
        ("workBits", WORK_BITS),
        ("workChallenge", WORK_CHALLENGE),
        ("reports", REPORTS),
        ("transparency", TRANSPARENCY),
        ("expiresAt", EXPIRES_AT),
        ("proofRequired", PROOF_REQUIRED),
        ("downloadsLeft", DOWNLOADS_LEFT),
        ("blobId", BLOB_ID),
        ("deleteToken", DELETE_TOKEN),
        ("tusResumable", TUS_RESUMABLE),
        ("uploadOffset", UPLOAD_OFFSET),
        ("uploadLength", UPLOAD_LENGTH),
        ("uploadMetadata", UPLOAD_METADATA),
        ("uploadExpires", UPLOAD_EXPIRES),
        ("contentLength", "content-length"),
        ("authorization", "authorization"),
        ("location", "location"),
        ("range", "range"),
        ("contentRange", "content-range"),
    ];
    // Without `format!`: the page's module stays free of formatting code.
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for part in ["\"", k, "\":\"", v, "\""] {
            out.push_str(part);
        }
    }
    out.push('}');
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn the_json_is_an_object_of_the_constants() {
        let v: serde_json::Value = serde_json::from_str(&super::as_json()).unwrap();
        assert_eq!(v["proof"], super::header::PROOF);
        assert_eq!(v["uploads"], super::UPLOADS);
    }
}
