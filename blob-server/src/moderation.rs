//! Moderation without identities: what a report, a removal and a public
//! counter are, in one place, for both engines, the handlers and the
//! operator's tools (docs/API.md, "Reports" and "Transparency").
//!
//! A report keeps its category, its bounded text, the day it came (not the
//! second: nothing to line up with a proxy's log), the blob's slot (a hash
//! of the id, as every record) and, if the reporter chose, the link's key
//! sealed on the reporter's machine to the operator's public key
//! ([`veil_core::report`]): the server can open none of it. Nothing about
//! the reporter exists to be stored. A removal keeps the slot, the
//! operator's reason and the day, for ever: the blob's page then says it
//! was removed after a report instead of "not found".

use serde::{Deserialize, Serialize};
use veil_core::report::Category;

use crate::ids::Slot;

/// Seconds in a day: report and removal times are kept to the day.
pub const DAY: u64 = 86_400;

/// `t` rounded down to its day.
#[must_use]
pub fn day_of(t: u64) -> u64 {
    t - t % DAY
}

/// A report's random id (16 bytes; base64url on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportId(pub [u8; 16]);

impl ReportId {
    /// A fresh id from the CSPRNG.
    pub fn generate() -> std::io::Result<Self> {
        let mut b = [0u8; 16];
        crate::ids::random(&mut b)?;
        Ok(Self(b))
    }

    /// Parses the base64url form.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        use base64::Engine as _;
        let v = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        Some(Self(v.try_into().ok()?))
    }
}

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use base64::Engine as _;
        f.write_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportState {
    /// Not decided yet.
    Open,
    /// The blob was removed.
    Actioned,
    /// Reviewed and left up.
    Dismissed,
}

/// One report, as stored and as the operator's tools see it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Report {
    /// Its id (base64url).
    pub id: String,
    /// The reported blob's slot (hex): a hash of its id, never the id.
    pub slot: String,
    /// The category's wire name ([`Category::as_str`]).
    pub category: String,
    /// The reporter's words (bounded, [`veil_core::report::text_is_valid`]).
    pub text: String,
    /// The sealed key (base64url), if the reporter included it.
    pub key: Option<String>,
    /// The day it came (Unix seconds, midnight UTC).
    pub received: u64,
    /// Where it stands.
    pub state: ReportState,
    /// The operator's reason, once decided.
    pub decision: Option<String>,
    /// The day it was decided.
    pub decided: Option<u64>,
}

impl Report {
    /// A new, open report.
    #[must_use]
    pub fn new(
        id: ReportId,
        slot: &Slot,
        category: Category,
        text: String,
        key: Option<String>,
        now: u64,
    ) -> Self {
        Self {
            id: id.to_string(),
            slot: hex(&slot.0),
            category: category.as_str().to_owned(),
            text,
            key,
            received: day_of(now),
            state: ReportState::Open,
            decision: None,
            decided: None,
        }
    }

    /// The slot this report names, if its text form is sound.
    #[must_use]
    pub fn slot(&self) -> Option<Slot> {
        parse_hex(&self.slot).map(Slot)
    }

    /// Stored form.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses the stored form.
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        serde_json::from_slice(b).ok()
    }
}

/// A blob removed by the operator.
#[derive(Clone, Serialize, Deserialize)]
pub struct Removal {
    /// The blob's slot (hex).
    pub slot: String,
    /// The operator's reason.
    pub reason: String,
    /// The day it was removed.
    pub removed: u64,
}

impl Removal {
    /// Stored form.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses the stored form.
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        serde_json::from_slice(b).ok()
    }
}

/// Longest operator reason, in bytes.
pub const MAX_REASON: usize = 500;

/// What a decision on a report, or a removal, did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Done.
    Done,
    /// No such report (or no such blob, for a removal by id).
    Unknown,
    /// The report was decided already.
    AlreadyDecided,
}

/// The public counters. Each is a total since the service's first start,
/// except [`Counter::LegalRequests`], which the operator sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Blobs stored (uploads completed).
    Uploads,
    /// Downloads served (ranges of a share included, looks not).
    Downloads,
    /// Blobs deleted with their deletion link.
    DeletedByOwner,
    /// Blobs that expired.
    Expired,
    /// Blobs removed by their last permitted download.
    Burned,
    /// Blobs removed by the operator.
    RemovedByOperator,
    /// Reports received.
    ReportsReceived,
    /// Reports on which the blob was removed.
    ReportsActioned,
    /// Reports dismissed.
    ReportsDismissed,
    /// Legal requests received (set by the operator).
    LegalRequests,
    /// The day counting began (Unix seconds), written once.
    Since,
}

impl Counter {
    /// Every counter.
    pub const ALL: [Self; 11] = [
        Self::Uploads,
        Self::Downloads,
        Self::DeletedByOwner,
        Self::Expired,
        Self::Burned,
        Self::RemovedByOperator,
        Self::ReportsReceived,
        Self::ReportsActioned,
        Self::ReportsDismissed,
        Self::LegalRequests,
        Self::Since,
    ];

    /// Its stored name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Uploads => "uploads",
            Self::Downloads => "downloads",
            Self::DeletedByOwner => "deleted_by_owner",
            Self::Expired => "expired",
            Self::Burned => "burned",
            Self::RemovedByOperator => "removed_by_operator",
            Self::ReportsReceived => "reports_received",
            Self::ReportsActioned => "reports_actioned",
            Self::ReportsDismissed => "reports_dismissed",
            Self::LegalRequests => "legal_requests",
            Self::Since => "since",
        }
    }
}

/// Every counter's value (absent ones are 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub std::collections::HashMap<&'static str, u64>);

impl Counters {
    /// One counter's value.
    #[must_use]
    pub fn get(&self, c: Counter) -> u64 {
        self.0.get(c.name()).copied().unwrap_or(0)
    }
}

/// What is stored now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Live blobs.
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bytes announced by unfinished uploads (reserved against the quota).
    pub reserved: u64,
}

/// Lowercase hex.
#[must_use]
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// Parses 64 lowercase or uppercase hex digits.
#[must_use]
pub fn parse_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip() {
        let slot = Slot([7; 32]);
        let id = ReportId([9; 16]);
        let r = Report::new(id, &slot, Category::Phishing, "x".into(), None, DAY * 3 + 5);
        assert_eq!(r.received, DAY * 3);
        let back = Report::decode(&r.encode()).unwrap();
        assert!(back.slot() == Some(slot));
        assert!(ReportId::parse(&back.id) == Some(id));
        assert!(parse_hex("zz").is_none());
        assert!(ReportId::parse("short").is_none());
    }
}
