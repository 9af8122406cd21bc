//! The link and its key: new links, unlocking with a password, the
//! download proof, and the proof of work a server may ask for.

use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::js_err;
use crate::keys::{FileKey, Link};

/// A fresh link fragment (the part after `#`); with `withPassword` it also
/// carries the Argon2id parameters the password will be hashed with.
#[cfg(feature = "send")]
#[wasm_bindgen(js_name = newLink)]
pub fn new_link(with_password: bool) -> Result<String, JsError> {
    let kdf = with_password.then_some(crate::keys::Argon2Params::DEFAULT);
    let link = Link::generate(kdf).map_err(js_err)?;
    Ok(link.fragment().to_string())
}

/// Whether a fragment is well formed and needs a password.
/// Throws for an incomplete or malformed fragment.
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = linkNeedsPassword)]
pub fn link_needs_password(fragment: &str) -> Result<bool, JsError> {
    Ok(Link::parse_fragment(fragment)
        .map_err(js_err)?
        .needs_password())
}

/// The default record size (64 KiB).
#[cfg(feature = "send")]
#[wasm_bindgen(js_name = defaultRecordSize)]
pub fn default_record_size() -> u32 {
    crate::format::DEFAULT_RECORD_SIZE
}

/// Solves the proof of work a server asked for (`Veil-Work-Bits`) for one
/// download attempt; the answer goes in the `Veil-Work` header (decimal).
/// A number, not a string: no formatting code in the module. Nonces stay
/// far below 2^53 (at the maximum difficulty a solve takes about 2^20
/// tries; 2^53 would take longer than the age of the universe).
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = solveWork)]
pub fn solve_work(id: &str, proof: &str, bits: u8) -> f64 {
    // Exact below 2^53, see above.
    #[allow(clippy::cast_precision_loss)]
    let n = crate::work::solve(id, proof, bits) as f64;
    n
}

/// Solves an upload challenge (`Veil-Work-Challenge` with
/// `Veil-Work-Bits` on a `429` to an upload's creation, or to a report);
/// the answer goes in `Veil-Work` as `CHALLENGE NONCE`. Exact below 2^53,
/// as above.
#[cfg(any(feature = "send", feature = "receive"))]
#[wasm_bindgen(js_name = solveUploadWork)]
pub fn solve_upload_work(challenge: &str, bits: u8) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = crate::work::solve_upload(challenge, bits) as f64;
    n
}

/// Seals a reported link's fragment (and the password it was opened with)
/// to the operator's public key from `/api/v1/config` (FORMAT.md, "Sealed
/// report keys"); base64url, for the report's `key` field.
#[cfg(feature = "receive")]
#[wasm_bindgen(js_name = sealReportKey)]
pub fn seal_report_key(
    operator_public: &str,
    blob_id: &str,
    fragment: &str,
    password: Option<String>,
) -> Result<String, JsError> {
    crate::report::seal_base64(operator_public, blob_id, fragment, password.as_deref())
        .map_err(super::js_err)
}

/// The file key: a link fragment unlocked with its password, if any.
#[wasm_bindgen]
pub struct Key {
    pub(super) inner: FileKey,
}

#[wasm_bindgen]
impl Key {
    /// Parses `fragment` and, for password links, runs Argon2id on
    /// `password` (NFC-normalised by the core: pass it as typed).
    pub fn unlock(fragment: &str, password: Option<String>) -> Result<Key, JsError> {
        let link = Link::parse_fragment(fragment).map_err(js_err)?;
        let password = password.map(Zeroizing::new);
        let inner = link
            .unlock(password.as_ref().map(|p| p.as_str()))
            .map_err(js_err)?;
        Ok(Key { inner })
    }

    /// The download proof, base64url (the `Veil-Proof` request header).
    #[cfg(feature = "receive")]
    pub fn proof(&self) -> String {
        self.inner.download_proof().to_base64().to_string()
    }

    /// SHA-256 of the proof, base64url (the `Veil-Proof-Hash` upload option).
    #[cfg(feature = "send")]
    #[wasm_bindgen(js_name = proofHash)]
    pub fn proof_hash(&self) -> String {
        self.inner.download_proof().verifier_base64()
    }
}
