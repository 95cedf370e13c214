//! The search indexer: a task that re-indexes each thread moments after its changes are stored (a
//! device's sync, the HTTP API) — several changes of one thread in a burst (a streamed reply) are
//! indexed once. One thread at a time, so indexing takes at most one blocking thread (the model's
//! work runs there, through the relay's local-read seam), never an async worker.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::index_thread;
use crate::relay::Relay;
use crate::storage::Storage;

/// How long a changed thread waits for more changes before it is indexed.
const SETTLE: Duration = Duration::from_millis(250);

/// Indexes changed threads until `shutdown`.
pub async fn run<S: Storage>(relay: Arc<Relay<S>>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = relay.changes_arrived() => {}
            () = shutdown.cancelled() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(SETTLE) => {}
            () = shutdown.cancelled() => return,
        }
        for (user, id) in relay.take_changes() {
            if shutdown.is_cancelled() {
                return;
            }
            if let Err(e) = index_thread(&relay, &user, id).await {
                tracing::warn!(user, document = %id, error = %e, "a thread was not indexed for search");
            }
        }
    }
}
