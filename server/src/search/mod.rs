//! Full-text search of each user's threads at the relay (the HTTP API's `threads:search`), kept in
//! a search table beside the documents (SQLite FTS5, or PostgreSQL full-text search).
//!
//! - `terms`: how text becomes search terms (the browser store's rules), and snippets.
//! - `extract`: a thread's rows (its title, each message), through the model.
//! - `indexer`: follows the relay's stored changes and re-indexes each changed thread moments
//!   later, one at a time, its Automerge work on the blocking pool.
//!
//! A search first indexes the caller's threads changed since the indexer last ran (so it finds
//! what was just written), then, lazily, threads stored before the search table existed: up to
//! [`BACKFILL_PER_SEARCH`] of each per search.

mod extract;
mod indexer;
pub(crate) mod terms;

use std::sync::Arc;

use chatsync_model::ThreadId;
use chatsync_protocol::DocumentId;

use crate::api::error::ApiError;
use crate::api::{ThreadRef, read_any_thread};
use crate::relay::Relay;
use crate::storage::Storage;

pub use indexer::run;

/// The search terms of `text`, as the search table stores them (`query: false`) or as a query
/// looks for them (`query: true`): folded words, CJK bigrams.
pub fn search_terms(text: &str, query: bool) -> Vec<String> {
    terms::terms(text, query)
}

/// Threads with no rows yet that one search indexes first, at most: a user with thousands of old
/// threads gets them all indexed over a few searches, none of which waits for all of them.
pub(crate) const BACKFILL_PER_SEARCH: usize = 25;

/// Brings the search rows of `user`'s document `id` up to date, if it is a thread. A document that
/// is gone (purged: its rows went with it) or not the user's is left alone.
pub(crate) async fn index_thread<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    id: DocumentId,
) -> Result<(), ApiError> {
    if id == relay.index_document_id(user) {
        return Ok(());
    }
    let Ok(thread_id) = ThreadId::new(id.to_string()) else {
        return Ok(());
    };
    let thread = ThreadRef {
        doc: id,
        id: thread_id,
    };
    let rows = match read_any_thread(relay, user, &thread, extract::search_rows).await {
        Ok(Some(rows)) => rows,
        Ok(None) | Err(ApiError::NotFound(_) | ApiError::Purged(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    relay.storage().search_put(user, &rows).await.map_err(|e| {
        tracing::warn!(document = %id, error = %e, "the search index could not be written");
        ApiError::Storage
    })
}
