//! Which documents had changes stored since the search index last read them, from a device's sync
//! or the relay's own writes (the HTTP API): so the search index follows each thread as it changes.
//! Model-agnostic like the rest of the relay: it only keeps "this document of this user has new
//! stored changes"; the search indexer reads the document and decides.
//!
//! A set, not a queue: a thread streaming a reply is one entry however many deltas are stored. Two
//! readers take from it: the indexer (everything, moments after a change), and a search (the
//! caller's own entries, first, so a search right after a write finds what was written). Bounded: a
//! change that does not fit is dropped and counted (that thread is indexed at its next change).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chatsync_protocol::DocumentId;
use tokio::sync::Notify;

use super::Relay;
use crate::storage::Storage;

/// Documents waiting at most.
const MAX_CHANGED: usize = 10_000;

/// The documents with changes not yet taken, by user.
#[derive(Default)]
pub(crate) struct ChangeWatch {
    changed: Mutex<Changed>,
    arrived: Notify,
}

#[derive(Default)]
struct Changed {
    by_user: HashMap<String, HashSet<DocumentId>>,
    count: usize,
}

impl<S: Storage> Relay<S> {
    /// Document `id` of `user` had changes stored.
    pub(crate) fn changes_stored(&self, user: &str, id: &DocumentId) {
        let mut changed = self.changed();
        let Changed { by_user, count } = &mut *changed;
        let known = by_user.get(user).is_some_and(|ids| ids.contains(id));
        if known {
            return;
        }
        if *count >= MAX_CHANGED {
            drop(changed);
            self.metrics.refused("change_notice_dropped");
            return;
        }
        by_user.entry(user.to_owned()).or_default().insert(*id);
        *count += 1;
        drop(changed);
        self.change_watch.arrived.notify_one();
    }

    /// Waits until a document has changes not yet taken (at once if one has).
    pub(crate) async fn changes_arrived(&self) {
        self.change_watch.arrived.notified().await;
    }

    /// Every (user, document) with changes not yet taken; they are taken.
    pub(crate) fn take_changes(&self) -> Vec<(String, DocumentId)> {
        let mut changed = self.changed();
        changed.count = 0;
        std::mem::take(&mut changed.by_user)
            .into_iter()
            .flat_map(|(user, ids)| ids.into_iter().map(move |id| (user.clone(), id)))
            .collect()
    }

    /// Up to `max` of `user`'s documents with changes not yet taken; they are taken.
    pub(crate) fn take_changes_of(&self, user: &str, max: usize) -> Vec<DocumentId> {
        let mut changed = self.changed();
        let Some(ids) = changed.by_user.get_mut(user) else {
            return Vec::new();
        };
        let taken: Vec<DocumentId> = ids.iter().take(max).copied().collect();
        for id in &taken {
            ids.remove(id);
        }
        if ids.is_empty() {
            changed.by_user.remove(user);
        }
        changed.count -= taken.len();
        taken
    }

    fn changed(&self) -> std::sync::MutexGuard<'_, Changed> {
        self.change_watch
            .changed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
