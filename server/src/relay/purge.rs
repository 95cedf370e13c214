//! Purging a document at the relay: its stored bytes erased for good (storage keeps an emptied
//! tombstone row that refuses every later append), the copy in memory dropped, and every later
//! open of the id — a device's sync, the HTTP API — answered as purged, never as a new document.
//!
//! Model-agnostic like the rest of the relay: which documents to purge (the threads a user's index
//! tombstones, what retention drops) is the API layer's to decide.

use std::sync::atomic::Ordering;

use chatsync_protocol::DocumentId;

use super::{LocalWriteError, Relay};
use crate::storage::{Storage, StorageError};

impl<S: Storage> Relay<S> {
    /// Erases document `id` of `user` for good. Works for an id never stored (the tombstone is made
    /// for `user`, so the document can never be created); purging twice is harmless. Another user's
    /// document is [`LocalWriteError::NotFound`], exactly like one that does not exist.
    ///
    /// Storage first: from its commit on, every append of the document — by a connection that
    /// still holds the copy in memory, or by another relay — is refused, so the purge wins any
    /// race. Then the copy leaves memory, and the next open finds only the tombstone.
    pub async fn purge_document(&self, user: &str, id: &DocumentId) -> Result<(), LocalWriteError> {
        match self.storage.purge(id, user).await {
            Ok(erased) => {
                let erased = i64::try_from(erased).unwrap_or(i64::MAX);
                self.metrics
                    .bytes_stored
                    .fetch_sub(erased, Ordering::Relaxed);
            }
            Err(StorageError::NotOwner(_)) => return Err(LocalWriteError::NotFound),
            Err(e) => {
                tracing::warn!(document = %id, error = %e, "purging a document failed");
                return Err(LocalWriteError::Storage);
            }
        }
        // Sessions still on the copy are closed with it: their devices reconnect and find the
        // tombstone (the document unavailable), rather than syncing with a copy no longer stored.
        if let Some(document) = self.loaded(id) {
            self.forget_copy(&document, None).await;
        }
        tracing::info!(user, document = %id, "document purged");
        Ok(())
    }

    /// Whether `id` was purged.
    pub async fn is_purged(&self, id: &DocumentId) -> Result<bool, LocalWriteError> {
        self.storage.is_purged(id).await.map_err(|e| {
            tracing::warn!(document = %id, error = %e, "a purge check could not reach storage");
            LocalWriteError::Storage
        })
    }

    /// Why `user` cannot open `id`: purged, or not found (absent or another user's).
    pub(crate) async fn unavailable(&self, id: &DocumentId) -> LocalWriteError {
        match self.is_purged(id).await {
            Ok(true) => LocalWriteError::Purged,
            Ok(false) => LocalWriteError::NotFound,
            Err(e) => e,
        }
    }
}
