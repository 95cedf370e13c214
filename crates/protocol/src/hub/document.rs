//! [`HubDocument`]: one document held by the relay, with a sync session per connection that has
//! opened it, and the rule that no peer hears of a change before storage confirmed it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};

use super::ConnId;
use super::effects::HubEffects;
use super::refusal::Refusal;
use super::storage::{StorageKey, StoredDocument};
use crate::{DocSession, DocumentId, Message, asks_to_start_over, is_from_empty_peer};

/// What a hub document needs to know of the relay.
#[derive(Clone, Debug)]
pub struct DocumentConfig {
    /// The relay's peer id, the sender of every frame it sends.
    pub relay_peer_id: String,
    /// Largest stored document (snapshot plus chunks) accepted, in bytes.
    pub max_document_bytes: u64,
    /// Chunks below this many bytes are never worth compacting while the document is in use.
    pub compact_after_bytes: u64,
}

impl Default for DocumentConfig {
    fn default() -> Self {
        Self {
            relay_peer_id: "chatsync-relay".into(),
            max_document_bytes: 256 << 20,
            compact_after_bytes: 64 << 10,
        }
    }
}

/// One connection's session on the document.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) sync: DocSession,
    pub(super) peer_id: String,
    /// The peer said it holds nothing and has not been answered yet: its answer is the whole
    /// document, Automerge-heavy for a long thread.
    pub(super) fresh: bool,
}

impl Session {
    pub(super) fn new(peer_id: &str) -> Self {
        Self {
            sync: DocSession::new(),
            peer_id: peer_id.to_owned(),
            fresh: false,
        }
    }
}

/// The storage task in flight, if any: at most one at a time, so chunks land in order and a
/// compaction never races an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum InFlight {
    Nothing,
    /// Appending what memory held up to `heads`, for `cause` (the connection whose message brought
    /// the changes; none for the relay's own commits or follow-up writes).
    Append {
        heads: Vec<ChangeHash>,
        cause: Option<ConnId>,
    },
    Compact {
        snapshot_bytes: u64,
    },
    /// Reading the document back: after a failed write (`reload`, memory was ahead of storage and
    /// is replaced), or to merge changes another relay stored.
    Load {
        reload: bool,
    },
}

/// One document in the relay's memory, as a passive state machine.
///
/// Events come in through `handle_*` — a connection's sync message ([`HubDocument::handle_sync`]),
/// the results of the storage tasks it asked for ([`HubDocument::handle_appended`],
/// [`HubDocument::handle_loaded`], [`HubDocument::handle_compacted`]), a session ending
/// ([`HubDocument::handle_leave`]), ephemeral messages, and the two seams for writers other than a
/// connected device: [`HubDocument::commit`] (the relay itself changed the document) and
/// [`HubDocument::handle_stored_elsewhere`] (another relay stored changes). What it wants done
/// collects in [`HubEffects`], taken with [`HubDocument::take_effects`].
///
/// The rule it keeps: memory may run ahead of storage, but no peer is answered while it does —
/// Automerge's replies advertise the document's heads, and a device counts the relay's heads as
/// its acknowledgement. New changes become one [`StorageTask::Append`](super::StorageTask::Append)
/// at a time; once its result comes back and memory holds nothing storage lacks, every session is
/// answered and hears the new heads.
#[derive(Debug)]
pub struct HubDocument {
    pub(super) id: DocumentId,
    pub(super) owner: String,
    pub(super) config: DocumentConfig,
    pub(super) doc: AutoCommit,
    /// The heads of what storage holds.
    pub(super) stored_heads: Vec<ChangeHash>,
    pub(super) snapshot_bytes: u64,
    pub(super) chunk_bytes: u64,
    /// Bytes of sync messages applied since the last chunk was taken: about how big the next is.
    pub(super) unstored_bytes: u64,
    /// Ordered by connection, so a step's effects are the same on every run.
    pub(super) sessions: BTreeMap<ConnId, Session>,
    pub(super) last_used: Duration,
    /// The highest ephemeral `count` seen per ephemeral session, to drop echoes and duplicates.
    pub(super) ephemeral_seen: HashMap<String, u64>,
    pub(super) in_flight: InFlight,
    /// Heads another relay stored, to look at once the task in flight is done.
    pub(super) stored_elsewhere: Option<Vec<ChangeHash>>,
    /// Another relay may have stored changes, which ones unknown: read storage once the task in
    /// flight is done.
    pub(super) reread: bool,
    /// Connections whose messages brought changes since memory last held nothing storage lacked:
    /// if storing them fails, their devices count them as sent (Automerge never sends a change
    /// twice in one session), so only a new session — a reconnect — sends them again.
    pub(super) contributors: BTreeSet<ConnId>,
    /// Heads were stored that the sessions have not heard yet (they hear them once memory holds
    /// nothing storage lacks).
    pub(super) advertise: bool,
    pub(super) effects: HubEffects,
}

impl HubDocument {
    /// A document nobody has stored yet, created in memory for `owner` (the user whose sync opened
    /// it). The first append stores it under their name.
    pub fn new(id: DocumentId, owner: &str, config: DocumentConfig, now: Duration) -> Self {
        Self::from_doc(id, owner, config, now, AutoCommit::new(), 0, 0)
    }

    /// The document as storage holds it. CPU-heavy for a long thread (Automerge loads all of it):
    /// a driver with async workers runs this off them.
    pub fn load(
        id: DocumentId,
        stored: &StoredDocument,
        config: DocumentConfig,
        now: Duration,
    ) -> Result<Self, Refusal> {
        let (doc, chunk_bytes) = rebuild(stored)?;
        let snapshot_bytes = stored.snapshot.len() as u64;
        Ok(Self::from_doc(
            id,
            &stored.owner,
            config,
            now,
            doc,
            snapshot_bytes,
            chunk_bytes,
        ))
    }

    fn from_doc(
        id: DocumentId,
        owner: &str,
        config: DocumentConfig,
        now: Duration,
        mut doc: AutoCommit,
        snapshot_bytes: u64,
        chunk_bytes: u64,
    ) -> Self {
        Self {
            id,
            owner: owner.to_owned(),
            config,
            stored_heads: doc.get_heads(),
            doc,
            snapshot_bytes,
            chunk_bytes,
            unstored_bytes: 0,
            sessions: BTreeMap::new(),
            last_used: now,
            ephemeral_seen: HashMap::new(),
            in_flight: InFlight::Nothing,
            stored_elsewhere: None,
            reread: false,
            contributors: BTreeSet::new(),
            advertise: false,
            effects: HubEffects::default(),
        }
    }

    /// The document's id.
    pub fn id(&self) -> &DocumentId {
        &self.id
    }

    /// The user it belongs to. Never changes.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether `user` may open it: only its owner. Anyone else is told it is unavailable, exactly as
    /// for a document that does not exist, so ids cannot be probed.
    pub fn admits(&self, user: &str) -> bool {
        self.owner == user
    }

    /// The key its storage tasks name.
    pub(super) fn key(&self) -> StorageKey {
        StorageKey::new(self.id, &self.owner)
    }

    /// Bytes storage holds of it, as the memory budgets count them.
    pub fn stored_bytes(&self) -> u64 {
        self.snapshot_bytes + self.chunk_bytes
    }

    /// The heads of what storage holds (never ahead of it).
    pub fn stored_heads(&self) -> &[ChangeHash] {
        &self.stored_heads
    }

    /// How many connections have a session on it.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// When it was last used (the clock of the `now` passed in).
    pub fn last_used(&self) -> Duration {
        self.last_used
    }

    /// Whether it may leave memory: no session on it and no storage task in flight.
    pub fn is_idle(&self) -> bool {
        self.sessions.is_empty() && self.in_flight == InFlight::Nothing
    }

    /// The Automerge document, to read (writing goes through [`HubDocument::commit`]).
    pub fn doc(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// What the steps since the last call want done.
    pub fn take_effects(&mut self) -> HubEffects {
        std::mem::take(&mut self.effects)
    }

    /// About how many bytes of Automerge work handling `data` from a connection may take: the
    /// message itself, the chunk it may start storing, and the whole document when the sender holds
    /// nothing yet. A driver with async workers runs a step this big elsewhere.
    pub fn cost_of_sync(&self, data: &[u8]) -> u64 {
        let whole = if is_from_empty_peer(data) {
            self.stored_bytes()
        } else {
            0
        };
        (data.len() as u64 + self.unstored_bytes).max(whole)
    }

    /// About how many bytes of Automerge work the next storage result may take to handle: the next
    /// chunk, and the whole document for a session that holds nothing yet.
    pub fn cost_of_settling(&self) -> u64 {
        let whole = if self.sessions.values().any(|s| s.fresh) {
            self.stored_bytes()
        } else {
            0
        };
        self.unstored_bytes.max(whole)
    }

    /// A `sync` or `request` from connection `conn` (peer `peer_id`), at `now`: applied in memory,
    /// then stored, then answered. A refusal means the connection is to be closed; the document is
    /// unchanged by the refused message.
    pub fn handle_sync(
        &mut self,
        now: Duration,
        conn: ConnId,
        peer_id: &str,
        data: &[u8],
    ) -> Result<(), Refusal> {
        self.last_used = now;
        let reloading = self.in_flight == InFlight::Load { reload: true };
        let session = self
            .sessions
            .entry(conn)
            .or_insert_with(|| Session::new(peer_id));
        if reloading {
            // Memory is being replaced by what storage holds: applying this to the copy that is
            // going away would be lost, and answering from it would advertise unstored changes.
            // Every session starts afresh once the reload lands and hears from the relay first —
            // but a device whose message carried changes counts them as sent, and would never
            // send them again in this session: it reconnects instead.
            let carries_changes = automerge::sync::Message::decode(data)
                .map_or(true, |message| !message.changes.is_empty());
            if carries_changes {
                self.sessions.remove(&conn);
                return Err(Refusal::Storage);
            }
            return Ok(());
        }
        if self.snapshot_bytes + self.chunk_bytes + data.len() as u64
            > self.config.max_document_bytes
        {
            return Err(Refusal::DocumentTooLarge {
                limit: self.config.max_document_bytes,
            });
        }
        if asks_to_start_over(data) {
            // The device dropped its session and started a new one on this connection (a store
            // opening a thread again): the relay's side starts over too.
            session.sync = DocSession::new();
        }
        session.fresh |= is_from_empty_peer(data);
        // DocSession::receive also empties Automerge's patch log, which otherwise grows with every
        // text splice (84 MB over the relay benchmark).
        let before = self.doc.get_heads();
        session
            .sync
            .receive(&mut self.doc, data)
            .map_err(|e| Refusal::BadSync(Box::new(e)))?;
        if self.doc.get_heads() != before {
            self.contributors.insert(conn);
        }
        self.unstored_bytes += data.len() as u64;
        self.settle(Some(conn), false);
        Ok(())
    }

    /// Connection `conn` left the document (it closed, or dropped its session).
    pub fn handle_leave(&mut self, now: Duration, conn: ConnId) {
        self.sessions.remove(&conn);
        self.contributors.remove(&conn);
        self.last_used = now;
    }

    /// Every session hears what it has to: with `advertise`, also the heads just stored — its
    /// acknowledgement — even one Automerge would leave silent because it holds them already. Only
    /// called when memory holds nothing storage lacks.
    pub(super) fn answer(&mut self, advertise: bool) {
        debug_assert_eq!(self.doc.get_heads(), self.stored_heads);
        self.contributors.clear();
        for (conn, session) in &mut self.sessions {
            if advertise {
                session.sync.advertise_heads();
            }
            session.fresh = false;
            while let Some(data) = session.sync.poll_message(&mut self.doc, 0) {
                let frame = Message::Sync {
                    sender_id: self.config.relay_peer_id.clone(),
                    target_id: session.peer_id.clone(),
                    document_id: self.id,
                    data,
                }
                .encode();
                self.effects.transmits.push((*conn, frame));
            }
        }
    }
}

/// The Automerge document from what storage holds, and the bytes of its chunks.
pub(super) fn rebuild(stored: &StoredDocument) -> Result<(AutoCommit, u64), Refusal> {
    let mut doc = if stored.snapshot.is_empty() {
        AutoCommit::new()
    } else {
        AutoCommit::load(&stored.snapshot).map_err(|e| Refusal::Corrupt(Box::new(e)))?
    };
    // One call for all chunks: Automerge reads a concatenation of chunks, and applying them one by
    // one re-indexes the document each time (seconds for thousands of chunks).
    let chunks = stored.chunks.concat();
    if !chunks.is_empty() {
        doc.load_incremental(&chunks)
            .map_err(|e| Refusal::Corrupt(Box::new(e)))?;
    }
    Ok((doc, chunks.len() as u64))
}
