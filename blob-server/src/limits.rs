//! Abuse limits that need no address (docs/API.md, "Upload limits"): every
//! upload's creation passes [`Limits::admit`], which applies, in order,
//!
//! 1. optionally, a per-client count: uploads per hour keyed on an HMAC of
//!    the client's address under a key held only in memory and replaced
//!    every hour (the counts go with it); the address itself is never kept,
//!    logged or written ([`Clients`]);
//! 2. optionally, proof of work: a challenge the server hands out in a
//!    `429` and verifies with one HMAC and one hash; the difficulty rises
//!    with the uploads of the last minute ([`Limits::work_bits`]);
//! 3. the operator's global rates: uploads per minute and bytes per hour,
//!    counted in per-second and per-minute buckets (`503` with the wait);
//! 4. the storage quota (`507`), a running figure of stored and reserved
//!    bytes, resynchronised from the records at every sweep.
//!
//! Rates, work challenges and client counts are per instance and in memory
//! only; the quota's figure comes from the records, so with several
//! instances it is shared at each sweep, and between sweeps each instance
//! adds what it admitted itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::moderation::Usage;
use veil_core::work::MAX_BITS;

/// A challenge is good for this long after it was handed out.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(600);
/// Extra bits of work at full load (the uploads-per-minute reference).
pub const LOAD_BITS: u8 = 4;
/// Uploads per minute that count as "full load" when no rate is set.
const DEFAULT_REFERENCE: u32 = 60;
/// Spent challenges remembered at most (then new ones are refused as busy
/// until old ones lapse).
const MAX_SPENT: usize = 200_000;
/// Client keys remembered at most per hour.
const MAX_CLIENTS: usize = 200_000;

/// The operator's settings (all off by default).
#[derive(Debug, Clone, Default)]
pub struct LimitSettings {
    /// Uploads per minute, all clients together.
    pub uploads_per_minute: Option<u32>,
    /// Bytes per hour, all clients together (announced lengths).
    pub bytes_per_hour: Option<u64>,
    /// Bytes stored at most (blobs and unfinished uploads).
    pub quota: Option<u64>,
    /// Work asked of every upload's creation, in bits (raised with load).
    pub upload_work: Option<u8>,
    /// Uploads per hour per client (keyed on an HMAC of the address).
    pub per_client_per_hour: Option<u32>,
    /// Take the client's address from this request header (set by a
    /// proxy you trust) instead of the connection's.
    pub client_header: Option<String>,
}

/// What an admitted upload holds: its bytes count against the quota as
/// "in flight" until it is recorded (or fails, and is given back).
pub struct Reservation<'a> {
    limits: &'a Limits,
    bytes: u64,
    generation: u64,
    /// The bytes-per-hour bucket the bytes were counted in.
    tick: u64,
    recorded: bool,
}

impl Reservation<'_> {
    /// The upload is recorded with `actual` bytes (at most those reserved):
    /// the rest goes back to the quota and to the hour's byte count.
    pub fn recorded(mut self, actual: u64) {
        self.recorded = true;
        let unused = self.bytes.saturating_sub(actual);
        self.limits.give_back(self.generation, self.tick, unused);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.limits.inflight.fetch_sub(self.bytes, Ordering::SeqCst);
        if !self.recorded {
            // Failed: nothing was stored.
            self.limits
                .give_back(self.generation, self.tick, self.bytes);
        }
    }
}

/// Counts in a ring of `N` buckets of `width` each.
struct Ring<const N: usize> {
    width: Duration,
    buckets: [(u64, u64); N],
}

impl<const N: usize> Ring<N> {
    fn new(width: Duration) -> Self {
        Self {
            width,
            buckets: [(u64::MAX, 0); N],
        }
    }

    fn tick(&self, since: Duration) -> u64 {
        let w = self.width.as_millis().max(1);
        u64::try_from(since.as_millis() / w).unwrap_or(u64::MAX)
    }

    /// The total over the last `N` buckets.
    fn total(&self, now: u64) -> u64 {
        self.buckets
            .iter()
            .filter(|(t, _)| *t != u64::MAX && now.saturating_sub(*t) < N as u64)
            .map(|(_, n)| n)
            .sum()
    }

    fn sub(&mut self, at: u64, n: u64) {
        let i = usize::try_from(at % N as u64).unwrap_or(0);
        if let Some(b) = self.buckets.get_mut(i) {
            if b.0 == at {
                b.1 = b.1.saturating_sub(n);
            }
        }
    }

    fn add(&mut self, now: u64, n: u64) {
        let i = usize::try_from(now % N as u64).unwrap_or(0);
        if let Some(b) = self.buckets.get_mut(i) {
            if b.0 != now {
                *b = (now, 0);
            }
            b.1 = b.1.saturating_add(n);
        }
    }

    /// Seconds until the total over the window drops by at least `need`.
    fn wait_for(&self, now: u64, need: u64) -> u64 {
        let mut live: Vec<(u64, u64)> = self
            .buckets
            .iter()
            .copied()
            .filter(|(t, _)| *t != u64::MAX && now.saturating_sub(*t) < N as u64)
            .collect();
        live.sort_unstable();
        let mut freed = 0u64;
        for (t, n) in live {
            freed = freed.saturating_add(n);
            if freed >= need {
                let ticks = (t + N as u64).saturating_sub(now);
                return ticks.saturating_mul(self.width.as_secs().max(1)).max(1);
            }
        }
        (N as u64).saturating_mul(self.width.as_secs().max(1))
    }
}

struct Rates {
    uploads: Ring<60>,
    bytes: Ring<60>,
}

/// The per-client counts of the current hour, under that hour's key.
struct Clients {
    key: Zeroizing<[u8; 32]>,
    since: Instant,
    counts: HashMap<[u8; 16], u32>,
}

impl Clients {
    fn new(now: Instant) -> std::io::Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        crate::ids::random(key.as_mut())?;
        Ok(Self {
            key,
            since: now,
            counts: HashMap::new(),
        })
    }
}

/// What [`Limits::resync_start`] saw.
pub struct ResyncMark {
    added: u64,
    inflight: u64,
}

/// The limits' state (in memory).
pub struct Limits {
    settings: LimitSettings,
    start: Instant,
    rates: Mutex<Rates>,
    /// The quota's running figure: bytes recorded at the last resync...
    base: AtomicU64,
    /// ...plus bytes admitted since...
    added: AtomicU64,
    /// ...of which these are not recorded yet.
    inflight: AtomicU64,
    /// Resyncs so far: a reservation gives back only into its own.
    generation: AtomicU64,
    /// The key that signs challenges.
    work_key: Zeroizing<[u8; 32]>,
    /// Spent challenges and when they were handed out (Unix seconds).
    spent: Mutex<HashMap<[u8; 16], u64>>,
    clients: Mutex<Option<Clients>>,
}

/// A proof of work on an upload's creation: `CHALLENGE NONCE`.
pub struct UploadWork<'a> {
    /// The challenge, as handed out.
    pub challenge: &'a str,
    /// The nonce.
    pub nonce: u64,
}

impl UploadWork<'_> {
    /// Parses the `Veil-Work` header of an upload's creation.
    #[must_use]
    pub fn parse(v: &str) -> Option<UploadWork<'_>> {
        let (challenge, nonce) = v.trim().split_once(' ')?;
        Some(UploadWork {
            challenge,
            nonce: nonce.trim().parse().ok()?,
        })
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Limits {
    /// Limits with `settings`; `work_key` signs challenges (shared by every
    /// instance of the shared engine, random for the local one).
    pub fn new(settings: LimitSettings, work_key: [u8; 32]) -> Self {
        let now = Instant::now();
        Self {
            settings,
            start: now,
            rates: Mutex::new(Rates {
                uploads: Ring::new(Duration::from_secs(1)),
                bytes: Ring::new(Duration::from_secs(60)),
            }),
            base: AtomicU64::new(0),
            added: AtomicU64::new(0),
            inflight: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            work_key: Zeroizing::new(work_key),
            spent: Mutex::default(),
            clients: Mutex::new(None),
        }
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    /// Whether uploads are limited per client (the server then needs each
    /// request's address, [`crate::serve`]).
    #[must_use]
    pub fn per_client(&self) -> bool {
        self.settings.per_client_per_hour.is_some()
    }

    /// Call before reading the records' usage for [`Self::resync`].
    #[must_use]
    pub fn resync_start(&self) -> ResyncMark {
        ResyncMark {
            added: self.added.load(Ordering::SeqCst),
            inflight: self.inflight.load(Ordering::SeqCst),
        }
    }

    /// Resets the quota's figure to what the records hold (`usage`, read
    /// after `mark` was taken), keeping what was admitted since the mark
    /// and what was in flight at it (which the read may have missed): on
    /// doubt, counted twice, never lost.
    pub fn resync(&self, mark: ResyncMark, usage: Usage) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let _ = self
            .added
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| {
                Some(a.saturating_sub(mark.added).saturating_add(mark.inflight))
            });
        self.base
            .store(usage.bytes.saturating_add(usage.reserved), Ordering::SeqCst);
    }

    /// Bytes counted against the quota now.
    #[must_use]
    pub fn used(&self) -> u64 {
        self.base
            .load(Ordering::SeqCst)
            .saturating_add(self.added.load(Ordering::SeqCst))
    }

    fn give_back(&self, generation: u64, tick: u64, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.rates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
            .sub(tick, bytes);
        // After a resync the records say what is stored: nothing to undo.
        if self.generation.load(Ordering::SeqCst) == generation {
            let _ = self
                .added
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| {
                    Some(a.saturating_sub(bytes))
                });
        }
    }

    fn ticks(&self, now: Instant) -> (u64, u64) {
        let since = now.saturating_duration_since(self.start);
        let r = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        (r.uploads.tick(since), r.bytes.tick(since))
    }

    /// The work asked of an upload's creation now (0: none): the base,
    /// plus up to [`LOAD_BITS`] as the last minute's uploads approach the
    /// uploads-per-minute rate (or 60 a minute without one).
    #[must_use]
    pub fn work_bits(&self, now: Instant) -> u8 {
        let Some(base) = self.settings.upload_work else {
            return 0;
        };
        let (tick, _) = self.ticks(now);
        let recent = self
            .rates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .uploads
            .total(tick);
        let reference = u64::from(
            self.settings
                .uploads_per_minute
                .unwrap_or(DEFAULT_REFERENCE)
                .max(1),
        );
        let extra =
            (recent.saturating_mul(u64::from(LOAD_BITS)) / reference).min(u64::from(LOAD_BITS));
        base.saturating_add(u8::try_from(extra).unwrap_or(LOAD_BITS))
            .min(MAX_BITS)
    }

    /// A fresh challenge: `base64url(issued ‖ bits ‖ random 15 ‖ HMAC[..16])`,
    /// `issued` in Unix seconds, so that every instance (sharing the key)
    /// reads it alike.
    pub fn challenge(&self, unix: u64, bits: u8) -> Result<String, ApiError> {
        use base64::Engine as _;
        let mut raw = [0u8; 40];
        let (head, tag) = raw.split_at_mut(24);
        let (t, r) = head.split_at_mut(8);
        t.copy_from_slice(&unix.to_be_bytes());
        crate::ids::random(r)?;
        // The difficulty it was handed out at, signed with it: a client
        // that solved it is not asked for more because load rose meanwhile.
        if let Some(b) = r.first_mut() {
            *b = bits;
        }
        tag.copy_from_slice(self.tag(head).get(..16).unwrap_or(&[0; 16]));
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    fn tag(&self, msg: &[u8]) -> [u8; 32] {
        // HMAC takes a key of any length.
        let Ok(mut mac) = HmacSha256::new_from_slice(self.work_key.as_ref()) else {
            unreachable!("HMAC-SHA256 accepts every key length")
        };
        mac.update(b"veil/v1 upload challenge");
        mac.update(msg);
        mac.finalize().into_bytes().into()
    }

    /// Checks a solved challenge at the difficulty it carries (at least
    /// `floor`, the configured bits): its key in the spent set if good.
    fn check_work(&self, work: &UploadWork<'_>, floor: u8, unix: u64) -> Option<[u8; 16]> {
        use base64::Engine as _;
        use subtle::ConstantTimeEq as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(work.challenge)
            .ok()?;
        let raw = <[u8; 40]>::try_from(raw.as_slice()).ok()?;
        let (head, tag) = raw.split_at(24);
        let want = self.tag(head);
        if !bool::from(tag.ct_eq(want.get(..16).unwrap_or(&[]))) {
            return None;
        }
        let (t, r) = head.split_at(8);
        let issued = u64::from_be_bytes(t.try_into().ok()?);
        if issued > unix || unix - issued > CHALLENGE_TTL.as_secs() {
            return None;
        }
        let bits = *r.first()?;
        if bits < floor || bits > MAX_BITS {
            return None;
        }
        if !veil_core::work::verify_upload(work.challenge, work.nonce, bits) {
            return None;
        }
        let key: [u8; 16] = r.try_into().ok()?;
        let spent = self.spent.lock().unwrap_or_else(PoisonError::into_inner);
        (!spent.contains_key(&key)).then_some(key)
    }

    /// Spends a checked challenge; `false` if another request spent it first.
    fn spend(&self, key: [u8; 16], unix: u64) -> Result<bool, ApiError> {
        let mut spent = self.spent.lock().unwrap_or_else(PoisonError::into_inner);
        if spent.len() >= MAX_SPENT && !spent.contains_key(&key) {
            // Only admitted requests spend: this many in ten minutes is
            // load, not a flood of cheap solutions.
            return Err(ApiError::Busy);
        }
        Ok(spent.insert(key, unix).is_none())
    }

    /// The work a request must carry now, checked and spent: for requests
    /// that are not uploads but cost the operator (reports).
    pub fn require_work(
        &self,
        work: Option<&str>,
        now: Instant,
        unix: u64,
    ) -> Result<(), ApiError> {
        let bits = self.work_bits(now);
        if bits == 0 {
            return Ok(());
        }
        let floor = self.settings.upload_work.unwrap_or(0);
        let key = work
            .and_then(UploadWork::parse)
            .and_then(|w| self.check_work(&w, floor, unix));
        match key {
            Some(k) if self.spend(k, unix)? => Ok(()),
            _ => Err(ApiError::UploadWorkRequired(
                bits,
                self.challenge(unix, bits)?,
            )),
        }
    }

    /// The per-client key of `addr` for this hour, and the hour's counts.
    fn client_count(&self, addr: IpAddr, limit: u32, now: Instant) -> Result<(), ApiError> {
        let mut guard = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = guard
            .as_ref()
            .is_none_or(|c| now.saturating_duration_since(c.since) >= Duration::from_secs(3600));
        if fresh {
            // The old key and counts are dropped (the key zeroized).
            *guard = Some(Clients::new(now)?);
        }
        let Some(clients) = guard.as_mut() else {
            unreachable!("set just above")
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(clients.key.as_ref()) else {
            unreachable!("HMAC-SHA256 accepts every key length")
        };
        // An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d.
        match addr.to_canonical() {
            IpAddr::V4(a) => mac.update(&a.octets()),
            // A /64 is what one subscriber gets: count the prefix.
            IpAddr::V6(a) => mac.update(a.octets().get(..8).unwrap_or(&[])),
        }
        let full: [u8; 32] = mac.finalize().into_bytes().into();
        let key: [u8; 16] = full
            .get(..16)
            .and_then(|k| k.try_into().ok())
            .unwrap_or([0; 16]);
        let left =
            Duration::from_secs(3600).saturating_sub(now.saturating_duration_since(clients.since));
        if clients.counts.len() >= MAX_CLIENTS && !clients.counts.contains_key(&key) {
            return Err(ApiError::Limited(left.as_secs().max(1)));
        }
        let n = clients.counts.entry(key).or_insert(0);
        if *n >= limit {
            return Err(ApiError::ClientLimited(left.as_secs().max(1)));
        }
        *n += 1;
        Ok(())
    }

    /// Admits the creation of an upload of `length` bytes (for a one-request
    /// upload of unknown length, the largest blob), or says why not. The
    /// work is checked first but spent only once everything else admits
    /// the request, so refusals spend nothing and spent challenges are
    /// bounded by admitted uploads.
    pub fn admit(
        &self,
        length: u64,
        work: Option<&str>,
        client: Option<IpAddr>,
        now: Instant,
        unix: u64,
    ) -> Result<Reservation<'_>, ApiError> {
        let bits = self.work_bits(now);
        let solved = match bits {
            0 => None,
            _ => match work
                .and_then(UploadWork::parse)
                .and_then(|w| self.check_work(&w, self.settings.upload_work.unwrap_or(0), unix))
            {
                Some(key) => Some(key),
                None => {
                    return Err(ApiError::UploadWorkRequired(
                        bits,
                        self.challenge(unix, bits)?,
                    ))
                }
            },
        };
        if let (Some(limit), Some(addr)) = (self.settings.per_client_per_hour, client) {
            self.client_count(addr, limit, now)?;
        }
        let (up_tick, byte_tick) = self.ticks(now);
        let mut r = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(max) = self.settings.uploads_per_minute {
            if r.uploads.total(up_tick) >= u64::from(max) {
                return Err(ApiError::Limited(r.uploads.wait_for(up_tick, 1)));
            }
        }
        if let Some(max) = self.settings.bytes_per_hour {
            let total = r.bytes.total(byte_tick);
            if length > max {
                return Err(ApiError::TooLarge);
            }
            if total.saturating_add(length) > max {
                let need = total.saturating_add(length) - max;
                return Err(ApiError::Limited(r.bytes.wait_for(byte_tick, need)));
            }
        }
        // Under the rates lock: admissions are serialised from here on.
        let added = self.added.load(Ordering::SeqCst);
        if let Some(quota) = self.settings.quota {
            let base = self.base.load(Ordering::SeqCst);
            if base.saturating_add(added).saturating_add(length) > quota {
                return Err(ApiError::QuotaFull);
            }
        }
        if let Some(key) = solved {
            if !self.spend(key, unix)? {
                return Err(ApiError::UploadWorkRequired(
                    bits,
                    self.challenge(unix, bits)?,
                ));
            }
        }
        self.added.fetch_add(length, Ordering::SeqCst);
        self.inflight.fetch_add(length, Ordering::SeqCst);
        r.uploads.add(up_tick, 1);
        r.bytes.add(byte_tick, length);
        drop(r);
        Ok(Reservation {
            limits: self,
            bytes: length,
            generation: self.generation.load(Ordering::SeqCst),
            tick: byte_tick,
            recorded: false,
        })
    }

    /// Forgets spent challenges past their life (the sweeper).
    pub fn prune(&self, unix: u64) {
        self.spent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, at| unix.saturating_sub(*at) <= CHALLENGE_TTL.as_secs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIX: u64 = 1_800_000_000;

    fn limits(s: LimitSettings) -> Limits {
        Limits::new(s, [3; 32])
    }

    fn admit<'a>(l: &'a Limits, n: u64, t: Instant) -> Result<Reservation<'a>, ApiError> {
        l.admit(n, None, None, t, UNIX)
    }

    #[test]
    fn uploads_per_minute_hold_and_say_how_long_to_wait() {
        let l = limits(LimitSettings {
            uploads_per_minute: Some(3),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        for _ in 0..3 {
            admit(&l, 1, t).unwrap().recorded(1);
        }
        match admit(&l, 1, t) {
            Err(ApiError::Limited(s)) => assert!((1..=60).contains(&s), "{s}"),
            _ => panic!("a fourth upload in the minute was admitted"),
        }
        assert!(admit(&l, 1, t + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn bytes_per_hour_are_given_back_when_an_upload_was_smaller_or_failed() {
        let l = limits(LimitSettings {
            bytes_per_hour: Some(100),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        // A chunked upload reserves the largest size, then records 1 byte.
        admit(&l, 100, t).unwrap().recorded(1);
        drop(admit(&l, 99, t).unwrap()); // failed: all back
        admit(&l, 99, t).unwrap().recorded(99);
        assert!(matches!(admit(&l, 1, t), Err(ApiError::Limited(_))));
    }

    #[test]
    fn the_quota_holds_and_failed_uploads_give_their_bytes_back() {
        let l = limits(LimitSettings {
            quota: Some(100),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        let a = admit(&l, 60, t).unwrap();
        assert!(matches!(admit(&l, 50, t), Err(ApiError::QuotaFull)));
        drop(a); // failed: given back
        let b = admit(&l, 90, t).unwrap();
        b.recorded(40); // a one-request upload smaller than reserved
        assert_eq!(l.used(), 40);
        let mark = l.resync_start();
        l.resync(
            mark,
            Usage {
                blobs: 1,
                bytes: 95,
                reserved: 0,
            },
        );
        assert!(matches!(admit(&l, 10, t), Err(ApiError::QuotaFull)));
        assert!(admit(&l, 5, t).is_ok());
    }

    #[test]
    fn a_resync_keeps_what_was_admitted_while_the_records_were_read() {
        let l = limits(LimitSettings {
            quota: Some(100),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        let mark = l.resync_start();
        // Admitted (and perhaps recorded) while the sweeper reads the records.
        admit(&l, 70, t).unwrap().recorded(70);
        l.resync(mark, Usage::default());
        assert_eq!(l.used(), 70);
        assert!(matches!(admit(&l, 40, t), Err(ApiError::QuotaFull)));
        // In flight at the mark, recorded after the read: still counted.
        let l = limits(LimitSettings {
            quota: Some(100),
            ..LimitSettings::default()
        });
        let r = admit(&l, 70, t).unwrap();
        let mark = l.resync_start();
        l.resync(mark, Usage::default());
        r.recorded(70);
        assert!(matches!(admit(&l, 40, t), Err(ApiError::QuotaFull)));
    }

    #[test]
    fn work_is_asked_verified_once_and_rises_with_load() {
        let l = limits(LimitSettings {
            upload_work: Some(4),
            uploads_per_minute: Some(8),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        let Err(ApiError::UploadWorkRequired(bits, ch)) = admit(&l, 1, t) else {
            panic!("no work asked");
        };
        assert_eq!(bits, 4);
        let n = veil_core::work::solve_upload(&ch, bits);
        let header = format!("{ch} {n}");
        l.admit(1, Some(&header), None, t, UNIX)
            .unwrap()
            .recorded(1);
        // Spent: the same solution does not pass twice.
        assert!(matches!(
            l.admit(1, Some(&header), None, t, UNIX),
            Err(ApiError::UploadWorkRequired(..))
        ));
        // A forged or stale challenge does not pass; one from another
        // instance with the same key does (Unix time, not uptime).
        let forged = format!("{}A {n}", ch.get(..ch.len() - 1).unwrap());
        assert!(l.admit(1, Some(&forged), None, t, UNIX).is_err());
        let ch2 = l.challenge(UNIX, 8).unwrap();
        let n2 = veil_core::work::solve_upload(&ch2, 8);
        let late = UNIX + CHALLENGE_TTL.as_secs() + 1;
        assert!(l
            .admit(1, Some(&format!("{ch2} {n2}")), None, t, late)
            .is_err());
        let other = limits(LimitSettings {
            upload_work: Some(4),
            ..LimitSettings::default()
        });
        assert!(other
            .admit(
                1,
                Some(&format!("{ch2} {n2}")),
                None,
                Instant::now(),
                UNIX + 5
            )
            .is_ok());
        // Load raises the bits: 7 more uploads in the minute (8 is the rate).
        for _ in 0..7 {
            let ch = l.challenge(UNIX, 8).unwrap();
            let n = veil_core::work::solve_upload(&ch, 8);
            let _ = l.admit(1, Some(&format!("{ch} {n}")), None, t, UNIX);
        }
        assert!(l.work_bits(t) > 4, "{}", l.work_bits(t));
    }

    #[test]
    fn a_refused_upload_does_not_spend_its_work() {
        let l = limits(LimitSettings {
            upload_work: Some(2),
            quota: Some(10),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        let ch = l.challenge(UNIX, 8).unwrap();
        let w = format!("{ch} {}", veil_core::work::solve_upload(&ch, 8));
        assert!(matches!(
            l.admit(20, Some(&w), None, t, UNIX),
            Err(ApiError::QuotaFull)
        ));
        assert!(l.admit(5, Some(&w), None, t, UNIX).is_ok());
    }

    #[test]
    fn per_client_counts_are_per_address_and_reset_with_the_key() {
        let l = limits(LimitSettings {
            per_client_per_hour: Some(2),
            ..LimitSettings::default()
        });
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let go =
            |addr: IpAddr, t: Instant| l.admit(1, None, Some(addr), t, UNIX).map(|r| r.recorded(1));
        go(a, t).unwrap();
        go(a, t).unwrap();
        assert!(matches!(go(a, t), Err(ApiError::ClientLimited(_))));
        assert!(go(b, t).is_ok());
        // IPv4 through a dual-stack socket is the same IPv4 client, and
        // distinct IPv4 clients stay distinct.
        let mapped: IpAddr = "::ffff:192.0.2.2".parse().unwrap();
        assert!(go(mapped, t).is_ok());
        assert!(go(mapped, t).is_err());
        let c_mapped: IpAddr = "::ffff:192.0.2.3".parse().unwrap();
        assert!(go(c_mapped, t).is_ok());
        // Two addresses in one /64 are one client.
        let c: IpAddr = "2001:db8::1".parse().unwrap();
        let d: IpAddr = "2001:db8::2".parse().unwrap();
        go(c, t).unwrap();
        go(d, t).unwrap();
        assert!(go(c, t).is_err());
        let later = t + Duration::from_secs(3601);
        assert!(go(a, later).is_ok());
    }
}
