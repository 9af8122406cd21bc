//! The one way handlers call the store: on Tokio's blocking pool, with a
//! store error or a failed task both turned into an [`ApiError`].

use std::sync::Arc;

use crate::error::ApiError;
use crate::store::{Store, StoreError};

/// Runs `f` against the store off the async workers.
pub async fn blocking<T, F>(store: &Arc<Store>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
}
