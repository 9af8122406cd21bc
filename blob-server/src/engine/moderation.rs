//! The engine's face for moderation and counting ([`crate::moderation`]):
//! one call per operation, whichever engine holds the records.

use axum::body::Body;
use futures_util::StreamExt;

use super::Engine;
use crate::blocking::blocking;
use crate::error::ApiError;
use crate::ids::Slot;
use crate::moderation::{Counters, Decided, Removal, Report, ReportId, Usage};
use crate::record::BlobRecord;

impl Engine {
    /// Stores a new report and counts it.
    pub async fn add_report(&self, id: ReportId, report: Report) -> Result<(), ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.add_report(&id.0, &report)).await,
            Self::Shared(shared) => shared.add_report(&id.0, &report).await,
        }
    }

    /// How many reports name `slot`.
    pub async fn reports_on(&self, slot: Slot) -> Result<u64, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| Ok(s.reports_on(&slot)? as u64)).await,
            Self::Shared(shared) => shared.reports_on(&slot).await,
        }
    }

    /// Every report.
    pub async fn reports(&self) -> Result<Vec<Report>, ApiError> {
        match self {
            Self::Local(store) => blocking(store, |s| s.reports()).await,
            Self::Shared(shared) => shared.reports().await,
        }
    }

    /// Dismisses an open report.
    pub async fn dismiss(
        &self,
        id: ReportId,
        reason: String,
        now: u64,
    ) -> Result<Decided, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.dismiss(&id.0, &reason, now)).await,
            Self::Shared(shared) => shared.dismiss(&id.0, &reason, now).await,
        }
    }

    /// Removes a blob for the operator (removal list, record, file, its
    /// open reports actioned); whether a blob was there.
    pub async fn remove_by_operator(
        &self,
        slot: Slot,
        reason: String,
        now: u64,
    ) -> Result<bool, ApiError> {
        match self {
            Self::Local(store) => {
                blocking(store, move |s| s.remove_by_operator(&slot, &reason, now)).await
            }
            Self::Shared(shared) => shared.remove_by_operator(&slot, &reason, now).await,
        }
    }

    /// The removal-list entry of `slot`.
    pub async fn removal(&self, slot: Slot) -> Result<Option<Removal>, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.removal(&slot)).await,
            Self::Shared(shared) => shared.removal(&slot).await,
        }
    }

    /// The whole removal list.
    pub async fn removals(&self) -> Result<Vec<Removal>, ApiError> {
        match self {
            Self::Local(store) => blocking(store, |s| s.removals()).await,
            Self::Shared(shared) => shared.removals().await,
        }
    }

    /// Every counter.
    pub async fn counters(&self, now: u64) -> Result<Counters, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.counters(now)).await,
            Self::Shared(shared) => shared.counters().await,
        }
    }

    /// Sets the legal-requests counter.
    pub async fn set_legal_requests(&self, n: u64) -> Result<(), ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.set_legal_requests(n)).await,
            Self::Shared(shared) => shared.set_legal_requests(n).await,
        }
    }

    /// What is stored now.
    pub async fn usage(&self, now: u64) -> Result<Usage, ApiError> {
        match self {
            Self::Local(store) => blocking(store, move |s| s.usage(now)).await,
            Self::Shared(shared) => shared.usage().await,
        }
    }

    /// A live blob's ciphertext for the operator's review, consuming nothing.
    pub async fn review(
        &self,
        slot: Slot,
        now: u64,
    ) -> Result<Option<(BlobRecord, Body)>, ApiError> {
        let store = match self {
            Self::Local(store) => store,
            Self::Shared(shared) => return shared.review(&slot).await,
        };
        let found = blocking(store, move |s| s.review(&slot, now)).await?;
        Ok(found.map(|(rec, file, reading)| {
            let file = tokio::fs::File::from_std(file);
            let stream = tokio_util::io::ReaderStream::new(file).map(move |chunk| {
                let _keep = &reading; // dropped with the body: then the file may be erased
                chunk
            });
            (rec, Body::from_stream(stream))
        }))
    }
}
