//! The one way the relay changes a document itself (the HTTP API's writes): open it as its owner,
//! commit the change through the hub document on the blocking pool, and wait until storage holds
//! it — the hub then syncs it to every connected device, the same store-before-acknowledge rule as
//! a device's change.
//!
//! Everything here is model-agnostic: the caller passes a closure over the Automerge document, and
//! the API layer wraps it in the model. The hub decides ([`HubDocument::commit`],
//! [`HubDocument::is_stored`]); this file only carries the effects: ownership and loading
//! (`open_document`), one step on the blocking pool, the storage tasks (`run_tasks`), and waiting.
//!
//! [`HubDocument::commit`]: chatsync_protocol::hub::HubDocument::commit
//! [`HubDocument::is_stored`]: chatsync_protocol::hub::HubDocument::is_stored

use std::sync::Arc;
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};
use chatsync_protocol::DocumentId;
use chatsync_protocol::hub::Refusal;

use super::Relay;
use super::cpu::Weight;
use super::document::LoadedDocument;
use super::sync::Place;
use crate::storage::{ShareAccess, Storage};

/// How a local write opens its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// The document must exist and be the user's.
    Existing,
    /// A document nobody has is made for the user (a new thread, a first index).
    CreateIfAbsent,
}

/// What a call may do to a document shared with the caller (its owner may do everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// It only reads: a grantee with read or write access may.
    Read,
    /// It may write: only a grantee with write access may.
    Write,
}

/// Why a local write or read did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalWriteError {
    /// No such document, or another user's: the two are never told apart.
    #[error("not found")]
    NotFound,
    /// The document is shared with the user read-only, and the call may write.
    #[error("the document is shared with this user read-only")]
    ReadOnly,
    /// The document was purged: it takes no more changes and is never made again.
    #[error("purged")]
    Purged,
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
    /// Storage did not confirm the change within `waited`. It may still be stored (the document
    /// keeps it and goes on storing it), so read before repeating a write that is not idempotent.
    #[error("storage did not confirm the change within {} s", .waited.as_secs())]
    NotConfirmed {
        /// How long the write waited.
        waited: Duration,
    },
}

impl From<Refusal> for LocalWriteError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unavailable => Self::NotFound,
            Refusal::DocumentTooLarge { limit } => Self::TooLarge { limit },
            Refusal::MemoryBudget { .. } | Refusal::TooManyDocuments(_) => {
                Self::Busy(refusal.to_string())
            }
            Refusal::Storage => Self::Storage,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// How long a waiting write goes without a step before it looks again (a document dropped from
/// memory by a panic in a background task is not stepped again).
const RECHECK: Duration = Duration::from_millis(50);

impl<S: Storage> Relay<S> {
    /// Runs `change` on document `id` as `user`, on the blocking pool with the document's lock held.
    /// If it changed the document, returns only once storage holds the change, which the hub then
    /// sends every connected peer. A `change` that changes nothing (a read) stores nothing.
    ///
    /// A document shared with `user` with write access is changed as its owner's; see
    /// [`Relay::read_document`] for reads.
    pub async fn with_document<R: Send + 'static>(
        self: &Arc<Self>,
        user: &str,
        id: &DocumentId,
        open: Open,
        change: impl FnOnce(&mut AutoCommit) -> R + Send + 'static,
    ) -> Result<R, LocalWriteError> {
        self.with_document_for(user, id, open, Need::Write, change)
            .await
    }

    /// [`Relay::with_document`] for a `change` that only reads: a grantee with read access may.
    pub async fn read_document<R: Send + 'static>(
        self: &Arc<Self>,
        user: &str,
        id: &DocumentId,
        change: impl FnOnce(&mut AutoCommit) -> R + Send + 'static,
    ) -> Result<R, LocalWriteError> {
        self.with_document_for(user, id, Open::Existing, Need::Read, change)
            .await
    }

    async fn with_document_for<R: Send + 'static>(
        self: &Arc<Self>,
        user: &str,
        id: &DocumentId,
        open: Open,
        need: Need,
        change: impl FnOnce(&mut AutoCommit) -> R + Send + 'static,
    ) -> Result<R, LocalWriteError> {
        // One indexed lookup whether the document is missing or someone else's, so the two answers
        // take the same time; then only the owner's documents, and those shared with the user, are
        // ever loaded.
        let owner = self.storage.owner(id).await.map_err(|e| {
            tracing::warn!(document = %id, error = %e, "a local write could not reach storage");
            LocalWriteError::Storage
        })?;
        let missing = owner.is_none() && open == Open::Existing && self.loaded(id).is_none();
        if missing {
            return Err(LocalWriteError::NotFound);
        }
        let opener = match owner {
            Some(owner) if owner != user => {
                let access = self.storage.share_access(id, user).await.map_err(|e| {
                    tracing::warn!(document = %id, error = %e, "a share lookup could not reach storage");
                    LocalWriteError::Storage
                })?;
                match (access, need) {
                    (None, _) => return Err(LocalWriteError::NotFound),
                    (Some(ShareAccess::Read), Need::Write) => {
                        return Err(LocalWriteError::ReadOnly);
                    }
                    (Some(_), _) => owner,
                }
            }
            _ => user.to_owned(),
        };
        let creates = open == Open::CreateIfAbsent && opener == user;
        let Some(document) = self.open_document(id, &opener, creates).await? else {
            return Err(self.unavailable(id).await);
        };
        let (limit, now) = (self.limits.max_document_bytes, self.now());
        let place = |hub: &chatsync_protocol::hub::HubDocument, _: &_| {
            Place::Pool(Weight::of(hub.stored_bytes()))
        };
        let (committed, carried) = self
            .step_in(&document, None, change, place, move |state, change| {
                let hub = &mut state.hub;
                if hub.stored_bytes() > limit {
                    return Err(LocalWriteError::TooLarge { limit });
                }
                let before = hub.doc().get_heads();
                let result = hub.commit(now, change)?;
                // Only this change counts: a device's change being stored right now does not make
                // a read wait for storage.
                let after = hub.doc().get_heads();
                Ok((result, (after != before).then_some(after)))
            })
            .await?;
        // Whatever the step asked for is carried out, even for a refused or read-only call — in a
        // task of its own, so the wait below has a deadline without cutting a storage call in half
        // (which would leave the document waiting for its result), and a storage call that panics
        // is caught there: the copy leaves memory, its sessions are closed, and this write fails.
        if !carried.tasks.is_empty() || carried.compaction_due {
            self.hand_off(&document, carried.tasks.into(), carried.compaction_due);
        }
        let (result, changed) = committed?;
        if let Some(heads) = changed {
            let waited = self.limits.http_request_timeout;
            tokio::time::timeout(waited, self.until_stored(&document, &heads))
                .await
                .map_err(|_| LocalWriteError::NotConfirmed { waited })??;
            self.changes_stored(&opener, id);
        }
        Ok(result)
    }

    /// Waits until storage holds `heads` of `document` (an earlier writer of the document may be
    /// storing them, with its own changes); the caller bounds the wait. Fails once they can no longer be stored: a failed
    /// write replaced memory with what storage holds, or the document left memory.
    async fn until_stored(
        &self,
        document: &Arc<LoadedDocument>,
        heads: &[ChangeHash],
    ) -> Result<(), LocalWriteError> {
        loop {
            // Armed before looking, so a step between the look and the wait still wakes it.
            let mut stepped = std::pin::pin!(document.stepped.notified());
            stepped.as_mut().enable();
            {
                let mut state = document.state.lock().await;
                if state.hub.is_stored(heads) {
                    return Ok(());
                }
                let doc = state.hub.doc();
                let lost = heads
                    .iter()
                    .any(|h| doc.get_change_meta_by_hash(h).is_none());
                if lost || !self.holds(document) {
                    return Err(LocalWriteError::Storage);
                }
            }
            let _ = tokio::time::timeout(RECHECK, stepped).await;
        }
    }

    /// Whether `document` is still the copy in memory.
    fn holds(&self, document: &Arc<LoadedDocument>) -> bool {
        self.loaded(&document.id)
            .is_some_and(|held| Arc::ptr_eq(&held, document))
    }
}
