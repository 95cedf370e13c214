//! The relay's core: documents in memory, their sync sessions with each connection, and the rule that
//! a change is acknowledged only once it is stored.

mod connection;
mod document;
mod limits;
mod metrics;
mod outbox;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chatsync_protocol::DocumentId;
use tokio::sync::Mutex;

use crate::auth::Auth;
use crate::storage::Storage;

pub use connection::{Frame, Inbound, serve_connection};
pub use limits::Limits;
pub use metrics::Metrics;

use document::LoadedDocument;

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
    documents: Mutex<HashMap<DocumentId, Arc<Mutex<LoadedDocument>>>>,
    next_conn: AtomicU64,
    metrics: Metrics,
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
            documents: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            metrics: Metrics::default(),
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
        self.documents.lock().await.len()
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
