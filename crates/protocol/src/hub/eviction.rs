//! Which documents leave memory (storage keeps them all): those nobody uses, least recently used
//! first — to make room for a new one when a budget is spent, and periodically when idle too long
//! or over the memory budget.

use std::time::Duration;

use crate::DocumentId;

/// A document in memory, as eviction sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The document.
    pub id: DocumentId,
    /// When it was last used ([`HubDocument::last_used`](super::HubDocument::last_used)).
    pub last_used: Duration,
    /// Its stored bytes.
    pub stored_bytes: u64,
    /// Whether it may leave ([`HubDocument::is_idle`](super::HubDocument::is_idle); a driver that
    /// finds the document busy counts it as not idle).
    pub idle: bool,
}

/// Of `candidates`, those to evict at `now`: idle ones unused for `idle_eviction`, then the least
/// recently used idle ones until what stays fits `memory_budget_bytes`.
pub(super) fn periodic(
    now: Duration,
    mut candidates: Vec<Candidate>,
    idle_eviction: Duration,
    memory_budget_bytes: u64,
) -> Vec<DocumentId> {
    let mut total: u64 = candidates.iter().map(|c| c.stored_bytes).sum();
    candidates.retain(|c| c.idle);
    candidates.sort_by_key(|c| (c.last_used, c.id));
    let mut evicted = Vec::new();
    for c in candidates {
        let too_old = now.saturating_sub(c.last_used) >= idle_eviction;
        if too_old || total > memory_budget_bytes {
            evicted.push(c.id);
            total = total.saturating_sub(c.stored_bytes);
        }
    }
    evicted
}

/// The idle `candidates`, least recently used first: the order to evict them in to make room.
pub(super) fn least_recently_used(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.retain(|c| c.idle);
    candidates.sort_by_key(|c| (c.last_used, c.id));
    candidates
}
