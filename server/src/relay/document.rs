//! Documents in memory and loading them on demand: one load per document at a time, the Automerge
//! work on the blocking pool, and no lock held while anything is awaited.
//!
//! The documents map is a `std::sync::Mutex` taken only to look up or insert a [`Slot`], never
//! across an `.await`. A slot is a `OnceCell`: the first connection to open a document loads it, and
//! the others await that same load instead of loading their own copy.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use automerge::{AutoCommit, ChangeHash};
use chatsync_protocol::{DocSession, DocumentId};
use tokio::sync::{Mutex, OnceCell};

use super::cpu::Weight;
use super::outbox::Outbox;
use super::refusal::Refusal;
use super::{ConnId, Relay};
use crate::storage::{Storage, StoredDocument};

/// A document's place in the map: empty while it loads, then the document.
pub(crate) type Slot = OnceCell<Arc<LoadedDocument>>;

/// A document held in memory.
pub(crate) struct LoadedDocument {
    /// The user who stored it first — or, before the first store, the user whose sync created it.
    /// Never changes, so it is read without the state lock.
    pub(crate) owner: String,
    /// Everything that changes. A tokio mutex, held only for in-memory steps — and, on the blocking
    /// pool, for the Automerge work on this document — never across storage IO.
    pub(crate) state: Arc<Mutex<DocState>>,
    /// Set while one task is this document's writer (see `writer.rs`): appends land one at a time,
    /// in order, without any lock held across them.
    pub(crate) writing: AtomicBool,
}

/// The part of a document that changes, behind its lock.
pub(crate) struct DocState {
    pub(crate) doc: AutoCommit,
    /// The heads of what storage holds. Never ahead of storage: replies advertise only stored changes.
    pub(crate) stored_heads: Vec<ChangeHash>,
    pub(crate) snapshot_bytes: u64,
    pub(crate) chunk_bytes: u64,
    /// Bytes of sync messages received since the last chunk was taken: how big the next one is.
    pub(crate) unstored_bytes: u64,
    pub(crate) peers: HashMap<ConnId, Peer>,
    pub(crate) last_used: Instant,
    /// The highest ephemeral `count` seen per session, to drop echoes and duplicates.
    pub(crate) ephemeral_seen: HashMap<String, u64>,
    /// Storage refused a write: the document left the map, and this copy (ahead of storage) must
    /// never be stored or advertised.
    pub(crate) broken: bool,
}

/// One connection's view of a document.
pub(crate) struct Peer {
    pub(crate) session: DocSession,
    pub(crate) peer_id: String,
    pub(crate) outbox: Outbox,
    /// The peer said it has nothing and has not been answered yet: its answer is the whole document,
    /// Automerge-heavy for a long thread.
    pub(crate) fresh: bool,
}

/// Who is speaking, as the document code needs to know it.
pub(crate) struct Speaker<'a> {
    pub conn: ConnId,
    pub user: &'a str,
    pub peer_id: &'a str,
    pub outbox: &'a Outbox,
}

impl DocState {
    fn new(mut doc: AutoCommit, snapshot_bytes: u64, chunk_bytes: u64) -> Self {
        Self {
            stored_heads: doc.get_heads(),
            doc,
            snapshot_bytes,
            chunk_bytes,
            unstored_bytes: 0,
            peers: HashMap::new(),
            last_used: Instant::now(),
            ephemeral_seen: HashMap::new(),
            broken: false,
        }
    }

    pub(crate) fn stored_bytes(&self) -> u64 {
        self.snapshot_bytes + self.chunk_bytes
    }
}

impl LoadedDocument {
    fn new(owner: String, state: DocState) -> Self {
        Self {
            owner,
            state: Arc::new(Mutex::new(state)),
            writing: AtomicBool::new(false),
        }
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

    /// The document, if it exists and `user` owns it; with `create`, a document nobody has stored yet
    /// is made in memory for `user`. Another user's document is reported exactly like a missing one.
    pub(crate) async fn open_document(
        &self,
        id: &DocumentId,
        user: &str,
        create: bool,
    ) -> Result<Option<Arc<LoadedDocument>>, Refusal> {
        let slot = self.slot(id);
        // Every connection opening `id` meanwhile awaits this one load. If it fails (or finds the
        // document missing, or another user's), the next waiter tries its own.
        let loaded = slot
            .get_or_try_init(|| self.load_document(id, user, create))
            .await
            .cloned();
        match loaded {
            Ok(document) => Ok((document.owner == user).then_some(document)),
            Err(why) => {
                self.drop_empty_slot(id, &slot);
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

    /// Reads `id` from storage and rebuilds it on the blocking pool.
    async fn load_document(
        &self,
        id: &DocumentId,
        user: &str,
        create: bool,
    ) -> Result<Arc<LoadedDocument>, NotLoaded> {
        self.admit_load(user).map_err(NotLoaded::Refused)?;
        let started = Instant::now();
        let stored = self
            .storage
            .load(id)
            .await
            .map_err(|e| NotLoaded::Refused(Refusal::Storage(e)))?;
        let (owner, state) = match stored {
            Some(stored) if stored.owner != user => return Err(NotLoaded::Unavailable),
            Some(stored) => {
                let read = started.elapsed();
                let (chunks, snapshot_bytes) = (stored.chunks.len(), stored.snapshot.len());
                let weight = Weight::of(stored_size(&stored));
                let owner = stored.owner.clone();
                let state = self
                    .cpu
                    .run(weight, move || rebuild(&stored))
                    .await
                    .and_then(|rebuilt| rebuilt)
                    .map_err(NotLoaded::Refused)?;
                tracing::debug!(
                    document = %id,
                    snapshot_bytes,
                    chunks,
                    read_ms = read.as_millis() as u64,
                    total_ms = started.elapsed().as_millis() as u64,
                    "loaded from storage"
                );
                (owner, state)
            }
            None if create => (user.to_owned(), DocState::new(AutoCommit::new(), 0, 0)),
            None => return Err(NotLoaded::Unavailable),
        };
        self.with_ledger(|ledger| ledger.insert(*id, &owner, state.stored_bytes()));
        Ok(Arc::new(LoadedDocument::new(owner, state)))
    }
}

fn stored_size(stored: &StoredDocument) -> u64 {
    let chunks: usize = stored.chunks.iter().map(Vec::len).sum();
    (stored.snapshot.len() + chunks) as u64
}

/// The Automerge document from what storage holds. CPU-heavy: runs on the blocking pool.
fn rebuild(stored: &StoredDocument) -> Result<DocState, Refusal> {
    let mut doc = if stored.snapshot.is_empty() {
        AutoCommit::new()
    } else {
        AutoCommit::load(&stored.snapshot).map_err(|e| Refusal::Corrupt(e.to_string()))?
    };
    // One call for all chunks: Automerge reads a concatenation of chunks, and applying them one by
    // one re-indexes the document each time (seconds for thousands of chunks).
    let chunks = stored.chunks.concat();
    if !chunks.is_empty() {
        doc.load_incremental(&chunks)
            .map_err(|e| Refusal::Corrupt(e.to_string()))?;
    }
    Ok(DocState::new(
        doc,
        stored.snapshot.len() as u64,
        chunks.len() as u64,
    ))
}
