//! `threads:delete` (to the trash, as the browser's `deleteThread`), `threads:restore` and
//! `threads:purge`, each taking `{ threadId }` and answering `null`. The trash lives in the user's
//! index alone, as in the browser store: a trashed thread keeps its document, leaves every list but
//! `threads:list { trashed: true }`, and is purged once the user's `trashRetentionDays` have passed
//! (the retention sweep). A purge is, in this order (the retention sweep does the
//! same for many threads at once): the thread's tombstone written in the user's index, so every
//! device erases its copy and refuses it; then its stored bytes erased and the id refused from then
//! on ([`Relay::purge_document`]).

use std::sync::Arc;

use chatsync_model::input::Fields;
use serde_json::Value;

use super::documents::ThreadRef;
use super::error::ApiError;
use super::index::write_index;
use crate::relay::Relay;
use crate::storage::Storage;

/// `threads:delete`: into the trash (trashing a trashed thread keeps its first time there; deleting
/// a purged thread again is done already).
pub(super) async fn trash<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let thread = thread_arg(args)?;
    write_index(relay, user, move |index, now| {
        if index.is_purged(&thread.id) {
            return Ok(Value::Null);
        }
        match index.trash(&thread.id, now) {
            Ok(()) => Ok(Value::Null),
            Err(chatsync_model::ModelError::NotFound { .. }) => Err(ApiError::thread_not_found()),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `threads:restore`: out of the trash, as it was. `409 invalid_transition` for a thread not in the
/// trash or past its time there, `410 purged` for a purged one (a purge racing a restore wins:
/// the tombstone is never cleared).
pub(super) async fn restore<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let thread = thread_arg(args)?;
    write_index(relay, user, move |index, now| {
        match index.restore(&thread.id, now) {
            Ok(()) => Ok(Value::Null),
            // One answer, with no id in it, for a thread that is absent or another user's.
            Err(chatsync_model::ModelError::NotFound { .. }) => Err(ApiError::thread_not_found()),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `threads:purge`: erased for good, trashed or not. Purging twice is harmless.
pub(super) async fn purge<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    purge_thread(relay, user, &thread_arg(args)?).await?;
    Ok(Value::Null)
}

fn thread_arg(args: &Value) -> Result<ThreadRef, ApiError> {
    let mut f = Fields::of(&args)?;
    let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
    f.finish()?;
    Ok(thread)
}

/// Purges the user's thread. Another user's thread, and an id neither stored nor listed, are not
/// found, and nothing is written for them.
async fn purge_thread<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
) -> Result<(), ApiError> {
    let owner = relay.storage().owner(&thread.doc).await.map_err(|e| {
        tracing::warn!(document = %thread.doc, error = %e, "a purge could not reach storage");
        ApiError::Storage
    })?;
    if owner.as_deref().is_some_and(|owner| owner != user) {
        return Err(ApiError::thread_not_found());
    }
    let (id, stored) = (thread.id.clone(), owner.is_some());
    write_index(relay, user, move |index, now| {
        if !stored && !index.contains(&id) {
            return Err(ApiError::thread_not_found());
        }
        Ok(index.purge(&id, now)?)
    })
    .await?;
    relay.purge_document(user, &thread.doc).await?;
    Ok(())
}
