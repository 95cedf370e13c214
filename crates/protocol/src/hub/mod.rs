//! The relay's decisions, as passive state machines: which connection may do what, which document
//! a message opens, what is stored when, who hears what and when, and what leaves memory.
//!
//! Three machines, split by what they share, so a driver can step each under the lock it needs and
//! no more:
//!
//! - [`HubConnection`] — one per connection, owned by whoever reads its socket (no lock): the join
//!   handshake, the frame and byte budgets per second, the join/idle/token clocks, and where each
//!   message goes ([`Route`]).
//! - [`HubDocument`] — one per document in memory: the sync session of every connection on it,
//!   the storage tasks it needs ([`StorageTask`]: `Load / Append / Compact` over a [`StorageKey`])
//!   and their results, the rule that heads are advertised only once storage confirmed them,
//!   ephemeral fan-out and dedupe, compaction. It alone does Automerge work, so it is the only one
//!   whose steps can be long (loading, saving or answering a long thread): a driver locks each
//!   document on its own and runs a heavy step ([`HubDocument::cost_of_sync`],
//!   [`HubDocument::cost_of_settling`]) off its async workers. One document's step never waits for
//!   another document, and none waits for storage: a task goes out as data and its result comes
//!   back as an event, so no lock is held across IO.
//! - [`Hub`] — one per relay: connections per user, the memory budgets of documents (per
//!   connection, per user, relay-wide), which documents leave memory, and who may open what (a
//!   document belongs to the user who first stored it; anyone else is told it is unavailable,
//!   exactly as for a missing one). Plain counters and maps with no Automerge in them, so a driver
//!   holds its lock for a lookup, never across a step of a document.
//!
//! Time comes in as a [`Duration`](std::time::Duration) since an epoch the driver picks (one per
//! machine: a connection's clocks may count from its opening); nothing reads a clock, spawns or
//! waits. Writers other than a connected device are events too: [`HubDocument::commit`] (the relay
//! itself changed a document, e.g. for a backend's HTTP call) and
//! [`HubDocument::handle_stored_elsewhere`] (another relay sharing the database stored changes).
//!
//! ```
//! use std::time::Duration;
//! use chatsync_protocol::hub::{Hub, HubConfig, HubDocument, Route, StorageTask};
//! use chatsync_protocol::{DocumentId, Message, whole_document_message};
//! use chatsync_protocol::automerge::{AutoCommit, ROOT, transaction::Transactable};
//!
//! let now = Duration::ZERO;
//! let mut hub = Hub::new(HubConfig::default());
//! let (mut conn, admitted) = hub.connect(1, "alice", now, None);
//! admitted?;
//! let Route::Reply(_peer) = conn.handle_frame(now, &Message::join("device", false).encode())? else {
//!     unreachable!()
//! };
//! // The device syncs a document nobody has stored yet, with one change.
//! let id = DocumentId::from_bytes([1; 16]);
//! let mut theirs = AutoCommit::new();
//! theirs.put(ROOT, "title", "hello")?;
//! let data = whole_document_message(theirs.get_heads(), theirs.save());
//! let sync = Message::Sync { sender_id: "device".into(), target_id: "relay".into(), document_id: id, data };
//! let Route::Sync(request) = conn.handle_frame(now, &sync.encode())? else { unreachable!() };
//! hub.open_session(&mut conn, request.document)?;
//! let mut document = HubDocument::new(id, conn.user(), hub.document_config(), now);
//! document.handle_sync(now, conn.id(), "device", &request.data)?;
//! // Nothing is said to the device before storage holds the change.
//! let effects = document.take_effects();
//! assert!(effects.transmits.is_empty());
//! let [StorageTask::Append { chunk, .. }] = &effects.tasks[..] else { unreachable!() };
//! document.handle_appended(now, Ok(chunk.len() as u64));
//! assert_eq!(document.take_effects().transmits.len(), 1, "now it hears the stored heads");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod budget;
mod connection;
mod deadlines;
mod document;
mod effects;
mod ephemeral;
mod eviction;
mod refusal;
mod storage;
#[cfg(test)]
mod tests;
mod users;
mod writes;

use std::sync::Arc;
use std::time::Duration;

pub use connection::{HubConnection, Route, SyncRequest};
pub use deadlines::{DeadlineConfig, Due};
pub use document::{DocumentConfig, HubDocument};
pub use effects::HubEffects;
pub use ephemeral::Ephemeral;
pub use eviction::Candidate;
pub use refusal::{BudgetScope, Close, Refusal};
pub use storage::{StorageFailure, StorageKey, StorageTask, StoredDocument};
pub use writes::Compaction;

use crate::DocumentId;
use budget::{Budgets, MemoryLedger};
use users::UserConnections;

/// A connection's id, unique within one relay process (the driver numbers them).
pub type ConnId = u64;

/// The limits and names the hub decides with.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// The relay's peer id, the sender of every frame it sends.
    pub relay_peer_id: String,
    /// Names the relay's storage to peers (automerge-repo's `storageId`): a device resumes a sync
    /// only with the same storage.
    pub storage_id: String,
    /// Most frames one connection may send per second before it is closed.
    pub max_frames_per_second: u32,
    /// Most bytes one connection may send per second before it is closed.
    pub max_bytes_per_second: u64,
    /// Most connections one user may have open.
    pub max_connections_per_user: usize,
    /// Most documents one connection may have a session on.
    pub max_documents_per_connection: usize,
    /// Largest stored document accepted, in bytes.
    pub max_document_bytes: u64,
    /// Budget of document bytes in memory for the documents one connection has open (stored bytes
    /// plus 8 KiB a document).
    pub max_document_bytes_per_connection: u64,
    /// The same budget for one user's documents.
    pub max_document_bytes_per_user: u64,
    /// The same budget for every document in memory.
    pub max_document_bytes_in_memory: u64,
    /// Idle documents are evicted, least recently used first, while the stored sizes of those in
    /// memory add up to more than this.
    pub memory_budget_bytes: u64,
    /// An idle document is evicted after this long unused.
    pub idle_eviction: Duration,
    /// A connection's clocks.
    pub deadlines: DeadlineConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            relay_peer_id: "chatsync-relay".into(),
            storage_id: "chatsync-storage".into(),
            max_frames_per_second: 2_000,
            max_bytes_per_second: 64 << 20,
            max_connections_per_user: 32,
            max_documents_per_connection: 1_000,
            max_document_bytes: 256 << 20,
            max_document_bytes_per_connection: 256 << 20,
            max_document_bytes_per_user: 512 << 20,
            max_document_bytes_in_memory: 2 << 30,
            memory_budget_bytes: 512 << 20,
            idle_eviction: Duration::from_secs(60),
            deadlines: DeadlineConfig::default(),
        }
    }
}

/// May `user` open a document, given who storage says owns it?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Theirs: open it.
    Open,
    /// Nobody stored it and the message may create it: make it in memory for them.
    Create,
    /// Another user's, or missing and not to be created: answer `doc-unavailable` (the same for
    /// both, so ids cannot be probed).
    Unavailable,
}

/// The relay-wide decisions: connections per user, memory budgets, eviction, access. See the
/// [module docs](self) for how it fits with [`HubConnection`] and [`HubDocument`].
#[derive(Debug)]
pub struct Hub {
    config: Arc<HubConfig>,
    users: UserConnections,
    ledger: MemoryLedger,
}

impl Hub {
    /// A hub with no connection and no document.
    pub fn new(config: HubConfig) -> Self {
        Self {
            config: Arc::new(config),
            users: UserConnections::default(),
            ledger: MemoryLedger::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// What each document needs to know of the relay.
    pub fn document_config(&self) -> DocumentConfig {
        DocumentConfig {
            relay_peer_id: self.config.relay_peer_id.clone(),
            max_document_bytes: self.config.max_document_bytes,
            ..DocumentConfig::default()
        }
    }

    /// A connection of `user` opened at `now` with a token valid until `expires_at`. Refused (the
    /// connection then only sends the refusal and closes) if the user has too many open already.
    /// Either way, [`Hub::disconnect`] it when it ends.
    pub fn connect(
        &mut self,
        conn: ConnId,
        user: &str,
        now: Duration,
        expires_at: Option<Duration>,
    ) -> (HubConnection, Result<(), Refusal>) {
        let mut connection = HubConnection::new(conn, user, now, expires_at, self.config.clone());
        let admitted = self.users.open(user, self.config.max_connections_per_user);
        connection.admitted = admitted.is_ok();
        (connection, admitted)
    }

    /// The connection ended: it no longer counts against its user's cap. (Its sessions leave their
    /// documents through [`HubDocument::handle_leave`].)
    pub fn disconnect(&mut self, conn: &mut HubConnection) {
        if std::mem::take(&mut conn.admitted) {
            self.users.close(conn.user());
        }
    }

    /// How many connections `user` has open.
    pub fn connections_of(&self, user: &str) -> usize {
        self.users.count(user)
    }

    /// Connection `conn` wants a session on document `id`: refused beyond its cap of documents, or
    /// once the documents it has open spend its memory budget.
    pub fn open_session(&self, conn: &mut HubConnection, id: DocumentId) -> Result<(), Refusal> {
        if conn.documents().contains(&id) {
            return Ok(());
        }
        let max = self.config.max_documents_per_connection;
        if conn.documents().len() >= max {
            return Err(Refusal::TooManyDocuments(max));
        }
        self.ledger
            .admit_session(&self.budgets(), conn.documents())?;
        conn.add_document(id);
        Ok(())
    }

    /// Whether `user` may open a document storage says `stored_owner` owns (`None`: nobody stored
    /// it); `creates` if the message may create it.
    pub fn access(stored_owner: Option<&str>, user: &str, creates: bool) -> Access {
        match stored_owner {
            Some(owner) if owner == user => Access::Open,
            Some(_) => Access::Unavailable,
            None if creates => Access::Create,
            None => Access::Unavailable,
        }
    }

    /// Whether one more document of `user` may come into memory. If a budget is spent, documents
    /// nobody uses leave first, least recently used first — the user's own for their budget,
    /// anyone's for the relay's — and are returned for the driver to drop (they are no longer
    /// counted). Not compacted on the way out: storage holds all of them.
    pub fn admit_load(
        &mut self,
        user: &str,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<DocumentId>, Refusal> {
        let budgets = self.budgets();
        let Err(refusal) = self.ledger.admit_load(&budgets, user) else {
            return Ok(Vec::new());
        };
        let only_users_own = matches!(
            refusal,
            Refusal::MemoryBudget {
                scope: BudgetScope::User,
                ..
            }
        );
        let mut evicted = Vec::new();
        for c in eviction::least_recently_used(candidates) {
            if self.ledger.admit_load(&budgets, user).is_ok() {
                break;
            }
            if only_users_own && self.ledger.owner_of(&c.id) != Some(user) {
                continue;
            }
            self.ledger.remove(&c.id);
            evicted.push(c.id);
        }
        self.ledger.admit_load(&budgets, user).map(|()| evicted)
    }

    /// A document of `owner` with `stored_bytes` came into memory.
    pub fn document_loaded(&mut self, id: DocumentId, owner: &str, stored_bytes: u64) {
        self.ledger.insert(id, owner, stored_bytes);
    }

    /// A document in memory now has `stored_bytes` (after an append or a compaction).
    pub fn document_resized(&mut self, id: &DocumentId, stored_bytes: u64) {
        self.ledger.resize(id, stored_bytes);
    }

    /// A document left memory.
    pub fn document_forgotten(&mut self, id: &DocumentId) {
        self.ledger.remove(id);
    }

    /// Of the documents in memory (`candidates`), those to evict at `now`: idle ones unused for
    /// [`HubConfig::idle_eviction`], then the least recently used idle ones until the rest fit
    /// [`HubConfig::memory_budget_bytes`]. They are no longer counted; the driver drops them (and
    /// may compact them on the way out).
    pub fn evictions(&mut self, now: Duration, candidates: Vec<Candidate>) -> Vec<DocumentId> {
        let evicted = eviction::periodic(
            now,
            candidates,
            self.config.idle_eviction,
            self.config.memory_budget_bytes,
        );
        for id in &evicted {
            self.ledger.remove(id);
        }
        evicted
    }

    /// Documents in memory, as the budgets count them.
    pub fn documents_loaded(&self) -> usize {
        self.ledger.len()
    }

    /// Bytes of the documents in memory, as the budgets count them.
    pub fn document_bytes_loaded(&self) -> u64 {
        self.ledger.total()
    }

    fn budgets(&self) -> Budgets {
        Budgets {
            per_connection: self.config.max_document_bytes_per_connection,
            per_user: self.config.max_document_bytes_per_user,
            relay: self.config.max_document_bytes_in_memory,
        }
    }
}
