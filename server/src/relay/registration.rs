//! What a connection holds in the relay — its place in the connection gauge, its count against its
//! user's cap, its sessions on documents — released however the connection ends.
//!
//! The normal end calls [`Registration::finish`]. If the connection's future is dropped instead (its
//! task aborted, a panic outside the per-frame boundary, a runtime shutting down), `Drop` releases the
//! counts at once and hands the session removal to a task, so no document keeps a dead session and
//! no gauge drifts.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chatsync_protocol::DocumentId;
use chatsync_protocol::hub::{HubConnection, Refusal};

use super::Relay;
use crate::storage::Storage;

/// One connection's bookkeeping in the relay, around its hub connection.
pub(crate) struct Registration<S: Storage> {
    relay: Arc<Relay<S>>,
    hub: HubConnection,
    /// Set once everything is released.
    released: bool,
}

impl<S: Storage> Registration<S> {
    /// Registers a new connection of `user` (its token valid until `expires_at` on the connection's
    /// clock): it counts in the connection gauge from now on, and against its user's cap unless
    /// refused.
    pub(crate) fn new(
        relay: Arc<Relay<S>>,
        user: &str,
        expires_at: Option<Duration>,
    ) -> (Self, Result<(), Refusal>) {
        let conn = relay.next_conn_id();
        relay.metrics.connections.fetch_add(1, Ordering::Relaxed);
        let (hub, admitted) =
            relay.with_hub(|hub| hub.connect(conn, user, Duration::ZERO, expires_at));
        let registration = Self {
            relay,
            hub,
            released: false,
        };
        (registration, admitted)
    }

    /// The hub connection.
    pub(crate) fn hub(&self) -> &HubConnection {
        &self.hub
    }

    /// The hub connection, to step.
    pub(crate) fn hub_mut(&mut self) -> &mut HubConnection {
        &mut self.hub
    }

    fn documents(&self) -> Vec<DocumentId> {
        self.hub.documents().iter().copied().collect()
    }

    /// Removes the connection's sessions and releases its counts. After a panic, its documents are
    /// also dropped from memory: the panic may have left one half-changed, and storage holds what
    /// was acknowledged.
    pub(crate) async fn finish(mut self, panicked: bool) {
        let documents = self.documents();
        if panicked {
            self.relay.forget_copies_of(self.hub.id(), &documents).await;
        }
        self.relay.remove_connection(self.hub.id(), documents).await;
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
        let hub = &mut self.hub;
        self.relay.with_hub(|relay_hub| relay_hub.disconnect(hub));
    }
}

impl<S: Storage> Drop for Registration<S> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.release_counts();
        let conn = self.hub.id();
        tracing::warn!(
            conn,
            user = self.hub.user(),
            "connection ended without its cleanup; releasing it now"
        );
        let documents = self.documents();
        if documents.is_empty() {
            return;
        }
        // Removing sessions takes the documents' state locks, which Drop cannot wait for.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let relay = self.relay.clone();
            runtime.spawn(async move {
                relay.forget_copies_of(conn, &documents).await;
                relay.remove_connection(conn, documents).await;
            });
        }
    }
}
