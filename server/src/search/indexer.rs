//! The search indexer: a task that hears which documents had changes stored (a device's sync, the
//! HTTP API) and re-indexes each thread moments later — several changes of one thread in a burst (a
//! streamed reply) are indexed once. One thread at a time, so indexing takes at most one blocking
//! thread (the model's work runs there, through the relay's local-read seam), never an async worker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chatsync_protocol::DocumentId;
use tokio_util::sync::CancellationToken;

use super::index_thread;
use crate::relay::Relay;
use crate::storage::Storage;

/// How long a changed thread waits for more changes before it is indexed.
const SETTLE: Duration = Duration::from_millis(250);

/// Threads waiting to be indexed, at most; past this, a changed thread is indexed at its next
/// change (or, if it never was, by the next search's backfill).
const MAX_PENDING: usize = 10_000;

/// Indexes changed threads until `shutdown`.
pub async fn run<S: Storage>(relay: Arc<Relay<S>>, shutdown: CancellationToken) {
    let mut changed = relay.watch_changes();
    let mut pending: HashMap<DocumentId, String> = HashMap::new();
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        let settle = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            notice = changed.recv() => {
                let Some((user, id)) = notice else { return };
                if pending.len() < MAX_PENDING || pending.contains_key(&id) {
                    pending.insert(id, user);
                } else {
                    relay.metrics().refused("search_index_behind");
                }
                due.get_or_insert_with(|| tokio::time::Instant::now() + SETTLE);
                continue;
            }
            () = settle => {}
            () = shutdown.cancelled() => return,
        }
        due = None;
        for (id, user) in std::mem::take(&mut pending) {
            if shutdown.is_cancelled() {
                return;
            }
            if let Err(e) = index_thread(&relay, &user, id).await {
                tracing::warn!(user, document = %id, error = %e, "a thread was not indexed for search");
            }
        }
    }
}
