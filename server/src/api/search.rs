//! `threads:search`: the user's threads searched at the relay, with results shaped as the
//! browser's `store.search` gives them, so an app handles both alike. Only the caller's own threads
//! are ever found (every row is stored under its owner, and every search asks for the caller's).

use std::collections::HashSet;
use std::sync::Arc;

use chatsync_model::Role;
use chatsync_model::input::Fields;
use serde_json::{Value, json};

use super::documents::ThreadRef;
use super::error::ApiError;
use super::index::read_index;
use crate::relay::Relay;
use crate::search::terms::{snippet, terms};
use crate::search::{BACKFILL_PER_SEARCH, index_thread};
use crate::storage::{SearchMatch, SearchQuery, Storage};

/// Results given when the caller asks for no number.
const DEFAULT_LIMIT: u64 = 20;
/// Results given at most.
pub(crate) const MAX_LIMIT: u64 = 100;
/// A query's length at most, characters.
const MAX_QUERY_CHARS: usize = 1_000;
/// A query's terms at most (each is one more condition for the database).
const MAX_QUERY_TERMS: usize = 32;

/// Runs `threads:search` with `args` as `user`.
pub(crate) async fn search<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let mut f = Fields::of(&args)?;
    let query = f.required_string("query")?;
    let project_id = f.string("projectId")?;
    let role: Option<Role> = f.parsed("role")?;
    let from = f.uint("from")?;
    let to = f.uint("to")?;
    let include_archived = f.bool("includeArchived")?.unwrap_or(false);
    let limit = f.uint("limit")?.unwrap_or(DEFAULT_LIMIT);
    f.finish()?;
    let invalid = |why: String| Err(ApiError::InvalidInput(why));
    if query.trim().is_empty() {
        return invalid("query must not be empty".into());
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return invalid(format!("query is over {MAX_QUERY_CHARS} characters"));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return invalid(format!("limit must be from 1 to {MAX_LIMIT}"));
    }
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return invalid("from must not be after to".into());
    }
    let mut query_terms = Vec::new();
    for term in terms(&query, true) {
        if !query_terms.contains(&term) {
            query_terms.push(term);
        }
    }
    if query_terms.len() > MAX_QUERY_TERMS {
        return invalid(format!("query has over {MAX_QUERY_TERMS} words"));
    }
    if query_terms.is_empty() {
        // Only punctuation: nothing to look for.
        return Ok(Value::Array(Vec::new()));
    }
    let trashed = backfill(relay, user).await?;
    let search = SearchQuery {
        terms: query_terms.clone(),
        project_id,
        role: role.map(|r| r.as_str().to_owned()),
        from,
        to,
        include_archived,
        exclude_threads: trashed,
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
    };
    let matches = relay.storage().search(user, &search).await.map_err(|e| {
        tracing::warn!(user, error = %e, "a search failed");
        ApiError::Storage
    })?;
    // Cutting snippets tokenizes every matched text (up to 100 of them, each up to 100,000
    // characters): on the blocking pool, not an async worker.
    let results = tokio::task::spawn_blocking(move || shaped(matches, &query_terms))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "building search results failed");
            ApiError::Internal
        })?;
    Ok(Value::Array(results))
}

/// The results as the browser's `store.search` gives them.
fn shaped(matches: Vec<SearchMatch>, query_terms: &[String]) -> Vec<Value> {
    matches
        .into_iter()
        .map(|m| {
            let (snippet, highlights) = snippet(&m.text, query_terms);
            let mut item = json!({
                "threadId": m.thread_id,
                "kind": if m.message_id.is_some() { "message" } else { "title" },
                "title": m.title,
                "createdAt": m.created_at,
                "snippet": snippet,
                "highlights": highlights,
                "score": m.score,
            });
            if let Some(fields) = item.as_object_mut() {
                if let Some(message_id) = m.message_id {
                    fields.insert("messageId".into(), message_id.into());
                }
                if let Some(role) = m.role {
                    fields.insert("role".into(), role.into());
                }
            }
            item
        })
        .collect()
}

/// Indexes up to [`BACKFILL_PER_SEARCH`] of the user's threads changed since the indexer last ran,
/// then as many that have no search rows yet (stored before the search table existed). Returns the
/// threads in the trash, which results leave out: the trash lives in the user's index alone.
async fn backfill<S: Storage>(relay: &Arc<Relay<S>>, user: &str) -> Result<Vec<String>, ApiError> {
    let (listed, trashed) = read_index(relay, user, |index, _| {
        let ids = |trashed| {
            index
                .list(chatsync_model::ListOptions {
                    include_archived: true,
                    project_id: None,
                    trashed,
                })
                .into_iter()
                .map(|summary| summary.id.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        (ids(false), ids(true))
    })
    .await?;
    // Threads changed since the indexer last ran: indexed now, so a search right after a write
    // finds what was written.
    for id in relay.take_changes_of(user, BACKFILL_PER_SEARCH) {
        if let Err(e) = index_thread(relay, user, id).await {
            tracing::warn!(user, document = %id, error = %e, "a thread was not indexed for search");
        }
    }
    let indexed: HashSet<String> = relay
        .storage()
        .search_indexed(user)
        .await
        .map_err(|e| {
            tracing::warn!(user, error = %e, "the search index could not be read");
            ApiError::Storage
        })?
        .into_iter()
        .collect();
    let missing = listed
        .iter()
        .filter(|id| !indexed.contains(id.as_str()))
        .filter_map(|id| ThreadRef::parse(id).ok())
        .take(BACKFILL_PER_SEARCH);
    for thread in missing {
        if let Err(e) = index_thread(relay, user, thread.doc).await {
            tracing::warn!(user, thread = %thread.id, error = %e, "a thread was not indexed for search");
        }
    }
    Ok(trashed)
}
