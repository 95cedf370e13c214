//! Threads and the index through the model, on top of the relay's one local-write seam
//! ([`Relay::with_document`]): every write goes through `chatsync-model`, and every thread write
//! brings the user's index (their thread list) up to date, so each device's `listThreads()` shows it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use chatsync_model::{Index, Limits, ReadAt, Thread, ThreadId, ThreadStatus, ThreadSummary};
use chatsync_protocol::DocumentId;

use super::error::ApiError;
use crate::relay::{Open, Relay};
use crate::storage::Storage;

/// Now, in ms since the Unix epoch (the model takes time as a parameter).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A fresh id for a message, artifact, tool call or approval: 128 random bits, as the browser's.
pub(crate) fn new_id() -> String {
    ActorId::random().to_hex_string()
}

/// A thread as the API names it: its document id and the model's id.
#[derive(Clone, Debug)]
pub(crate) struct ThreadRef {
    pub doc: DocumentId,
    pub id: ThreadId,
}

impl ThreadRef {
    /// The thread named `raw`. A string that cannot be a thread id is not found, exactly like an id
    /// that names no thread (as in the browser store).
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        let doc: DocumentId = raw.parse().map_err(|_| ApiError::thread_not_found())?;
        let id = ThreadId::new(doc.to_string()).map_err(|_| ApiError::thread_not_found())?;
        Ok(Self { doc, id })
    }

    /// A new thread, with a random id.
    pub(crate) fn fresh() -> Self {
        let bytes: [u8; 16] = ActorId::random().to_bytes().try_into().unwrap_or([0; 16]);
        let doc = DocumentId::new_v4(bytes);
        let id = ThreadId::new(doc.to_string()).expect("a document id is a valid thread id");
        Self { doc, id }
    }
}

/// Whether a write may touch a deleted thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deleted {
    /// A deleted thread is not found (every write and read).
    NotFound,
    /// Deleting again is done (the delete itself).
    Allowed,
}

/// Whether `doc` is a thread document (and not, say, an index or an app's own document).
fn is_thread(doc: &AutoCommit) -> bool {
    matches!(
        doc.get(ROOT, "meta"),
        Ok(Some((automerge::Value::Object(ObjType::Map), _)))
    )
}

/// Runs `f` with the thread in `doc` through the model, putting the document back whatever happens.
fn with_thread<T>(
    doc: &mut AutoCommit,
    id: &ThreadId,
    deleted: Deleted,
    f: impl FnOnce(&mut Thread) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    if !is_thread(doc) {
        return Err(ApiError::thread_not_found());
    }
    let mut thread =
        match Thread::from_automerge(id.clone(), std::mem::take(doc), Limits::default()) {
            Ok(thread) => thread,
            Err(failed) => {
                *doc = failed.doc;
                return Err(failed.error.into());
            }
        };
    let result = if deleted == Deleted::NotFound && thread.status() == ThreadStatus::Deleted {
        Err(ApiError::thread_not_found())
    } else {
        f(&mut thread)
    };
    *doc = thread.into_automerge();
    if result.is_err() {
        // A refused write stores nothing: whatever the model had written before it refused is
        // taken back rather than committed with the refusal (the caller gets a 4xx and may retry).
        doc.rollback();
    }
    result
}

/// Whether a thread write updates the user's index at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Bring the thread's summary in the index up to date.
    Update,
    /// Not now: a stream's deltas (its summary is written when the stream opens and ends).
    Later,
}

/// Writes to the user's thread through the model (`f` gets the thread and the time), stores it, and
/// then the user's index. Returns what `f` returned.
pub(crate) async fn write_thread<S: Storage, T: Send + 'static>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    deleted: Deleted,
    f: impl FnOnce(&mut Thread, u64) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    write_thread_listed(relay, user, thread, deleted, Listing::Update, f).await
}

/// [`write_thread`], updating the index only as `listing` says.
pub(crate) async fn write_thread_listed<S: Storage, T: Send + 'static>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    deleted: Deleted,
    listing: Listing,
    f: impl FnOnce(&mut Thread, u64) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // A thread shared with the user lives in its owner's list: that is the index to check and
    // bring up to date.
    let owner = owner_of_thread(relay, user, thread).await?;
    if deleted == Deleted::NotFound {
        refuse_if_purged_in_index(relay, &owner, thread).await?;
    }
    let id = thread.id.clone();
    let (value, summary) = relay
        .with_document(user, &thread.doc, Open::Existing, move |doc| {
            with_thread(doc, &id, deleted, |thread| {
                let now = now_ms();
                let value = f(thread, now)?;
                Ok((value, thread.summary(ReadAt::new(now))))
            })
        })
        .await??;
    if listing == Listing::Update {
        update_index(relay, &owner, thread, summary).await?;
    }
    Ok(value)
}

/// Whose list `thread` is in: the user's own, or its owner's when it is shared with the user.
/// Another user's thread not shared with them is not found.
pub(crate) async fn owner_of_thread<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
) -> Result<String, ApiError> {
    match relay.standing(&thread.doc, user).await {
        Ok(crate::relay::Standing::Stranger) => Err(ApiError::thread_not_found()),
        Ok(standing) => Ok(standing.opener(user).to_owned()),
        Err(refusal) => Err(crate::relay::LocalWriteError::from(refusal).into()),
    }
}

/// Reads the user's thread through the model.
pub(crate) async fn read_thread<S: Storage, T: Send + 'static>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    f: impl FnOnce(&Thread, u64) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let owner = owner_of_thread(relay, user, thread).await?;
    refuse_if_purged_in_index(relay, &owner, thread).await?;
    let id = thread.id.clone();
    relay
        .read_document(user, &thread.doc, move |doc| {
            with_thread(doc, &id, Deleted::NotFound, |thread| {
                Ok(f(thread, now_ms()))
            })
        })
        .await?
}

/// Reads the user's thread through the model, a thread in the trash too (the search index reads
/// every thread, and leaves out those in the trash itself). `Ok(None)`: the document is not a thread
/// (an index, an app's own document).
pub(crate) async fn read_any_thread<S: Storage, T: Send + 'static>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    f: impl FnOnce(&Thread, u64) -> T + Send + 'static,
) -> Result<Option<T>, ApiError> {
    let id = thread.id.clone();
    relay
        .with_document(user, &thread.doc, Open::Existing, move |doc| {
            if !is_thread(doc) {
                return Ok(None);
            }
            with_thread(doc, &id, Deleted::Allowed, |thread| {
                Ok(Some(f(thread, now_ms())))
            })
        })
        .await?
}

/// Creates the thread `thread` for the user with `make` (given the time), unless it exists: then
/// `same` decides whether the existing thread is what was asked for (the answer is its summary) or
/// not (`409 already_exists`).
pub(crate) async fn create_thread<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    make: impl FnOnce(ThreadId, ActorId, u64) -> Result<Thread, ApiError> + Send + 'static,
    same: impl FnOnce(&Thread) -> bool + Send + 'static,
) -> Result<ThreadSummary, ApiError> {
    let id = thread.id.clone();
    let summary = relay
        .with_document(user, &thread.doc, Open::CreateIfAbsent, move |doc| {
            let now = now_ms();
            if doc.get_heads().is_empty() {
                let mut created = make(id, ActorId::random(), now)?;
                let summary = created.summary(ReadAt::new(now));
                created.commit();
                *doc = created.into_automerge();
                return Ok(summary);
            }
            let exists = || ApiError::AlreadyExists(format!("thread {id} already exists"));
            if !is_thread(doc) {
                return Err(exists());
            }
            with_thread(doc, &id, Deleted::Allowed, |thread| {
                if thread.status() == ThreadStatus::Deleted || !same(thread) {
                    return Err(exists());
                }
                Ok(thread.summary(ReadAt::new(now)))
            })
        })
        .await??;
    update_index(relay, user, thread, summary.clone()).await?;
    Ok(summary)
}

/// Before anything reads or writes a thread: if the user's index says it is purged (a device purged
/// it, and the relay may not have erased it yet), it is erased now and the call answered
/// `410 purged`, as a write found purged after the fact is; nothing is written to it.
async fn refuse_if_purged_in_index<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
) -> Result<(), ApiError> {
    if !purged_in_index(relay, user, &thread.id).await? {
        return Ok(());
    }
    relay.purge_document(user, &thread.doc).await?;
    Err(ApiError::Purged("the thread was purged".into()))
}

/// Whether the user's index says the thread is deleted (purged). Deletion lives in the index, not
/// in the thread's document (the model: "Trash and purge live here alone"): a device that deletes a
/// thread writes its tombstone there, and the thread document may still say `active`. The browser
/// store checks both, and so does the API: the thread document's own status in [`with_thread`],
/// the index here. A user with no index yet has deleted nothing.
async fn purged_in_index<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    id: &ThreadId,
) -> Result<bool, ApiError> {
    let index_id = relay.index_document_id(user);
    let id = id.clone();
    let purged = relay
        .with_document(user, &index_id, Open::Existing, move |doc| {
            let index = Index::from_automerge(std::mem::take(doc));
            let purged = index.is_purged(&id);
            *doc = index.into_automerge();
            purged
        })
        .await;
    match purged {
        Ok(purged) => Ok(purged),
        Err(crate::relay::LocalWriteError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Brings the user's index up to date with one thread's summary (nothing is written when it is
/// already current). It runs after the thread's own change is stored, so a failure here is logged,
/// not answered: the caller's write did happen (a "nothing was changed" refusal would make a retry
/// of a non-idempotent write, such as a delta, apply it twice), and the list is derived — the next
/// write or any device's flush brings it up to date. An index from a newer schema is left alone, as
/// in the browser store.
///
/// The one refusal answered: the index says the thread is purged (a device purged it, and the
/// relay has not erased it yet). The thread is erased now, and the write answered `410 purged`:
/// a device or backend still holding the thread must not bring it back.
async fn update_index<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    summary: ThreadSummary,
) -> Result<(), ApiError> {
    let index_id = relay.index_document_id(user);
    let upserted = relay
        .with_document(user, &index_id, Open::CreateIfAbsent, move |doc| {
            let mut index = Index::from_automerge(std::mem::take(doc));
            let upserted = index.upsert(&summary, now_ms());
            *doc = index.into_automerge();
            upserted
        })
        .await;
    match upserted {
        Ok(Ok(())) => {}
        Ok(Err(e @ chatsync_model::ModelError::Purged { .. })) => {
            relay.purge_document(user, &thread.doc).await?;
            return Err(e.into());
        }
        Ok(Err(e)) => tracing::warn!(user, error = %e, "the thread list was not updated"),
        Err(e) => tracing::warn!(user, error = %e, "the thread list could not be written"),
    }
    Ok(())
}

/// The user's thread list, as the browser's `listThreads()` gives it.
pub(crate) async fn list_threads<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    options: chatsync_model::ListOptions,
) -> Result<Vec<ThreadSummary>, ApiError> {
    let index_id = relay.index_document_id(user);
    let listed = relay
        .with_document(user, &index_id, Open::Existing, move |doc| {
            let index = Index::from_automerge(std::mem::take(doc));
            let list = index.list(options);
            *doc = index.into_automerge();
            list
        })
        .await;
    match listed {
        Ok(list) => Ok(list),
        // No device and no backend has written a thread yet.
        Err(crate::relay::LocalWriteError::NotFound) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}
