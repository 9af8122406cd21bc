//! One writer at a time per tus upload, and deletion that wins over a
//! running PATCH.
//!
//! A PATCH takes the upload's lane or is refused at once (`409`: a tus
//! client retrying while its first attempt still runs). A deletion (tus
//! termination or the token DELETE) cancels the PATCH holding the lane,
//! waits for it to let go, then takes the lane itself, so it never races the
//! PATCH's last write to the record.
//!
//! The map's mutex is held for a few instructions and never while a
//! [`Lane`] is dropped: dropping one locks the map (the whole-server
//! deadlock of an earlier version came from exactly that).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::ids::BlobId;

/// How long a deletion waits for a cancelled PATCH to stop.
const CANCEL_WAIT: Duration = Duration::from_secs(10);

struct Holder {
    /// Fired to ask the holder to stop.
    cancel: CancellationToken,
    /// Fired by the holder when it has let go.
    released: CancellationToken,
}

/// The uploads whose lane is taken.
#[derive(Default)]
pub struct Lanes(Mutex<HashMap<BlobId, Arc<Holder>>>);

/// The right to write one upload; released on drop. It owns its place in
/// [`Lanes`], so the work it guards can run in a task of its own and keep
/// the lane until that work is really over, even if the request that
/// started it is gone.
#[must_use = "the lane is released when this is dropped"]
pub struct Lane {
    lanes: Arc<Lanes>,
    id: BlobId,
    holder: Arc<Holder>,
}

impl Lane {
    /// Fires when a deletion wants this upload gone.
    #[must_use]
    pub fn cancelled(&self) -> &CancellationToken {
        &self.holder.cancel
    }
}

impl Lanes {
    fn try_insert(self: &Arc<Self>, id: BlobId) -> Result<Lane, Arc<Holder>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = map.get(&id) {
            return Err(h.clone());
        }
        let holder = Arc::new(Holder {
            cancel: CancellationToken::new(),
            released: CancellationToken::new(),
        });
        map.insert(id, holder.clone());
        drop(map);
        Ok(Lane {
            lanes: self.clone(),
            id,
            holder,
        })
    }

    /// Takes the lane for a PATCH; `None` if another request holds it.
    pub fn try_take(self: &Arc<Self>, id: BlobId) -> Option<Lane> {
        self.try_insert(id).ok()
    }

    /// Takes the lane for a deletion: cancels whoever holds it and waits
    /// for them to let go. `None` if they did not within [`CANCEL_WAIT`].
    pub async fn take_over(self: &Arc<Self>, id: BlobId) -> Option<Lane> {
        let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
        loop {
            match self.try_insert(id) {
                Ok(lane) => return Some(lane),
                Err(holder) => {
                    holder.cancel.cancel();
                    tokio::time::timeout_at(deadline, holder.released.cancelled())
                        .await
                        .ok()?;
                }
            }
        }
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        let mut map = self.lanes.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map
            .get(&self.id)
            .is_some_and(|h| Arc::ptr_eq(h, &self.holder))
        {
            map.remove(&self.id);
        }
        drop(map);
        self.holder.released.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_writer_is_refused_and_a_deletion_takes_over() {
        let lanes = Arc::new(Lanes::default());
        let id = BlobId::from_bytes([1; 16]);
        let first = lanes.try_take(id).unwrap();
        assert!(lanes.try_take(id).is_none(), "two writers on one upload");
        let cancel = first.cancelled().clone();
        let (deleted, ()) = tokio::join!(lanes.take_over(id), async {
            cancel.cancelled().await;
            drop(first);
        });
        assert!(deleted.is_some());
        drop(deleted);
        assert!(lanes.try_take(id).is_some(), "the lane was not released");
    }

    #[tokio::test(start_paused = true)]
    async fn a_holder_that_never_lets_go_makes_the_deletion_give_up() {
        let lanes = Arc::new(Lanes::default());
        let id = BlobId::from_bytes([2; 16]);
        let _stuck = lanes.try_take(id).unwrap();
        assert!(lanes.take_over(id).await.is_none());
    }
}
