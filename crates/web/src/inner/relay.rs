//! The store's calls that wait for the relay — a fetch, `sync()` — and what they read of the link
//! without waiting: acknowledgements, the pending count, the sync states a flush stores.

use std::rc::Rc;

use automerge::ChangeHash;
use chatsync_protocol::{DocumentId, SavedSync};

use super::{StoreDocs, StoreInner};
use crate::channel::reply;
use crate::error::{Result, StoreError};
use crate::idb::Write;
use crate::sync::Kick;
use crate::util::within;

/// How long `sync()` and a fetch wait for the relay.
const RELAY_WAIT_MS: u32 = 15_000;

impl StoreInner {
    /// Tells the sync driver something (nothing for a local-only store).
    pub fn kick(&self, kick: Kick) {
        if let Some(tx) = &self.kicks {
            tx.send(kick);
        }
    }

    /// Asks the relay for a thread this device does not store; resolves once it is held (and stored).
    pub async fn fetch_thread(self: &Rc<Self>, id: DocumentId) -> Result<()> {
        if self.relay.is_none() || !self.sync.is_joined() {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let (tx, rx) = reply();
        self.kick(Kick::Fetch(id, tx));
        // On a timeout the receiver is dropped: the driver sees it and gives the fetch up.
        match within(RELAY_WAIT_MS, rx).await {
            Some(result) => result.unwrap_or(Err(StoreError::Closed)),
            None => Err(StoreError::Offline(format!(
                "the relay did not send thread {id} in 15 s"
            ))),
        }
    }

    /// Resolves once the relay holds every document's current heads.
    pub async fn wait_synced(self: &Rc<Self>) -> Result<usize> {
        if self.relay.is_none() {
            return Err(StoreError::Offline("this store has no relayUrl".into()));
        }
        if !self.sync.is_joined() {
            return Err(StoreError::Offline("the relay is not reachable".into()));
        }
        self.flush().await?;
        let heads = self.all_heads(true);
        let count = heads.len();
        let (tx, rx) = reply();
        self.kick(Kick::Acknowledge(heads, tx));
        match within(RELAY_WAIT_MS, rx).await {
            Some(result) => result.unwrap_or(Err(StoreError::Closed)).map(|()| count),
            None => Err(StoreError::Offline(
                "the relay did not acknowledge within 15 s".into(),
            )),
        }
    }

    /// Whether the relay has acknowledged `heads` of document `id` (held by the link).
    pub fn acknowledged(&self, id: DocumentId, heads: &[ChangeHash]) -> bool {
        self.sync
            .link()
            .acknowledged(id, heads, &mut StoreDocs(self))
    }

    /// Documents whose current heads the relay has not acknowledged. A thread painted from storage
    /// whose document has not loaded is pending when it carries an unsynced mark: `status()` runs on
    /// every render of a React app, and loading documents here would undo `background.rs`.
    pub fn pending_documents(&self) -> usize {
        let unacknowledged = self
            .all_heads(false)
            .into_iter()
            .filter(|(id, heads)| !self.acknowledged(*id, heads))
            .count();
        unacknowledged + self.unloaded_unsynced()
    }

    /// The sync states that moved since storage last held them, for a flush to write. Only states
    /// shared with a relay that has a storage id are kept: another relay never saw those heads.
    pub(crate) fn sync_state_writes(&self) -> Vec<Write> {
        self.each_persisted(|id, doc, persisted| {
            self.sync_state_to_keep(id)
                .and_then(|saved| persisted.sync_write(doc, saved))
        })
        .into_iter()
        .map(Write::from)
        .collect()
    }

    /// The sync state worth storing of a document's session with the relay, as storage keeps it.
    pub(crate) fn sync_state_to_keep(&self, id: DocumentId) -> Option<crate::persist::SavedSync> {
        match self.sync.read_link().saved_sync(id) {
            Some(SavedSync {
                relay_storage: Some(peer),
                state,
            }) => Some(crate::persist::SavedSync { peer, state }),
            _ => None,
        }
    }

    /// The saved sync state a document's session resumes from (shared with `peer`'s storage).
    pub(crate) fn resume_state(&self, id: DocumentId) -> Option<SavedSync> {
        self.saved_sync_of(id).map(|saved| SavedSync {
            relay_storage: Some(saved.peer),
            state: saved.state,
        })
    }
}
