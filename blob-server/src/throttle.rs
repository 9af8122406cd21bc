//! Bounds online guessing of download proofs (that is, of passwords)
//! **per blob**, without ever locking out the recipient and without
//! knowing who anyone is (no addresses are kept).
//!
//! A refusal that does not look at the proof would refuse the recipient
//! along with the guesser; a refusal that does look at it would tell the
//! guesser whether the guess was right. So instead of refusing, the server
//! asks for work: after [`FREE_FAILURES`] wrong proofs within
//! [`FORGET_AFTER`], each attempt on the blob must carry a proof of work
//! bound to the very proof it presents ([`veil_core::work`]). The work
//! starts at [`BASE_BITS`] and doubles with each further wrong proof, up to
//! [`veil_core::work::MAX_BITS`]: the recipient pays it once (a fraction of
//! a second with WebAssembly; minutes in the page's JavaScript build without
//! a JIT, docs/API.md), a guesser pays it for every guess.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use veil_core::work::MAX_BITS;

use crate::ids::Slot;

/// Wrong proofs allowed before work is required.
pub const FREE_FAILURES: u32 = 5;
/// Work asked for after the free failures, in leading zero bits.
pub const BASE_BITS: u8 = 12;
/// Failures older than this (since the last one) are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Entries kept at most (oldest dropped first), bounding memory.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    failures: u32,
    last: Instant,
}

/// Gates: one proof check at a time per blob (striped: blobs share
/// [`GATES`] locks). Many attempts sent at once then meet the count the
/// earlier ones raised, instead of all being checked for free; honest
/// downloads of one blob at once only queue for the claim (milliseconds),
/// never for the transfer.
pub const GATES: usize = 256;

/// Per-blob failure counters, in memory only.
pub struct Throttle {
    /// A std mutex: held for a few instructions, never across an await.
    map: Mutex<HashMap<Slot, Entry>>,
    gates: Vec<tokio::sync::Mutex<()>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            map: Mutex::default(),
            gates: (0..GATES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl Throttle {
    /// Waits for `slot`'s gate: hold it from reading [`Self::required_bits`]
    /// until the proof was checked and counted.
    pub async fn gate(&self, slot: &Slot) -> tokio::sync::MutexGuard<'_, ()> {
        let [first, ..] = slot.0;
        // GATES is 256: every byte value names a gate.
        match self.gates.get(usize::from(first) % GATES) {
            Some(g) => g.lock().await,
            None => unreachable!("GATES covers every byte value"),
        }
    }

    /// The work an attempt on `slot` must carry now (0: none).
    pub fn required_bits(&self, slot: &Slot, now: Instant) -> u8 {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(slot) {
            Some(e) if now.saturating_duration_since(e.last) < FORGET_AFTER => {
                bits_after(e.failures)
            }
            _ => 0,
        }
    }

    /// Records a wrong proof.
    pub fn failed(&self, slot: &Slot, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES && !map.contains_key(slot) {
            if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        let e = map.entry(*slot).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(e.last) >= FORGET_AFTER {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last = now;
    }

    /// Forgets a blob after a right proof.
    pub fn succeeded(&self, slot: &Slot) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(slot);
    }

    /// Drops forgotten entries (called by the sweeper).
    pub fn prune(&self, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
    }
}

/// Work after `failures` wrong proofs.
fn bits_after(failures: u32) -> u8 {
    match failures.checked_sub(FREE_FAILURES) {
        None => 0,
        Some(extra) => {
            let extra = u8::try_from(extra).unwrap_or(u8::MAX);
            BASE_BITS.saturating_add(extra).min(MAX_BITS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_starts_after_the_free_failures_and_is_capped() {
        let t = Throttle::default();
        let slot = Slot([1; 32]);
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed(&slot, now);
            assert_eq!(t.required_bits(&slot, now), 0);
        }
        t.failed(&slot, now);
        assert_eq!(t.required_bits(&slot, now), BASE_BITS);
        t.failed(&slot, now);
        assert_eq!(t.required_bits(&slot, now), BASE_BITS + 1);
        for _ in 0..100 {
            t.failed(&slot, now);
        }
        assert_eq!(t.required_bits(&slot, now), MAX_BITS);
        // Other blobs are unaffected; time forgets; a right proof forgets.
        assert_eq!(t.required_bits(&Slot([2; 32]), now), 0);
        assert_eq!(t.required_bits(&slot, now + FORGET_AFTER), 0);
        t.succeeded(&slot);
        assert_eq!(t.required_bits(&slot, now), 0);
    }
}
