//! What a connection holds in the relay — its place in the connection gauge, its count against its
//! user's cap, its sessions on documents — released however the connection ends.
//!
//! The normal end calls [`Registration::finish`]. If the connection's future is dropped instead (its
//! task aborted, a panic outside the per-frame boundary, a runtime shutting down), `Drop` releases the
//! counts at once and hands the session removal to a task, so no document keeps a dead session and
//! no gauge drifts.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chatsync_protocol::DocumentId;

use super::refusal::Refusal;
use super::{ConnId, Relay};
use crate::storage::Storage;

/// One connection's bookkeeping in the relay.
pub(crate) struct Registration<S: Storage> {
    relay: Arc<Relay<S>>,
    conn: ConnId,
    user: String,
    /// Whether the user's connection count includes this connection.
    admitted: bool,
    /// Documents this connection has a session on.
    documents: HashSet<DocumentId>,
    /// Set once everything is released.
    released: bool,
}

impl<S: Storage> Registration<S> {
    /// Registers a new connection of `user`: it counts in the connection gauge from now on.
    pub(crate) fn new(relay: Arc<Relay<S>>, user: String) -> Self {
        let conn = relay.next_conn_id();
        relay.metrics.connections.fetch_add(1, Ordering::Relaxed);
        Self {
            relay,
            conn,
            user,
            admitted: false,
            documents: HashSet::new(),
            released: false,
        }
    }

    /// This connection's id.
    pub(crate) fn conn(&self) -> ConnId {
        self.conn
    }

    /// Counts the connection against its user's cap of `max`.
    pub(crate) fn admit(&mut self, max: usize) -> Result<(), Refusal> {
        self.relay.users.open(&self.user, max)?;
        self.admitted = true;
        Ok(())
    }

    /// The documents the connection has sessions on, for the connection to add to.
    pub(crate) fn documents(&mut self) -> &mut HashSet<DocumentId> {
        &mut self.documents
    }

    /// Removes the connection's sessions and releases its counts. After a panic, its documents are
    /// also dropped from memory: the panic may have left one half-changed, and storage holds what
    /// was acknowledged.
    pub(crate) async fn finish(mut self, panicked: bool) {
        let documents = std::mem::take(&mut self.documents);
        if panicked {
            self.relay.forget_documents(&documents);
        }
        self.relay.remove_connection(self.conn, documents).await;
        self.release_counts();
    }

    fn release_counts(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        self.relay
            .metrics
            .connections
            .fetch_sub(1, Ordering::Relaxed);
        if self.admitted {
            self.relay.users.close(&self.user);
        }
    }
}

impl<S: Storage> Drop for Registration<S> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.release_counts();
        tracing::warn!(
            conn = self.conn,
            user = self.user,
            "connection ended without its cleanup; releasing it now"
        );
        let documents = std::mem::take(&mut self.documents);
        if documents.is_empty() {
            return;
        }
        // Removing sessions takes the documents' state locks, which Drop cannot wait for.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (relay, conn) = (self.relay.clone(), self.conn);
            runtime.spawn(async move {
                relay.forget_documents(&documents);
                relay.remove_connection(conn, documents).await;
            });
        }
    }
}
