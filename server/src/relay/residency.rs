//! Which documents stay in memory: sessions removed when connections close, admission of new
//! documents against the memory budgets, eviction of documents nobody is connected to, and
//! compaction of what leaves memory or is left at shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chatsync_protocol::DocumentId;
use tokio::sync::Mutex;

use super::document::LoadedDocument;
use super::refusal::{BudgetScope, Refusal};
use super::{ConnId, Relay};
use crate::storage::Storage;

impl<S: Storage> Relay<S> {
    /// Drops documents from memory (not from storage): their sessions go with them, and the next
    /// message on each loads it again from what storage holds.
    pub(crate) async fn forget_documents<'a>(&self, ids: impl IntoIterator<Item = &'a DocumentId>) {
        let mut documents = self.documents.lock().await;
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
    pub(super) async fn admit_load(&self, user: &str) -> Result<(), Refusal> {
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
        let mut documents = self.documents.lock().await;
        let mut idle: Vec<(Instant, DocumentId)> = documents
            .iter()
            .filter_map(|(id, handle)| {
                let d = handle.try_lock().ok()?;
                let evictable = d.is_idle() && (!only_users_own || d.owner == user);
                evictable.then_some((d.last_used, *id))
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
            let handle = self.documents.lock().await.get(&id).cloned();
            if let Some(handle) = handle {
                handle.lock().await.remove_session(conn);
            }
        }
    }

    /// Evicts documents nobody is connected to: those idle too long, then the least recently used
    /// until the loaded ones fit the memory budget. Returns how many were evicted.
    pub async fn evict(&self, now: Instant) -> usize {
        let mut evicted = Vec::new();
        {
            let mut documents = self.documents.lock().await;
            let mut idle: Vec<(Instant, u64, DocumentId)> = Vec::new();
            let mut total = 0;
            for (id, handle) in documents.iter() {
                // A document busy with a sync is in use: skip it rather than wait.
                let Ok(d) = handle.try_lock() else { continue };
                total += d.stored_bytes();
                if d.is_idle() {
                    idle.push((d.last_used, d.stored_bytes(), *id));
                }
            }
            idle.sort();
            for (last_used, bytes, id) in idle {
                let too_old = now.saturating_duration_since(last_used) >= self.limits.idle_eviction;
                if too_old || total > self.limits.memory_budget_bytes {
                    if let Some(handle) = documents.remove(&id) {
                        self.with_ledger(|ledger| ledger.remove(&id));
                        evicted.push((id, handle));
                    }
                    total = total.saturating_sub(bytes);
                }
            }
        }
        let count = evicted.len();
        for (id, handle) in evicted {
            self.compact_if_needed(&id, &handle).await;
        }
        count
    }

    /// Compacts every document in memory that has chunks, so the next cold load reads one snapshot.
    /// Run at shutdown, after the connections have closed.
    pub async fn compact_all(&self) {
        let documents: Vec<_> = self
            .documents
            .lock()
            .await
            .iter()
            .map(|(id, handle)| (*id, handle.clone()))
            .collect();
        for (id, handle) in documents {
            self.compact_if_needed(&id, &handle).await;
        }
    }

    /// Folds a document's chunks into its snapshot: a snapshot loads several times faster than the
    /// same history as chunks.
    pub(super) async fn compact_if_needed(
        &self,
        id: &DocumentId,
        handle: &Arc<Mutex<LoadedDocument>>,
    ) {
        self.compact(id, &mut *handle.lock().await).await;
    }
}
