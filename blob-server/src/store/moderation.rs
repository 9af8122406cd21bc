//! The local engine's side of moderation ([`crate::moderation`]): reports,
//! the removal list and the public counters in their own sled trees,
//! compacted and shredded with the rest of the database.

use std::fs::File;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::{bump, tx_error, Store, StoreError};
use crate::erasure::ReadGuard;
use crate::ids::Slot;
use crate::moderation::{
    day_of, hex, Counter, Counters, Decided, Removal, Report, ReportState, Usage,
};
use crate::record::{BlobRecord, UploadRecord};

/// A report's key: its blob's slot, then its id.
fn report_key(slot: &Slot, id: &[u8; 16]) -> Vec<u8> {
    let mut k = slot.0.to_vec();
    k.extend_from_slice(id);
    k
}

impl Store {
    /// Stores a new report and counts it. Reports are keyed by slot, then
    /// id: a blob's reports are one prefix.
    pub fn add_report(&self, id: &[u8; 16], report: &Report) -> Result<(), StoreError> {
        let slot = report.slot().ok_or(StoreError::Corrupt)?;
        let db = self.db();
        db.reports.insert(report_key(&slot, id), report.encode())?;
        bump(&db, Counter::ReportsReceived, 1)?;
        db.db.flush()?;
        Ok(())
    }

    /// Every report, in id order.
    pub fn reports(&self) -> Result<Vec<Report>, StoreError> {
        self.db()
            .reports
            .iter()
            .values()
            .map(|v| Report::decode(&v?).ok_or(StoreError::Corrupt))
            .collect()
    }

    /// How many reports name `slot`.
    pub fn reports_on(&self, slot: &Slot) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.db().reports.scan_prefix(slot.0).keys() {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// Dismisses an open report (with the operator's reason).
    pub fn dismiss(&self, id: &[u8; 16], reason: &str, now: u64) -> Result<Decided, StoreError> {
        let db = self.db();
        // The operator's rare call: found by its id's place in the key.
        let mut found = None;
        for k in db.reports.iter().keys() {
            let k = k?;
            if k.get(32..) == Some(&id[..]) {
                found = Some(k);
                break;
            }
        }
        let Some(key) = found else {
            return Ok(Decided::Unknown);
        };
        let out = (&db.reports, &db.counters).transaction(|(reports, counters)| {
            let Some(raw) = reports.get(&key)? else {
                return Ok(Decided::Unknown);
            };
            let mut r = Report::decode(&raw).ok_or(ConflictableTransactionError::Abort(()))?;
            if r.state != ReportState::Open {
                return Ok(Decided::AlreadyDecided);
            }
            r.state = ReportState::Dismissed;
            r.decision = Some(reason.to_owned());
            r.decided = Some(day_of(now));
            reports.insert(&key, r.encode())?;
            let name = Counter::ReportsDismissed.name();
            let v = counters
                .get(name)?
                .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
                .map_or(0, u64::from_be_bytes);
            counters.insert(name, &v.saturating_add(1).to_be_bytes()[..])?;
            Ok(Decided::Done)
        });
        let out = out.map_err(tx_error)?;
        db.db.flush()?;
        Ok(out)
    }

    /// Removes the blob at `slot` for the operator: it goes on the removal
    /// list first (so no download starts after this returns), then its
    /// record and file go, and its open reports become actioned. Returns
    /// whether a live or unfinished blob was there.
    pub fn remove_by_operator(
        &self,
        slot: &Slot,
        reason: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let db = self.db();
        let removal = Removal {
            slot: hex(&slot.0),
            reason: reason.to_owned(),
            removed: day_of(now),
        };
        // In a transaction: one that finishes an upload at this slot
        // conflicts with it, and sees it (finish_upload then refuses).
        let encoded = removal.encode();
        db.removed
            .transaction(|t| {
                t.insert(&slot.0[..], encoded.clone())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(tx_error)?;
        db.db.flush()?;
        let mut actioned = 0;
        for item in db.reports.scan_prefix(slot.0) {
            let (k, v) = item?;
            let Some(mut r) = Report::decode(&v) else {
                continue;
            };
            if r.state == ReportState::Open && r.slot() == Some(*slot) {
                r.state = ReportState::Actioned;
                r.decision = Some(reason.to_owned());
                r.decided = Some(day_of(now));
                if db
                    .reports
                    .compare_and_swap(&k, Some(v), Some(r.encode()))?
                    .is_ok()
                {
                    actioned += 1;
                }
            }
        }
        bump(&db, Counter::ReportsActioned, actioned)?;
        let taken = loop {
            let Some(raw) = db.blobs.get(slot.0)? else {
                break None;
            };
            let rec = BlobRecord::decode(&raw).ok_or(StoreError::Corrupt)?;
            if db
                .blobs
                .compare_and_swap(slot.0, Some(raw), None::<&[u8]>)?
                .is_ok()
            {
                bump(&db, Counter::RemovedByOperator, 1)?;
                self.finish_removal(&db, slot, &rec)?;
                break Some(rec);
            }
        };
        drop(db);
        let found = match taken {
            // Erasing takes a while: not under the database lock.
            Some(rec) => {
                self.retire(slot, &rec.file)?;
                true
            }
            None => self.delete_upload(slot, None)?,
        };
        if !found {
            // Nothing was there: no id is listed that never named a blob
            // (ids are the server's own, so none can appear later).
            self.db().removed.remove(slot.0)?;
        }
        self.db().db.flush()?;
        Ok(found)
    }

    /// The removal-list entry of `slot`, if the operator removed it.
    pub fn removal(&self, slot: &Slot) -> Result<Option<Removal>, StoreError> {
        match self.db().removed.get(slot.0)? {
            None => Ok(None),
            Some(v) => Removal::decode(&v).map(Some).ok_or(StoreError::Corrupt),
        }
    }

    /// The whole removal list.
    pub fn removals(&self) -> Result<Vec<Removal>, StoreError> {
        self.db()
            .removed
            .iter()
            .values()
            .map(|v| Removal::decode(&v?).ok_or(StoreError::Corrupt))
            .collect()
    }

    /// Every counter; [`Counter::Since`] is written on the first call.
    pub fn counters(&self, now: u64) -> Result<Counters, StoreError> {
        let db = self.db();
        // Err(CompareAndSwapError): it was written before, as it should be.
        let _ = db.counters.compare_and_swap(
            Counter::Since.name(),
            None::<&[u8]>,
            Some(&day_of(now).to_be_bytes()[..]),
        )?;
        let mut out = Counters::default();
        for c in Counter::ALL {
            let v = db
                .counters
                .get(c.name())?
                .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
                .map_or(0, u64::from_be_bytes);
            out.0.insert(c.name(), v);
        }
        Ok(out)
    }

    /// Sets the operator's counter of legal requests.
    pub fn set_legal_requests(&self, n: u64) -> Result<(), StoreError> {
        let db = self.db();
        db.counters
            .insert(Counter::LegalRequests.name(), &n.to_be_bytes()[..])?;
        db.db.flush()?;
        Ok(())
    }

    /// What is stored now: live blobs and their bytes, and the lengths of
    /// unfinished uploads. Reads every record (the quota keeps its own
    /// running figure, [`crate::limits`]; this is its start and the
    /// transparency page's).
    pub fn usage(&self, now: u64) -> Result<Usage, StoreError> {
        let db = self.db();
        let mut u = Usage::default();
        for v in db.blobs.iter().values() {
            if let Some(r) = BlobRecord::decode(&v?) {
                if r.expires_at > now && r.downloads_left() != Some(0) {
                    u.blobs += 1;
                    u.bytes = u.bytes.saturating_add(r.size);
                }
            }
        }
        for v in db.uploads.iter().values() {
            if let Some(r) = UploadRecord::decode(&v?) {
                if r.upload_expires_at > now {
                    u.reserved = u.reserved.saturating_add(r.length);
                }
            }
        }
        Ok(u)
    }

    /// A live blob's file for the operator's review, consuming nothing.
    pub fn review(
        &self,
        slot: &Slot,
        now: u64,
    ) -> Result<Option<(BlobRecord, File, ReadGuard)>, StoreError> {
        let reading = self.readers.enter(*slot);
        let Some(rec) = self.peek(slot, now)? else {
            return Ok(None);
        };
        Ok(self.open_file(&rec)?.map(|f| (rec, f, reading)))
    }
}
