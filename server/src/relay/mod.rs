//! The relay's core: documents in memory, their sync sessions with each connection, and the rule that
//! a change is acknowledged only once it is stored.

mod connection;
mod document;
mod limits;
mod metrics;

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

/// A connection's id, unique within this relay process.
pub type ConnId = u64;

/// The relay. Shared by every connection behind an `Arc`.
pub struct Relay<S> {
    storage: S,
    auth: Auth,
    limits: Limits,
    peer_id: String,
    storage_id: String,
    documents: Mutex<HashMap<DocumentId, Arc<Mutex<LoadedDocument>>>>,
    next_conn: AtomicU64,
    metrics: Metrics,
}

impl<S: Storage> Relay<S> {
    /// A relay over `storage`. `storage_id` names the storage to peers (automerge-repo's `storageId`).
    pub fn new(storage: S, auth: Auth, limits: Limits, storage_id: String) -> Self {
        Self {
            storage,
            auth,
            limits,
            peer_id: format!("chatsync-relay-{storage_id}"),
            storage_id,
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

    fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
