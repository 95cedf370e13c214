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
    /// Drops `document` from memory (not from storage) after something went wrong under it — a step
    /// or a storage call panicked, so it may be half-changed or wait for a result that never comes.
    /// Only this copy leaves: a copy loaded since stays. Every session on it but `own`'s (which
    /// closes itself) is closed, so its device reconnects and resyncs with what storage holds
    /// instead of talking to a copy nobody stores or syncs.
    pub(crate) async fn forget_copy(&self, document: &Arc<LoadedDocument>, own: Option<ConnId>) {
        self.remove_copy(document);
        let carried = {
            let mut state = document.state.lock().await;
            state.hub.close_all_sessions(&Refusal::Panicked);
            state.carry(own)
        };
        for label in &carried.refused {
            self.metrics.refused(label);
        }
        document.stepped.notify_waiters();
    }

    /// The copies of `documents` connection `conn` has a session on, forgotten ([`Relay::forget_copy`]).
    pub(crate) async fn forget_copies_of(&self, conn: ConnId, documents: &[DocumentId]) {
        for id in documents {
            let Some(document) = self.loaded(id) else {
                continue;
            };
            let on_it = document.state.lock().await.outboxes.contains_key(&conn);
            if on_it {
                self.forget_copy(&document, Some(conn)).await;
            }
        }
    }

    /// Removes `document` from the map if it is still the copy there; returns whether it was.
    pub(crate) fn remove_copy(&self, document: &Arc<LoadedDocument>) -> bool {
        let mut documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let same = documents
            .get(&document.id)
            .and_then(|slot| slot.get())
            .is_some_and(|held| Arc::ptr_eq(held, document));
        if same {
            documents.remove(&document.id);
            self.with_hub(|hub| hub.document_forgotten(&document.id));
        }
        same
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
                state.guests.remove(&conn);
            }
        }
    }

    /// Evicts the documents the hub picks at `now`: those nobody uses that are idle too long, then
    /// the least recently used until the rest fit the memory budget. Each is compacted on its way
    /// out. Returns how many were evicted.
    pub async fn evict(self: &Arc<Self>, now: Instant) -> usize {
        let now = now.saturating_duration_since(self.epoch);
        let chosen: Vec<Arc<LoadedDocument>> = {
            let documents = self
                .documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let chosen = self.with_hub(|hub| hub.evictions(now, candidates(&documents)));
            chosen
                .iter()
                .filter_map(|id| documents.get(id)?.get().cloned())
                .collect()
        };
        let mut count = 0;
        for document in chosen {
            // Compacted while still in the map: a device opening the document meanwhile joins this
            // copy (its append waits for the compaction) instead of loading a second copy, whose
            // acknowledged append this compaction would then delete with the chunks it replaces.
            self.compact_document(&document).await;
            if self.forget_if_idle(&document) {
                count += 1;
            }
        }
        count
    }

    /// Drops `document` from memory if it is still the copy in the map and nobody came back to it
    /// (the compaction's step counted it again; a document someone reopened stays, counted).
    fn forget_if_idle(&self, document: &Arc<LoadedDocument>) -> bool {
        let idle = document
            .state
            .try_lock()
            .is_ok_and(|state| state.hub.is_idle());
        idle && self.remove_copy(document)
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

#[cfg(test)]
mod tests {
    use automerge::ROOT;
    use automerge::transaction::Transactable;

    use super::*;
    use crate::relay::Open;

    /// Review of issue 11: forgetting a document went by its id, so a late forget of a copy that had
    /// already left memory dropped the copy loaded since — with its sessions and budget count.
    #[tokio::test]
    async fn forgetting_a_copy_leaves_the_copy_loaded_since() {
        let (relay, _dir) = crate::relay::test_relay().await;
        let id = DocumentId::from_bytes([4; 16]);
        let write = |key: &'static str| {
            let relay = relay.clone();
            async move {
                relay
                    .with_document("alice", &id, Open::CreateIfAbsent, move |doc| {
                        doc.put(ROOT, key, 1).unwrap();
                    })
                    .await
                    .unwrap();
            }
        };
        write("one").await;
        let first = relay.loaded(&id).expect("in memory");
        relay.forget_copy(&first, None).await;
        assert!(relay.loaded(&id).is_none());
        write("two").await;
        let second = relay.loaded(&id).expect("loaded again");
        assert!(!Arc::ptr_eq(&first, &second));

        // A late forget of the first copy (a task that still held it) leaves the second alone.
        relay.forget_copy(&first, None).await;
        let held = relay.loaded(&id).expect("the second copy stays");
        assert!(Arc::ptr_eq(&held, &second));
        assert_eq!(relay.with_hub(|hub| hub.documents_loaded()), 1);
    }
}
