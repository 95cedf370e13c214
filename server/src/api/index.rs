//! The user's index document (thread list, projects, preferences, profile) through the model, for
//! the paths that read or write it directly rather than through a thread.

use std::sync::Arc;

use automerge::ActorId;
use chatsync_model::Index;

use super::documents::now_ms;
use super::error::ApiError;
use crate::relay::{LocalWriteError, Open, Relay};
use crate::storage::Storage;

/// Reads the user's index with `f` (on the blocking pool, beside the document). A user with no
/// index yet reads as an empty one — default preferences, no projects — as a fresh browser store.
pub(crate) async fn read_index<S: Storage, T: Send + 'static>(
    relay: &Arc<Relay<S>>,
    user: &str,
    f: impl Fn(&Index, u64) -> T + Send + Sync + 'static,
) -> Result<T, ApiError> {
    let index_id = relay.index_document_id(user);
    let f = Arc::new(f);
    let read = {
        let f = f.clone();
        relay
            .with_document(user, &index_id, Open::Existing, move |doc| {
                let index = Index::from_automerge(std::mem::take(doc));
                let value = f(&index, now_ms());
                *doc = index.into_automerge();
                value
            })
            .await
    };
    match read {
        Ok(value) => Ok(value),
        Err(LocalWriteError::NotFound) => Ok(f(&Index::new(ActorId::random()), now_ms())),
        Err(e) => Err(e.into()),
    }
}

/// Writes the user's index with `f` (given the index and the time), creating the index if the user
/// has none; answered once storage holds the change. A refused write stores nothing: the model
/// checks everything before it writes.
pub(crate) async fn write_index<S: Storage, T: Send + 'static>(
    relay: &Arc<Relay<S>>,
    user: &str,
    f: impl FnOnce(&mut Index, u64) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let index_id = relay.index_document_id(user);
    relay
        .with_document(user, &index_id, Open::CreateIfAbsent, move |doc| {
            let mut index = Index::from_automerge(std::mem::take(doc));
            let result = f(&mut index, now_ms());
            *doc = index.into_automerge();
            result
        })
        .await?
}
