//! The relay's core: documents in memory, their sync sessions with each connection, and the rule that
//! a change is acknowledged only once it is stored.

mod budget;
mod connection;
mod cpu;
mod deadlines;
mod document;
mod eviction;
mod external;
mod limits;
mod local_write;
mod metrics;
mod outbox;
mod refusal;
mod registration;
mod sync;
mod users;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};

use crate::auth::Auth;
use crate::storage::Storage;
use chatsync_protocol::DocumentId;

pub use connection::{Frame, Inbound, serve_connection, serve_verified_connection};
pub use limits::Limits;
pub use local_write::{LocalWriteError, Open};
pub use metrics::Metrics;

use budget::{Budgets, MemoryLedger};
use cpu::Cpu;
use document::Slot;
use users::UserConnections;

/// Who this relay is to its peers, and the secret behind derived document ids (see
/// [`crate::storage::relay_identity`]).
#[derive(Clone, Debug)]
pub struct Identity {
    /// Names the storage to peers (automerge-repo's `storageId`).
    pub storage_id: String,
    /// Derives each user's index document id.
    pub index_secret: Vec<u8>,
}

/// A connection's id, unique within this relay process.
pub type ConnId = u64;

/// The relay. Shared by every connection behind an `Arc`.
pub struct Relay<S> {
    storage: S,
    auth: Auth,
    limits: Limits,
    peer_id: String,
    storage_id: String,
    index_secret: Vec<u8>,
    /// Documents in memory or being loaded. Locked only to look up, insert or remove — never across
    /// an `.await`.
    documents: std::sync::Mutex<HashMap<DocumentId, Arc<Slot>>>,
    /// The gate to the blocking pool, where Automerge's heavy work runs.
    cpu: Cpu,
    next_conn: AtomicU64,
    metrics: Metrics,
    /// Open connections per user, against `Limits::max_connections_per_user`.
    users: UserConnections,
    /// Bytes of the documents in `documents`, against the memory budgets.
    ledger: std::sync::Mutex<MemoryLedger>,
}

impl<S: Storage> Relay<S> {
    /// A relay over `storage`.
    pub fn new(storage: S, auth: Auth, limits: Limits, identity: Identity) -> Self {
        let Identity {
            storage_id,
            index_secret,
        } = identity;
        Self {
            storage,
            auth,
            limits,
            peer_id: format!("chatsync-relay-{storage_id}"),
            storage_id,
            index_secret,
            documents: std::sync::Mutex::new(HashMap::new()),
            cpu: Cpu::new(Cpu::default_heavy_permits()),
            next_conn: AtomicU64::new(1),
            metrics: Metrics::default(),
            users: UserConnections::default(),
            ledger: std::sync::Mutex::new(MemoryLedger::default()),
        }
    }

    /// How tokens are checked.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The configured limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Counters for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The number of documents in memory.
    pub async fn documents_loaded(&self) -> usize {
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        documents.values().filter(|slot| slot.initialized()).count()
    }

    /// How many connections have a sync session on document `id` (none if it is not in memory).
    pub async fn sessions_on(&self, id: &DocumentId) -> usize {
        match self.loaded(id) {
            Some(document) => document.state.lock().await.peers.len(),
            None => 0,
        }
    }

    /// How many connections `user` has open.
    pub fn connections_of(&self, user: &str) -> usize {
        self.users.count(user)
    }

    /// Changes the memory ledger, and the gauges that show it.
    fn with_ledger<T>(&self, change: impl FnOnce(&mut MemoryLedger) -> T) -> T {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        let result = change(&mut ledger);
        self.metrics
            .documents_loaded
            .store(ledger.len() as u64, Ordering::Relaxed);
        self.metrics
            .document_bytes_loaded
            .store(ledger.total(), Ordering::Relaxed);
        result
    }

    fn budgets(&self) -> Budgets {
        Budgets {
            per_connection: self.limits.max_document_bytes_per_connection,
            per_user: self.limits.max_document_bytes_per_user,
            relay: self.limits.max_document_bytes_in_memory,
        }
    }

    /// The id of `user`'s index document (their thread list). Derived with this relay's secret, so every
    /// device of the user finds it through `/api/me` and nobody else can claim it first.
    pub fn index_document_id(&self, user: &str) -> DocumentId {
        DocumentId::derive(&self.index_secret, user)
    }

    fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
