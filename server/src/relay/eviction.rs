//! Documents leaving memory: when a connection closes, when idle, when a memory budget is spent,
//! and at shutdown. Storage keeps them all; the documents map's lock is never held across an await.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use chatsync_protocol::DocumentId;

use super::document::LoadedDocument;
use super::refusal::{BudgetScope, Refusal};
use super::{ConnId, Relay};
use crate::storage::Storage;

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
                self.with_ledger(|ledger| ledger.remove(id));
            }
        }
    }

    /// Whether one more document of `user` may be loaded into memory. If a budget is spent, documents
    /// nobody is connected to leave memory first, least recently used first, to make room: the user's
    /// own for their budget, anyone's for the relay's. They are not compacted on the way out (that is
    /// Automerge work, and this runs on a connection's path); storage still holds all of them.
    pub(crate) fn admit_load(&self, user: &str) -> Result<(), Refusal> {
        let budgets = self.budgets();
        let admit = || self.with_ledger(|ledger| ledger.admit_load(&budgets, user));
        let Err(refusal) = admit() else {
            return Ok(());
        };
        let only_users_own = matches!(
            refusal,
            Refusal::MemoryBudget {
                scope: BudgetScope::User,
                ..
            }
        );
        let mut documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut idle: Vec<(Instant, DocumentId)> = documents
            .iter()
            .filter_map(|(id, slot)| {
                let document = slot.get()?;
                let d = idle_state(document)?;
                let evictable = !only_users_own || document.owner == user;
                evictable.then_some((d, *id))
            })
            .collect();
        idle.sort();
        for (_, id) in idle {
            if admit().is_ok() {
                break;
            }
            if documents.remove(&id).is_some() {
                self.with_ledger(|ledger| ledger.remove(&id));
            }
        }
        admit()
    }

    /// Whether a connection with sessions on `open` may open one more (its memory budget).
    pub(crate) fn admit_session(&self, open: &HashSet<DocumentId>) -> Result<(), Refusal> {
        let budgets = self.budgets();
        self.with_ledger(|ledger| ledger.admit_session(&budgets, open))
    }

    /// Forgets a closed connection's sessions.
    pub(crate) async fn remove_connection(
        &self,
        conn: ConnId,
        documents: impl IntoIterator<Item = DocumentId>,
    ) {
        for id in documents {
            if let Some(document) = self.loaded(&id) {
                let mut d = document.state.lock().await;
                d.peers.remove(&conn);
                d.last_used = Instant::now();
            }
        }
    }

    /// Evicts documents nobody is connected to: those idle too long, then the least recently used
    /// until the loaded ones fit the memory budget. Returns how many were evicted.
    pub async fn evict(self: &Arc<Self>, now: Instant) -> usize {
        let mut evicted = Vec::new();
        {
            let mut documents = self
                .documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut idle: Vec<(Instant, u64, DocumentId)> = Vec::new();
            let mut total = 0;
            for (id, slot) in documents.iter() {
                let Some(document) = slot.get() else { continue };
                // A document busy with a sync is in use: skip it rather than wait.
                let Ok(d) = document.state.try_lock() else {
                    continue;
                };
                total += d.stored_bytes();
                if d.peers.is_empty()
                    && !document.writing.load(std::sync::atomic::Ordering::Acquire)
                {
                    idle.push((d.last_used, d.stored_bytes(), *id));
                }
            }
            idle.sort();
            for (last_used, bytes, id) in idle {
                let too_old = now.saturating_duration_since(last_used) >= self.limits.idle_eviction;
                if too_old || total > self.limits.memory_budget_bytes {
                    if let Some(document) = documents.remove(&id).and_then(|s| s.get().cloned()) {
                        self.with_ledger(|ledger| ledger.remove(&id));
                        evicted.push((id, document));
                    }
                    total = total.saturating_sub(bytes);
                }
            }
        }
        let count = evicted.len();
        for (id, document) in evicted {
            self.compact_document(&id, &document).await;
        }
        count
    }

    /// Compacts every document in memory that has chunks, so the next cold load reads one snapshot.
    /// Run at shutdown, after the connections have closed.
    pub async fn compact_all(self: &Arc<Self>) {
        let documents: Vec<(DocumentId, Arc<LoadedDocument>)> = {
            let documents = self
                .documents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            documents
                .iter()
                .filter_map(|(id, slot)| Some((*id, slot.get()?.clone())))
                .collect()
        };
        for (id, document) in documents {
            self.compact_document(&id, &document).await;
        }
    }
}

/// When a document nobody is connected to and nobody is busy with was last used; `None` if it is in
/// use (a sync holds its lock, a writer is storing it, or a connection has a session on it).
fn idle_state(document: &LoadedDocument) -> Option<Instant> {
    if document.writing.load(std::sync::atomic::Ordering::Acquire) {
        return None;
    }
    let d = document.state.try_lock().ok()?;
    d.peers.is_empty().then_some(d.last_used)
}
