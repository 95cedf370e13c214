//! The one way the relay changes a document itself (the HTTP API's writes): load it as its owner,
//! run the change on the blocking pool, store it, and sync it to every connected device — the same
//! store-before-acknowledge rule as a device's change.
//!
//! Everything here is model-agnostic: the caller passes a closure over the Automerge document, and
//! the API layer wraps it in the model. The relay internals used are `open_document` (ownership and
//! loading), the document's state lock, the blocking pool (`Cpu::run`), the writer role
//! (`LoadedDocument::writing`) and `write` (store, then answer every peer).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use chatsync_protocol::DocumentId;

use super::Relay;
use super::cpu::Weight;
use super::refusal::Refusal;
use super::writer::{Compaction, Writer};
use crate::storage::Storage;

/// How a local write opens its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// The document must exist and be the user's.
    Existing,
    /// A document nobody has is made for the user (a new thread, a first index).
    CreateIfAbsent,
}

/// Why a local write or read did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalWriteError {
    /// No such document, or another user's: the two are never told apart.
    #[error("not found")]
    NotFound,
    /// The document is over the relay's size limit.
    #[error("the document is over the size limit of {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// A memory budget is spent; retrying later may succeed.
    #[error("the relay is busy: {0}")]
    Busy(String),
    /// Storage failed: the change was not stored (and is not kept in memory).
    #[error("storage unavailable")]
    Storage,
    /// The stored document is damaged, or the change panicked.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Refusal> for LocalWriteError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unavailable => Self::NotFound,
            Refusal::DocumentTooLarge { limit } => Self::TooLarge { limit },
            Refusal::MemoryBudget { .. } | Refusal::TooManyDocuments(_) => {
                Self::Busy(refusal.to_string())
            }
            Refusal::Storage(e) => {
                tracing::warn!(error = %e, "a local write could not reach storage");
                Self::Storage
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

/// While another writer stores the document, how long to wait before looking again.
const WRITER_POLL: Duration = Duration::from_millis(2);

impl<S: Storage> Relay<S> {
    /// Runs `change` on document `id` as `user`, on the blocking pool with the document's lock held.
    /// If it changed the document, returns only once storage holds the change and every connected
    /// peer has been sent it. A `change` that changes nothing (a read) stores nothing.
    pub async fn with_document<R: Send + 'static>(
        self: &Arc<Self>,
        user: &str,
        id: &DocumentId,
        open: Open,
        change: impl FnOnce(&mut AutoCommit) -> R + Send + 'static,
    ) -> Result<R, LocalWriteError> {
        // One indexed lookup whether the document is missing or someone else's, so the two answers
        // take the same time; then only the owner's documents are ever loaded.
        let owner = self
            .storage
            .owner(id)
            .await
            .map_err(|e| LocalWriteError::from(Refusal::Storage(e)))?;
        let missing = owner.is_none() && open == Open::Existing && self.loaded(id).is_none();
        if missing || owner.as_deref().is_some_and(|owner| owner != user) {
            return Err(LocalWriteError::NotFound);
        }
        let document = self
            .open_document(id, user, open == Open::CreateIfAbsent)
            .await?
            .ok_or(LocalWriteError::NotFound)?;
        let state = document.state.clone().lock_owned().await;
        if state.broken {
            // Storage failed under this copy a moment ago; it has left memory.
            return Err(LocalWriteError::Storage);
        }
        let limit = self.limits.max_document_bytes;
        if state.stored_bytes() > limit {
            return Err(LocalWriteError::TooLarge { limit });
        }
        let weight = Weight::of(state.stored_bytes());
        let ran = self
            .cpu
            .run(weight, move || {
                let mut state = state;
                state.last_used = Instant::now();
                let before = state.doc.get_heads();
                let result = change(&mut state.doc);
                // Only this change counts: a device's change that a writer is storing right now
                // does not make a read wait for storage.
                let changed = state.doc.get_heads() != before;
                (result, changed)
            })
            .await;
        let (result, changed) = match ran {
            Ok(ran) => ran,
            Err(refusal) => {
                // The change panicked mid-way: this copy may be half-changed; storage has the truth.
                self.forget_documents([id]);
                return Err(refusal.into());
            }
        };
        if changed {
            self.store_local_change(id, &document).await?;
        }
        Ok(result)
    }

    /// Waits for the writer role, then stores whatever memory holds beyond storage (the change just
    /// made included) and answers every peer. A writer already at work stores it too; the role is
    /// then free once it has, and taking it stores nothing more.
    async fn store_local_change(
        self: &Arc<Self>,
        id: &DocumentId,
        document: &Arc<super::document::LoadedDocument>,
    ) -> Result<(), LocalWriteError> {
        while document.writing.swap(true, Ordering::AcqRel) {
            tokio::time::sleep(WRITER_POLL).await;
        }
        if document.state.lock().await.broken {
            document.writing.store(false, Ordering::Release);
            return Err(LocalWriteError::Storage);
        }
        self.write(id, document, Compaction::WhenLarge, Writer::Connection)
            .await
            .map_err(LocalWriteError::from)
    }
}
