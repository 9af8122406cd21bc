//! Retention options of a new blob (expiry, download limit, proof
//! verifier), parsed and bounded in one place however they arrive: `Veil-*`
//! headers on a one-request upload, or tus `Upload-Metadata`.

use axum::http::HeaderMap;

use crate::config::Settings;
use crate::error::ApiError;
use crate::ids::Digest32;

use veil_core::protocol::header::{EXPIRES_IN, MAX_DOWNLOADS, PROOF_HASH};

/// Blob options, however they arrived.
#[derive(Clone, Copy)]
pub struct Options {
    /// Seconds to live, already capped at the server's maximum.
    pub expires_in: u64,
    /// Download limit, 0 = unlimited (never asked for: absent means unlimited).
    pub max_downloads: u32,
    /// SHA-256 of the download proof.
    pub proof_hash: Option<Digest32>,
}

/// Parses a plain decimal number: digits only, no sign, no spaces, at most 19 digits.
#[must_use]
pub fn number(v: &str) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

impl Options {
    /// Validates raw option values against the settings.
    pub fn parse(
        expires_in: Option<&str>,
        max_downloads: Option<&str>,
        proof_hash: Option<&str>,
        s: &Settings,
    ) -> Result<Self, ApiError> {
        let expires_in = match expires_in {
            None => s.default_expiry,
            Some(v) => number(v)
                .filter(|&n| n > 0)
                .ok_or(ApiError::BadRequest("invalid Veil-Expires-In"))?,
        }
        .min(s.max_expiry);
        let max_downloads = match max_downloads {
            None => 0,
            // 0 is refused: "unlimited" is said by leaving the option out.
            Some(v) => number(v)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| (1..=s.max_downloads).contains(&n))
                .ok_or(ApiError::BadRequest("invalid Veil-Max-Downloads"))?,
        };
        let proof_hash = match proof_hash {
            None => None,
            Some(v) => {
                Some(Digest32::parse(v).ok_or(ApiError::BadRequest("invalid Veil-Proof-Hash"))?)
            }
        };
        Ok(Self {
            expires_in,
            max_downloads,
            proof_hash,
        })
    }

    /// From the `Veil-*` headers of a one-request upload.
    pub fn from_headers(h: &HeaderMap, s: &Settings) -> Result<Self, ApiError> {
        let get = |name: &str| -> Result<Option<&str>, ApiError> {
            h.get(name)
                .map(|v| {
                    v.to_str()
                        .map_err(|_| ApiError::BadRequest("header is not ASCII"))
                })
                .transpose()
        };
        Self::parse(get(EXPIRES_IN)?, get(MAX_DOWNLOADS)?, get(PROOF_HASH)?, s)
    }
}
