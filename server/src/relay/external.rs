//! Changes stored by other relays on the same database ([`Storage::changes`]): a document this relay
//! holds in memory is told ([`HubDocument::handle_stored_elsewhere`]), and the hub decides the rest —
//! if memory lacks the changes it reads storage once the task in flight is done, merges, and syncs
//! every session — so a device on this relay sees a change made through another one live. This file
//! only carries the notices to the documents and runs the tasks they ask for. Documents not in
//! memory need nothing: their next load reads storage.
//!
//! [`HubDocument::handle_stored_elsewhere`]: chatsync_protocol::hub::HubDocument::handle_stored_elsewhere

use std::sync::Arc;
use std::time::Duration;

use automerge::ChangeHash;
use tokio_util::sync::CancellationToken;

use super::Relay;
use super::document::LoadedDocument;
use super::tasks::Runner;
use crate::storage::{ChangeNotice, Storage, StoredChange};

/// How long a notice waits for a load of its document under way (a storage read and an Automerge
/// rebuild: seconds at most), polled this often.
const LOAD_WAIT: Duration = Duration::from_secs(5);
const LOAD_POLL: Duration = Duration::from_millis(10);

impl<S: Storage> Relay<S> {
    /// Follows the changes other relays store until `shutdown` (or forever, for storage that only
    /// this relay writes: then it returns at once).
    pub async fn follow_other_relays(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(mut feed) = self.storage.changes() else {
            return;
        };
        loop {
            let notice = tokio::select! {
                notice = feed.next() => notice,
                () = shutdown.cancelled() => return,
            };
            match notice {
                None => return,
                Some(ChangeNotice::Stored(change)) => {
                    // One task per notice: a slow read of one document must not hold up the others.
                    // Notices of one document may then be handled out of order, which is fine: the
                    // hub reads everything stored, and merging is idempotent.
                    let relay = self.clone();
                    tokio::spawn(async move { relay.catch_up(change).await });
                }
                Some(ChangeNotice::Missed) => {
                    let relay = self.clone();
                    tokio::spawn(async move { relay.catch_up_all().await });
                }
            }
        }
    }

    /// Tells the in-memory copy of one document, if this relay holds it, about `change`.
    async fn catch_up(self: Arc<Self>, change: StoredChange) {
        let Some(document) = self.loaded_or_loading(&change.document).await else {
            return;
        };
        // No heads: there were too many to name, so which changes is unknown.
        let heads = (!change.heads.is_empty()).then_some(change.heads);
        self.stored_elsewhere(&document, heads).await;
    }

    /// After notices may have been lost: every document in memory reads what is stored.
    async fn catch_up_all(self: Arc<Self>) {
        let held: Vec<Arc<LoadedDocument>> = {
            let documents = self
                .documents
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            documents
                .values()
                .filter_map(|slot| slot.get().cloned())
                .collect()
        };
        for document in held {
            self.stored_elsewhere(&document, None).await;
        }
    }

    /// One notice stepped into the document (`heads: None` when which changes is unknown), and the
    /// storage tasks it asks for carried out.
    async fn stored_elsewhere(
        self: &Arc<Self>,
        document: &Arc<LoadedDocument>,
        heads: Option<Vec<ChangeHash>>,
    ) {
        let now = self.now();
        let stepped = self
            .step(
                document,
                None,
                heads,
                |hub, _| hub.cost_of_settling(),
                move |state, heads| match heads {
                    Some(heads) => state.hub.handle_stored_elsewhere(now, heads),
                    None => state.hub.handle_stored_elsewhere_unknown(now),
                },
            )
            .await;
        let done = match stepped {
            Ok(((), carried)) => self.run_tasks(document, carried, Runner::Background).await,
            Err(refusal) => Err(refusal.into()),
        };
        if let Err(ended) = done {
            tracing::warn!(document = %document.id, ?ended, "could not read another relay's changes");
        }
    }

    /// The document if it is in memory — waiting for it if it is being loaded right now: that load
    /// may have read storage just before the change was committed, and would otherwise miss it.
    async fn loaded_or_loading(
        &self,
        id: &chatsync_protocol::DocumentId,
    ) -> Option<Arc<LoadedDocument>> {
        let deadline = tokio::time::Instant::now() + LOAD_WAIT;
        loop {
            let slot = {
                let documents = self
                    .documents
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                documents.get(id)?.clone()
            };
            if let Some(document) = slot.get() {
                return Some(document.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(document = %id, "gave up waiting for a load to apply another relay's change");
                return None;
            }
            tokio::time::sleep(LOAD_POLL).await;
        }
    }
}
