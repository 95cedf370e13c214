//! The relay's driver: sockets, storage, the blocking pool and timers, around the sans-IO hub
//! ([`chatsync_protocol::hub`]), which makes every protocol decision.
//!
//! How the pieces run, and why so (the hub's docs say what each machine decides):
//! - each connection's task owns its socket and its [`HubConnection`](chatsync_protocol::hub::HubConnection)
//!   (`connection.rs`), feeding it frames and timeouts;
//! - the relay-wide [`Hub`] (connections per user, memory budgets, eviction) sits behind a std mutex
//!   held for one call — it does no Automerge work — never across an `.await`;
//! - each document's [`HubDocument`](chatsync_protocol::hub::HubDocument) sits behind a lock of
//!   its own (`document.rs`), so one document's work never waits for another's; a step that is
//!   Automerge-heavy (a big message, a whole document for an empty peer, a save) runs on the
//!   blocking pool (`cpu.rs`), and the lock is never held while storage works: the storage tasks a
//!   step asks for are carried out after it (`tasks.rs`) and their results stepped in again.

mod change_watch;
mod connection;
mod cpu;
mod document;
mod eviction;
mod external;
mod index_watch;
mod limits;
mod local_write;
mod metrics;
mod outbox;
mod purge;
mod registration;
mod share_links;
mod shares;
mod sync;
mod tasks;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::auth::Auth;
use crate::storage::Storage;
use chatsync_protocol::DocumentId;
use chatsync_protocol::hub::Hub;

pub use connection::{Frame, Inbound, serve_connection, serve_verified_connection};
pub use limits::Limits;
pub use local_write::{LocalWriteError, Need, Open};
pub use metrics::Metrics;
pub use share_links::{LinkError, SHARE_LINK_PREFIX, link_user};
pub use shares::Standing;

use cpu::Cpu;
use document::Slot;

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
pub type ConnId = chatsync_protocol::hub::ConnId;

/// The relay. Shared by every connection behind an `Arc`.
pub struct Relay<S> {
    storage: S,
    auth: Auth,
    limits: Limits,
    index_secret: Vec<u8>,
    /// The relay-wide decisions. Locked for one call at a time, never across an `.await`; taken
    /// after `documents` when both are needed.
    hub: std::sync::Mutex<Hub>,
    /// Documents in memory or being loaded. Locked only to look up, insert or remove — never across
    /// an `.await`.
    documents: std::sync::Mutex<HashMap<DocumentId, Arc<Slot>>>,
    /// Other relays' changes waiting to be stepped into documents, at most one entry (and one task)
    /// per document. Taken after `documents` when both are needed, never across an `.await`.
    notices: std::sync::Mutex<HashMap<DocumentId, external::Pending>>,
    /// The gate to the blocking pool, where Automerge's heavy work runs.
    cpu: Cpu,
    next_conn: AtomicU64,
    metrics: Metrics,
    /// The documents' clock counts from here.
    epoch: std::time::Instant,
    /// Who hears that a user's index took changes (the retention task).
    index_watch: index_watch::IndexWatch,
    /// The documents whose stored changes the search index has not read yet.
    change_watch: change_watch::ChangeWatch,
    /// The secret share links are signed with, read from storage on first use.
    link_secret: tokio::sync::OnceCell<Vec<u8>>,
}

impl<S: Storage> Relay<S> {
    /// A relay over `storage`.
    pub fn new(storage: S, auth: Auth, limits: Limits, identity: Identity) -> Self {
        let Identity {
            storage_id,
            index_secret,
        } = identity;
        let hub = Hub::new(limits.hub_config(&storage_id));
        Self {
            storage,
            auth,
            limits,
            index_secret,
            hub: std::sync::Mutex::new(hub),
            documents: std::sync::Mutex::new(HashMap::new()),
            notices: std::sync::Mutex::default(),
            cpu: Cpu::new(Cpu::default_heavy_permits()),
            next_conn: AtomicU64::new(1),
            metrics: Metrics::default(),
            epoch: std::time::Instant::now(),
            index_watch: Default::default(),
            change_watch: Default::default(),
            link_secret: tokio::sync::OnceCell::new(),
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
            Some(document) => document.state.lock().await.hub.sessions(),
            None => 0,
        }
    }

    /// How many connections `user` has open.
    pub fn connections_of(&self, user: &str) -> usize {
        self.with_hub(|hub| hub.connections_of(user))
    }

    /// The id of `user`'s index document (their thread list). Derived with this relay's secret, so every
    /// device of the user finds it through `/api/me` and nobody else can claim it first.
    pub fn index_document_id(&self, user: &str) -> DocumentId {
        DocumentId::derive(&self.index_secret, user)
    }

    /// One call on the relay-wide hub, and the gauges that show its memory ledger.
    fn with_hub<T>(&self, call: impl FnOnce(&mut Hub) -> T) -> T {
        let mut hub = self.hub.lock().unwrap_or_else(PoisonError::into_inner);
        let result = call(&mut hub);
        self.metrics
            .documents_loaded
            .store(hub.documents_loaded() as u64, Ordering::Relaxed);
        self.metrics
            .document_bytes_loaded
            .store(hub.document_bytes_loaded(), Ordering::Relaxed);
        result
    }

    /// Now, on the documents' clock.
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

/// A relay over SQLite in a temporary directory, for the driver's own tests.
#[cfg(test)]
pub(crate) async fn test_relay() -> (Arc<Relay<crate::storage::SqliteStorage>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let storage = crate::storage::SqliteStorage::open(dir.path())
        .await
        .expect("SQLite opens");
    let identity = Identity {
        storage_id: "test".into(),
        index_secret: b"secret".to_vec(),
    };
    let relay = Relay::new(storage, Auth::InsecureDev, Limits::default(), identity);
    (Arc::new(relay), dir)
}
