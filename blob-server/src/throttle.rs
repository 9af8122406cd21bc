//! Slows down repeated wrong download proofs **per blob** (never per
//! client: the server keeps no client addresses), so a password-protected
//! blob cannot serve as a fast online password oracle.
//!
//! After [`FREE_FAILURES`] wrong proofs, each further attempt must wait
//! `2^(n - FREE_FAILURES)` seconds (capped at an hour) after the previous
//! failure; attempts inside the wait are refused with 429 without checking
//! the proof, so they consume nothing and teach nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::BlobId;

/// Wrong proofs allowed before waits begin.
pub const FREE_FAILURES: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Entries kept at most (oldest dropped first), bounding memory.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    failures: u32,
    until: Instant,
}

/// Per-blob failure counters, in memory only.
#[derive(Default)]
pub struct Throttle {
    /// A std mutex: held for a few instructions, never across an await.
    map: Mutex<HashMap<BlobId, Entry>>,
}

impl Throttle {
    /// `Err(seconds to wait)` if attempts on `id` are currently refused.
    pub fn check(&self, id: &BlobId, now: Instant) -> Result<(), u64> {
        let map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(id) {
            Some(e) if e.until > now => Err((e.until - now).as_secs().max(1)),
            _ => Ok(()),
        }
    }

    /// Records a wrong proof.
    pub fn failed(&self, id: &BlobId, now: Instant) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES && !map.contains_key(id) {
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.until).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        let e = map.entry(*id).or_insert(Entry {
            failures: 0,
            until: now,
        });
        e.failures = e.failures.saturating_add(1);
        let wait = match e.failures.checked_sub(FREE_FAILURES) {
            None | Some(0) => Duration::ZERO,
            Some(n) => Duration::from_secs(1u64 << n.min(12)).min(MAX_WAIT),
        };
        e.until = now + wait;
    }

    /// Forgets a blob after a right proof.
    pub fn succeeded(&self, id: &BlobId) {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    /// Drops entries whose wait ended long ago (called by the sweeper).
    pub fn prune(&self, now: Instant) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, e| e.until + MAX_WAIT > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures() {
        let t = Throttle::default();
        let id = BlobId::from_bytes([1; 16]);
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(t.check(&id, now).is_ok());
            t.failed(&id, now);
        }
        assert!(t.check(&id, now).is_ok(), "free failures have no wait");
        t.failed(&id, now);
        assert_eq!(t.check(&id, now), Err(2));
        assert!(t.check(&id, now + Duration::from_secs(2)).is_ok());
        t.failed(&id, now + Duration::from_secs(2));
        assert_eq!(t.check(&id, now + Duration::from_secs(2)), Err(4));
        t.succeeded(&id);
        assert!(t.check(&id, now).is_ok());
        // Other blobs are unaffected.
        assert!(t.check(&BlobId::from_bytes([2; 16]), now).is_ok());
    }
}
