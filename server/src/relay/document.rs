//! Documents in memory and loading them on demand: one load per document at a time, the Automerge
//! work on the blocking pool, and no lock held while anything is awaited.
//!
//! The documents map is a `std::sync::Mutex` taken only to look up or insert a [`Slot`], never
//! across an `.await`. A slot is a `OnceCell`: the first connection to open a document loads it, and
//! the others await that same load instead of loading their own copy. Each document's
//! [`HubDocument`] and the outboxes of its sessions sit behind a lock of their own ([`DocState`]),
//! held for one step of the hub document and never across storage IO.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use chatsync_protocol::DocumentId;
use chatsync_protocol::hub::{Access, Close, ConnId, Hub, HubDocument, Refusal, StorageTask};
use tokio::sync::{Mutex, Notify, OnceCell};

use super::Relay;
use super::connection::Frame;
use super::cpu::Weight;
use super::outbox::Outbox;
use crate::storage::Storage;

/// A document's place in the map: empty while it loads, then the document.
pub(crate) type Slot = OnceCell<Arc<LoadedDocument>>;

/// A document held in memory.
pub(crate) struct LoadedDocument {
    pub(crate) id: DocumentId,
    /// The user it belongs to; never changes, so it is read without the state lock.
    pub(crate) owner: String,
    /// The hub document and its sessions' outboxes. A tokio mutex, held only for one step — on the
    /// blocking pool when the step is Automerge-heavy — never across storage IO.
    pub(crate) state: Arc<Mutex<DocState>>,
    /// Woken after every step, for whoever waits on what the document becomes (a local write
    /// waiting for storage to hold its change).
    pub(crate) stepped: Notify,
    /// A step panicked on this copy: it may be half-changed (a document taken out of its place, a
    /// transaction left open), so no later step may run on it — not even one by a connection that
    /// already held this copy when it left the map — lest it be stored or compacted over what
    /// storage holds.
    pub(crate) poisoned: AtomicBool,
}

/// The part of a document that changes, behind its lock.
pub(crate) struct DocState {
    pub(crate) hub: HubDocument,
    /// Where each session's frames go.
    pub(crate) outboxes: HashMap<ConnId, Outbox>,
    /// The sessions of grantees (users other than the owner), so a revoke can end them.
    pub(crate) guests: HashMap<ConnId, Guest>,
}

/// A grantee's session on a shared document.
#[derive(Clone, Debug)]
pub(crate) struct Guest {
    /// The grantee.
    pub(crate) user: String,
    /// Their device's peer id, whom the relay's frames name.
    pub(crate) peer_id: String,
}

/// What a step left for the driver to do once the document's lock is released.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    pub(crate) tasks: Vec<StorageTask>,
    pub(crate) compaction_due: bool,
    pub(crate) forget: bool,
    /// The refusal of the connection that stepped the document, for it to close with.
    pub(crate) own_close: Option<Close>,
    /// Labels of the other connections refused (already told, through their outboxes).
    pub(crate) refused: Vec<&'static str>,
    /// Frames sent.
    pub(crate) sent: u64,
    /// The document's stored bytes after the step.
    pub(crate) stored_bytes: u64,
}

impl DocState {
    /// Sends the frames the step produced and tells refused connections why; the rest is returned.
    /// `own` is the connection that stepped the document, whose refusal it carries out itself.
    pub(crate) fn carry(&mut self, own: Option<ConnId>) -> Carried {
        let effects = self.hub.take_effects();
        let mut carried = Carried {
            tasks: effects.tasks,
            compaction_due: effects.compaction_due,
            forget: effects.forget,
            stored_bytes: self.hub.stored_bytes(),
            ..Carried::default()
        };
        for (conn, frame) in effects.transmits {
            if let Some(outbox) = self.outboxes.get(&conn) {
                outbox.send(Frame::Binary(frame));
                carried.sent += 1;
            }
        }
        for (conn, close) in effects.closes {
            if Some(conn) == own {
                carried.own_close = Some(close);
                continue;
            }
            self.guests.remove(&conn);
            if let Some(outbox) = self.outboxes.remove(&conn) {
                carried.refused.push(close.label);
                outbox.send(Frame::Binary(close.error_frame));
                outbox.send(Frame::Close {
                    code: close.code,
                    reason: close.reason,
                });
            }
        }
        if carried.forget {
            self.outboxes.clear();
            self.guests.clear();
        }
        carried
    }
}

/// Why a document was not loaded.
enum NotLoaded {
    /// Missing, or another user's: answered as unavailable.
    Unavailable,
    /// The load failed: the connection is closed with this.
    Refused(Refusal),
}

impl<S: Storage> Relay<S> {
    /// The slot of `id`, made empty if there is none. The map's lock is held for this lookup only.
    fn slot(&self, id: &DocumentId) -> Arc<Slot> {
        let mut documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        documents.entry(*id).or_default().clone()
    }

    /// The loaded document `id`, if it is in memory.
    pub(crate) fn loaded(&self, id: &DocumentId) -> Option<Arc<LoadedDocument>> {
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        documents.get(id)?.get().cloned()
    }

    /// The document, if it exists and `user` may open it; with `creates`, a document nobody has
    /// stored yet is made in memory for `user`. Another user's document is reported exactly like a
    /// missing one.
    pub(crate) async fn open_document(
        self: &Arc<Self>,
        id: &DocumentId,
        user: &str,
        creates: bool,
    ) -> Result<Option<Arc<LoadedDocument>>, Refusal> {
        let slot = self.slot(id);
        // Every connection opening `id` meanwhile awaits this one load. If it fails (or finds the
        // document missing, or another user's), the next waiter tries its own.
        let loaded = slot
            .get_or_try_init(|| self.load_document(id, user, creates))
            .await
            .cloned();
        match loaded {
            // The hub's rule, on the owner kept outside the lock: only the owner may open it.
            Ok(document) => {
                // Other relays' changes noticed while it loaded are stepped in now.
                self.loaded_after_notices(id);
                let open = Hub::access(Some(&document.owner), user, false) == Access::Open;
                Ok(open.then_some(document))
            }
            Err(why) => {
                self.drop_empty_slot(id, &slot);
                self.drop_notices_unless_loading(id);
                match why {
                    NotLoaded::Unavailable => Ok(None),
                    NotLoaded::Refused(refusal) => Err(refusal),
                }
            }
        }
    }

    /// Removes a slot nothing was loaded into, unless another connection is still waiting on it (it
    /// will try its own load): ids that turned out missing must not pile up in the map.
    fn drop_empty_slot(&self, id: &DocumentId, slot: &Arc<Slot>) {
        let mut documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ours = documents.get(id).is_some_and(|s| Arc::ptr_eq(s, slot));
        // Slots are cloned only under this lock, so the count cannot grow while we look: two means
        // the map's and ours.
        if ours && !slot.initialized() && Arc::strong_count(slot) == 2 {
            documents.remove(id);
        }
    }

    /// Who storage says owns `id` (one indexed lookup).
    pub(crate) async fn owner_of(&self, id: &DocumentId) -> Result<Option<String>, Refusal> {
        self.storage.owner(id).await.map_err(|e| {
            tracing::error!(document = %id, error = %e, "looking up a document's owner failed");
            Refusal::Storage
        })
    }

    /// Whether `user` may read `id` from storage: storage says it is theirs.
    pub(crate) async fn may_load(&self, id: &DocumentId, user: &str) -> Result<bool, Refusal> {
        Ok(self.owner_of(id).await?.as_deref() == Some(user))
    }

    /// Reads `id` from storage and rebuilds it on the blocking pool.
    async fn load_document(
        &self,
        id: &DocumentId,
        user: &str,
        creates: bool,
    ) -> Result<Arc<LoadedDocument>, NotLoaded> {
        // Ownership from the owner's row first, so another user's id (or a missing one that may not
        // be created) costs one indexed lookup, never a read of the document.
        let owner = self.owner_of(id).await.map_err(NotLoaded::Refused)?;
        if Hub::access(owner.as_deref(), user, creates) == Access::Unavailable {
            return Err(NotLoaded::Unavailable);
        }
        self.admit_load(user).map_err(NotLoaded::Refused)?;
        let started = Instant::now();
        let stored = if owner.is_some() {
            self.storage.load(id).await
        } else {
            Ok(None)
        };
        let stored = stored.map_err(|e| {
            tracing::error!(document = %id, error = %e, "loading a document failed");
            NotLoaded::Refused(Refusal::Storage)
        })?;
        // A purged document loads as absent, and must not be made again by a device still
        // holding it (checked only when creating: the one path where absent means "make it").
        if stored.is_none()
            && creates
            && self
                .is_purged(id)
                .await
                .map_err(|_| NotLoaded::Refused(Refusal::Storage))?
        {
            return Err(NotLoaded::Unavailable);
        }
        let config = self.with_hub(|hub| hub.document_config());
        let now = self.now();
        let document = match Hub::access(stored.as_ref().map(|s| s.owner.as_str()), user, creates) {
            Access::Unavailable => return Err(NotLoaded::Unavailable),
            Access::Create => HubDocument::new(*id, user, config, now),
            Access::Open => {
                let stored = stored.expect("stored, since it has an owner");
                let read = started.elapsed();
                let (chunks, snapshot_bytes) = (stored.chunks.len(), stored.snapshot.len());
                let (id, weight) = (*id, Weight::of(stored.size()));
                let document = self
                    .cpu
                    .run(weight, move || HubDocument::load(id, &stored, config, now))
                    .await
                    .and_then(|loaded| loaded)
                    .map_err(NotLoaded::Refused)?;
                tracing::debug!(
                    document = %id,
                    snapshot_bytes,
                    chunks,
                    read_ms = read.as_millis() as u64,
                    total_ms = started.elapsed().as_millis() as u64,
                    "loaded from storage"
                );
                document
            }
        };
        let owner = document.owner().to_owned();
        self.with_hub(|hub| hub.document_loaded(*id, &owner, document.stored_bytes()));
        Ok(Arc::new(LoadedDocument {
            id: *id,
            owner,
            state: Arc::new(Mutex::new(DocState {
                hub: document,
                outboxes: HashMap::new(),
                guests: HashMap::new(),
            })),
            stepped: Notify::new(),
            poisoned: AtomicBool::new(false),
        }))
    }
}
