//! Documents leaving memory — when a budget is spent, when idle, at shutdown — as the hub chooses;
//! and sessions leaving documents when their connection closes. Storage keeps every document; the
//! documents map's lock is never held across an await.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use chatsync_protocol::DocumentId;
use chatsync_protocol::hub::{Candidate, Compaction, ConnId, Refusal};

use super::Relay;
use super::document::{LoadedDocument, Slot};
use super::tasks::Runner;
use crate::storage::Storage;

/// Each document in memory that nobody is busy with right now (its lock is free), as eviction sees
/// it. A document in the middle of a step is in use: skipped rather than waited for.
fn candidates(documents: &HashMap<DocumentId, Arc<Slot>>) -> Vec<Candidate> {
    documents
        .iter()
        .filter_map(|(id, slot)| {
            let state = slot.get()?.state.try_lock().ok()?;
            Some(Candidate {
                id: *id,
                last_used: state.hub.last_used(),
                stored_bytes: state.hub.stored_bytes(),
                idle: state.hub.is_idle(),
            })
        })
        .collect()
}

impl<S: Storage> Relay<S> {
    /// Drops documents from memory (not from storage): their sessions go with them, and the next
    /// message on each loads it again from what storage holds.
    pub(crate) fn forget_documents<'a>(&self, ids: impl IntoIterator<Item = &'a DocumentId>) {
        let mut documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            if documents.remove(id).is_some() {
                self.with_hub(|hub| hub.document_forgotten(id));
            }
        }
    }

    /// Whether one more document of `user` may be loaded into memory; documents the hub evicts to
    /// make room leave the map (not compacted: that is Automerge work, and this runs on a
    /// connection's path).
    pub(crate) fn admit_load(&self, user: &str) -> Result<(), Refusal> {
        let mut documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let evicted = self.with_hub(|hub| hub.admit_load(user, candidates(&documents)))?;
        for id in evicted {
            documents.remove(&id);
        }
        Ok(())
    }

    /// Connection `conn` closed: its sessions leave `documents`.
    pub(crate) async fn remove_connection(
        &self,
        conn: ConnId,
        documents: impl IntoIterator<Item = DocumentId>,
    ) {
        for id in documents {
            if let Some(document) = self.loaded(&id) {
                let mut state = document.state.lock().await;
                state.hub.handle_leave(self.now(), conn);
                state.outboxes.remove(&conn);
            }
        }
    }

    /// Evicts the documents the hub picks at `now`: those nobody uses that are idle too long, then
    /// the least recently used until the rest fit the memory budget. Each is compacted on its way
    /// out. Returns how many were evicted.
    pub async fn evict(self: &Arc<Self>, now: Instant) -> usize {
        let now = now.saturating_duration_since(self.epoch);
        let evicted: Vec<Arc<LoadedDocument>> = {
            let mut documents = self
                .documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let chosen = self.with_hub(|hub| hub.evictions(now, candidates(&documents)));
            chosen
                .iter()
                .filter_map(|id| documents.remove(id)?.get().cloned())
                .collect()
        };
        let count = evicted.len();
        for document in evicted {
            self.compact_document(&document).await;
        }
        count
    }

    /// Compacts every document in memory that has chunks, so the next cold load reads one snapshot.
    /// Run at shutdown, after the connections have closed.
    pub async fn compact_all(self: &Arc<Self>) {
        let documents: Vec<Arc<LoadedDocument>> = {
            let documents = self
                .documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            documents
                .values()
                .filter_map(|s| s.get().cloned())
                .collect()
        };
        for document in documents {
            self.compact_document(&document).await;
        }
    }

    /// Compacts one document if it has chunks and nothing is in flight. Failure only costs load
    /// speed, so it is logged.
    async fn compact_document(self: &Arc<Self>, document: &Arc<LoadedDocument>) {
        let carried = self
            .step(
                document,
                None,
                (),
                |hub, ()| hub.stored_bytes(),
                |state, ()| {
                    state.hub.compact(Compaction::Any);
                },
            )
            .await;
        match carried {
            Ok(((), carried)) => {
                let done = self.run_tasks(document, carried, Runner::Background).await;
                if let Err(ended) = done {
                    tracing::warn!(document = %document.id, ?ended, "compaction failed");
                }
            }
            Err(refusal) => {
                tracing::warn!(document = %document.id, error = %refusal, "compaction failed")
            }
        }
    }
}
