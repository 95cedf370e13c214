//! The memory budgets of documents: bytes held per document, per user and in all, and the rule that
//! decides whether a new document session may open.
//!
//! A document's cost is its stored size (snapshot plus chunks) plus a fixed overhead, so that many
//! empty documents cost something too (20,000 empty documents on one socket took 252 MB before any
//! cap: about 12 KB each with their sessions and replies). A budget is *spent* once the bytes held
//! reach it; while it is spent no new session is admitted, so it is exceeded by at most one
//! document's size. Plain data, part of the [`Hub`](super::Hub).

use std::collections::HashMap;

use crate::DocumentId;

use super::refusal::{BudgetScope, Refusal};

/// What one document in memory is counted as beyond its stored bytes.
pub(super) const DOCUMENT_OVERHEAD_BYTES: u64 = 8 << 10;

/// The three budgets, in bytes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Budgets {
    pub(super) per_connection: u64,
    pub(super) per_user: u64,
    pub(super) relay: u64,
}

/// Bytes of documents in memory.
#[derive(Debug, Default)]
pub(super) struct MemoryLedger {
    documents: HashMap<DocumentId, (String, u64)>,
    per_user: HashMap<String, u64>,
    total: u64,
}

impl MemoryLedger {
    /// A document of `owner` with `stored_bytes` is now in memory.
    pub(super) fn insert(&mut self, id: DocumentId, owner: &str, stored_bytes: u64) {
        self.remove(&id);
        let cost = stored_bytes + DOCUMENT_OVERHEAD_BYTES;
        self.documents.insert(id, (owner.to_owned(), cost));
        *self.per_user.entry(owner.to_owned()).or_insert(0) += cost;
        self.total += cost;
    }

    /// A document in memory now has `stored_bytes` (after an append or a compaction). Ignored for a
    /// document no longer in memory.
    pub(super) fn resize(&mut self, id: &DocumentId, stored_bytes: u64) {
        let Some((owner, cost)) = self.documents.get_mut(id) else {
            return;
        };
        let new = stored_bytes + DOCUMENT_OVERHEAD_BYTES;
        let user = self.per_user.entry(owner.clone()).or_insert(0);
        *user = user.saturating_sub(*cost) + new;
        self.total = self.total.saturating_sub(*cost) + new;
        *cost = new;
    }

    /// A document left memory.
    pub(super) fn remove(&mut self, id: &DocumentId) {
        let Some((owner, cost)) = self.documents.remove(id) else {
            return;
        };
        self.total = self.total.saturating_sub(cost);
        if let Some(user) = self.per_user.get_mut(&owner) {
            *user = user.saturating_sub(cost);
            if *user == 0 {
                self.per_user.remove(&owner);
            }
        }
    }

    /// The owner of a document in memory.
    pub(super) fn owner_of(&self, id: &DocumentId) -> Option<&str> {
        self.documents.get(id).map(|(owner, _)| owner.as_str())
    }

    /// Documents in memory.
    pub(super) fn len(&self) -> usize {
        self.documents.len()
    }

    /// Bytes of all documents in memory.
    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// Whether a connection with sessions on `open` may open a session on one more document.
    pub(super) fn admit_session<'a>(
        &self,
        budgets: &Budgets,
        open: impl IntoIterator<Item = &'a DocumentId>,
    ) -> Result<(), Refusal> {
        let held: u64 = open
            .into_iter()
            .filter_map(|id| self.documents.get(id))
            .map(|(_, cost)| cost)
            .sum();
        if held >= budgets.per_connection {
            return Err(Refusal::MemoryBudget {
                scope: BudgetScope::Connection,
                limit: budgets.per_connection,
            });
        }
        Ok(())
    }

    /// Whether one more document of `user` may be brought into memory; the budget that is spent if
    /// not.
    pub(super) fn admit_load(&self, budgets: &Budgets, user: &str) -> Result<(), Refusal> {
        if self.per_user.get(user).copied().unwrap_or(0) >= budgets.per_user {
            return Err(Refusal::MemoryBudget {
                scope: BudgetScope::User,
                limit: budgets.per_user,
            });
        }
        if self.total >= budgets.relay {
            return Err(Refusal::MemoryBudget {
                scope: BudgetScope::Relay,
                limit: budgets.relay,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    const BUDGETS: Budgets = Budgets {
        per_connection: 3 * DOCUMENT_OVERHEAD_BYTES,
        per_user: 4 * DOCUMENT_OVERHEAD_BYTES,
        relay: 6 * DOCUMENT_OVERHEAD_BYTES,
    };

    #[test]
    fn a_spent_budget_refuses_new_documents_until_one_leaves_memory() {
        let mut ledger = MemoryLedger::default();
        for n in 0..4 {
            ledger.admit_load(&BUDGETS, "alice").unwrap();
            ledger.insert(id(n), "alice", 0);
        }
        assert!(matches!(
            ledger.admit_load(&BUDGETS, "alice"),
            Err(Refusal::MemoryBudget {
                scope: BudgetScope::User,
                ..
            })
        ));
        ledger.insert(id(10), "bob", 0);
        ledger.insert(id(11), "bob", 0);
        assert!(matches!(
            ledger.admit_load(&BUDGETS, "bob"),
            Err(Refusal::MemoryBudget {
                scope: BudgetScope::Relay,
                ..
            })
        ));
        ledger.remove(&id(0));
        ledger.admit_load(&BUDGETS, "alice").unwrap();
        assert_eq!(ledger.len(), 5);
        assert_eq!(ledger.total(), 5 * DOCUMENT_OVERHEAD_BYTES);
    }

    #[test]
    fn a_connection_is_charged_for_the_documents_it_has_open_at_their_current_size() {
        let mut ledger = MemoryLedger::default();
        ledger.insert(id(1), "alice", 0);
        ledger.insert(id(2), "alice", 0);
        ledger.admit_session(&BUDGETS, &[id(1), id(2)]).unwrap();
        ledger.resize(&id(2), DOCUMENT_OVERHEAD_BYTES);
        assert!(matches!(
            ledger.admit_session(&BUDGETS, &[id(1), id(2)]),
            Err(Refusal::MemoryBudget {
                scope: BudgetScope::Connection,
                ..
            })
        ));
        // Resizing a document that left memory changes nothing.
        ledger.remove(&id(2));
        ledger.resize(&id(2), 1 << 30);
        assert_eq!(ledger.total(), DOCUMENT_OVERHEAD_BYTES);
    }
}
