//! Wall-clock time in Unix seconds, replaceable in tests so that expiry can
//! be checked at the exact instant without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The server's notion of "now".
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock; `Some`: a manual clock (tests).
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// A manual clock starting at `t`, and the handle that moves it.
    #[must_use]
    pub fn manual(t: u64) -> (Self, Arc<AtomicU64>) {
        let a = Arc::new(AtomicU64::new(t));
        (
            Self {
                manual: Some(a.clone()),
            },
            a,
        )
    }

    /// Unix seconds now.
    #[must_use]
    pub fn now(&self) -> u64 {
        match &self.manual {
            Some(a) => a.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}
