//! The shared engine's side of moderation ([`crate::moderation`]):
//! reports, the removal list and the counters live in PostgreSQL, so every
//! instance sees the same ones and counts into the same totals.

use axum::body::Body;

use super::objects::Objects;
use super::pg::{timed, Either};
use super::Shared;
use crate::error::ApiError;
use crate::ids::Slot;
use crate::moderation::{
    day_of, hex, Counter, Counters, Decided, Removal, Report, ReportState, Usage,
};
use crate::record::BlobRecord;

impl Shared {
    /// Adds to a counter after an operation succeeded; a failure is logged,
    /// not answered (the operation itself is done).
    pub(super) async fn count(&self, c: Counter, n: u64) {
        if let Err(e) = timed(self.records.bump(c, n)).await {
            tracing::warn!(error = %e, counter = c.name(), "a counter was not updated");
        }
    }

    /// The key every instance signs upload challenges with.
    pub async fn work_key(&self) -> Result<[u8; 32], ApiError> {
        let mut candidate = [0u8; 32];
        crate::ids::random(&mut candidate)?;
        Ok(timed(self.records.work_key(&candidate)).await?)
    }

    /// Stores a new report and counts it.
    pub async fn add_report(&self, id: &[u8; 16], r: &Report) -> Result<(), ApiError> {
        Ok(timed(self.records.add_report(id, r)).await?)
    }

    /// How many reports name `slot`.
    pub async fn reports_on(&self, slot: &Slot) -> Result<u64, ApiError> {
        Ok(timed(self.records.reports_on(slot)).await?)
    }

    /// Every report.
    pub async fn reports(&self) -> Result<Vec<Report>, ApiError> {
        Ok(timed(self.records.reports()).await?)
    }

    /// Dismisses an open report.
    pub async fn dismiss(
        &self,
        id: &[u8; 16],
        reason: &str,
        now: u64,
    ) -> Result<Decided, ApiError> {
        let (changed, exists) = timed(self.records.decide(
            Either::Report(id),
            ReportState::Dismissed,
            reason,
            day_of(now),
        ))
        .await?;
        Ok(match (exists, changed) {
            (false, _) => Decided::Unknown,
            (true, 0) => Decided::AlreadyDecided,
            _ => Decided::Done,
        })
    }

    /// Removes a blob for the operator: the removal list first, then the
    /// record (a tombstone) and its objects; its open reports are actioned.
    pub async fn remove_by_operator(
        &self,
        slot: &Slot,
        reason: &str,
        now: u64,
    ) -> Result<bool, ApiError> {
        let removal = Removal {
            slot: hex(&slot.0),
            reason: reason.to_owned(),
            removed: day_of(now),
        };
        timed(self.records.add_removal(slot, &removal)).await?;
        timed(self.records.decide(
            Either::Slot(slot),
            ReportState::Actioned,
            reason,
            day_of(now),
        ))
        .await?;
        let Some(r) = timed(self.records.remove_any(slot)).await? else {
            // Nothing was there: no id is listed that never named a blob.
            timed(self.records.drop_removal(slot)).await?;
            return Ok(false);
        };
        self.count(Counter::RemovedByOperator, 1).await;
        self.purge_logged(&r).await;
        Ok(true)
    }

    /// The removal-list entry of `slot`.
    pub async fn removal(&self, slot: &Slot) -> Result<Option<Removal>, ApiError> {
        Ok(timed(self.records.removal(slot)).await?)
    }

    /// The whole removal list.
    pub async fn removals(&self) -> Result<Vec<Removal>, ApiError> {
        Ok(timed(self.records.removals()).await?)
    }

    /// Every counter.
    pub async fn counters(&self) -> Result<Counters, ApiError> {
        Ok(timed(self.records.counters()).await?)
    }

    /// Sets the legal-requests counter.
    pub async fn set_legal_requests(&self, n: u64) -> Result<(), ApiError> {
        Ok(timed(self.records.set_counter(Counter::LegalRequests, n)).await?)
    }

    /// What is stored now.
    pub async fn usage(&self) -> Result<Usage, ApiError> {
        Ok(timed(self.records.usage()).await?)
    }

    /// A live blob's ciphertext for the operator's review, consuming nothing.
    pub async fn review(&self, slot: &Slot) -> Result<Option<(BlobRecord, Body)>, ApiError> {
        let Some(rec) = timed(self.records.live(slot)).await? else {
            return Ok(None);
        };
        Ok(self
            .objects
            .read(&Objects::blob(&rec.file), None)
            .await?
            .map(|s| (rec, Body::from_stream(s))))
    }
}
