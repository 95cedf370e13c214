//! Which index document (the user's thread list) a database uses, and the list's repair on open.
//!
//! - The id is chosen once per database, in one IndexedDB transaction that reads `meta.indexId` and
//!   writes it only if it is absent, so concurrent opens (React StrictMode mounting twice, two tabs on
//!   a first visit) all end on the first one's index instead of each keeping its own. The relay's
//!   assignment (`/api/me`) overrides a local choice; what the local index held is merged into it.
//! - Every open compares the ids of the stored documents with the threads the index lists (keys
//!   only, one read). A thread stored here that the index lacks — written by a store that used
//!   another index, or whose index write was lost — is listed again from its stored view when that
//!   is current, else from its document. An index document other than the current one is merged
//!   into it, once.

use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use chatsync_model::{Index, Limits, ThreadId, ThreadStatus, ThreadSummary};
use chatsync_protocol::DocumentId;
use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::{Result, StoreError};
use crate::idb::{Db, StoredDoc};
use crate::inner::IndexDoc;
use crate::persist::Persisted;
use crate::util::{now_ms, random_bytes};

const META_INDEX_ID: &str = "indexId";
/// The `meta` key of the local part's document id (see `IndexDoc::local_id`).
const META_LOCAL_INDEX_ID: &str = "localIndexId";
/// The `meta` key of the ids of stored documents that are not threads (earlier index documents,
/// already merged): the repair never reads them again.
const META_NOT_THREADS: &str = "notThreads";

/// The index document of this database, created if need be, with every thread stored here listed;
/// and the stored documents found not to be threads (an index merged into this one), for
/// [`mark_not_threads`] once the merged index is stored — marked before, a failed write would lose
/// what only the old index held.
pub(crate) async fn open_index(
    db: &Db,
    relay_index: Option<DocumentId>,
) -> Result<(IndexDoc, Vec<String>)> {
    let (held, id) = choose_id(db, META_INDEX_ID, relay_index).await?;
    // Both reads at once: the repair's key-only requests are made before the index is read.
    let stored = db.stored_doc_ids();
    let (mut index, persisted) = read_index(db, id).await?;
    // Chosen like the index's, never the relay's: the relay never hears of it.
    let (_, local_id) = choose_id(db, META_LOCAL_INDEX_ID, None).await?;
    let (local, local_persisted) = read_index(db, local_id).await?;
    index.set_local(local);
    let mut index = IndexDoc {
        id,
        index,
        persisted,
        dirty: false,
        local_id,
        local_persisted,
    };
    let mut not_threads = Vec::new();
    if let Some(old) = held.filter(|old| *old != id) {
        // An index made here before the relay assigned one: its threads join the relay's list.
        let (mut local, _) = read_index(db, old).await?;
        index.index.merge(&mut local)?;
        index.dirty = true;
        not_threads.push(old.to_string());
    }
    // Local-only summaries an earlier version wrote into the synced index leave it (its history
    // keeps them: Automerge keeps every value written). A read-only index stays as it is.
    index.dirty |= index.index.move_local_only(now_ms()).unwrap_or(false);
    repair(db, &mut index, stored.await?, &mut not_threads).await?;
    Ok((index, not_threads))
}

/// The document id `meta[key]` names, written in the same transaction if need be: the relay's
/// (`relay`) when it names another, a new one when it names none. Returns the id it held, and the
/// one to use.
async fn choose_id(
    db: &Db,
    key: &str,
    relay: Option<DocumentId>,
) -> Result<(Option<DocumentId>, DocumentId)> {
    let proposed = relay.unwrap_or_else(|| DocumentId::new_v4(random_bytes()));
    let held = db
        .update_meta(key, &|held| {
            let held = held.and_then(parse_id);
            let keep = match relay {
                Some(relay) => held == Some(relay),
                None => held.is_some(),
            };
            (!keep).then(|| proposed.to_string().into())
        })
        .await?;
    let held = held.as_ref().and_then(parse_id);
    Ok((held, relay.or(held).unwrap_or(proposed)))
}

fn parse_id(value: &JsValue) -> Option<DocumentId> {
    value.as_string()?.parse().ok()
}

async fn read_index(db: &Db, id: DocumentId) -> Result<(Index, Persisted)> {
    let actor = automerge::ActorId::from(random_bytes::<16>().to_vec());
    let stored: StoredDoc = db.read_doc(&id.to_string()).await?;
    let index = if stored.is_empty() {
        Index::new(actor)
    } else {
        Index::load(&stored.concatenated(), actor).map_err(|e| StoreError::Corrupt {
            id: id.to_string(),
            reason: e.to_string(),
        })?
    };
    Ok((
        index,
        Persisted::loaded(stored.bytes(), stored.sync_state.clone()),
    ))
}

/// Lists every stored thread the index lacks, and merges stored index documents other than this one.
/// Marks the index dirty when that changed it.
async fn repair(
    db: &Db,
    index: &mut IndexDoc,
    stored: Vec<String>,
    found_not_threads: &mut Vec<String>,
) -> Result<()> {
    let own = [index.id.to_string(), index.local_id.to_string()];
    let mut candidates: Vec<String> = stored
        .into_iter()
        .filter(|doc| !own.contains(doc) && !listed(&index.index, doc))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let skipped = not_threads(db.meta(META_NOT_THREADS).await?.as_ref());
    candidates.retain(|doc| !skipped.contains(doc));
    for doc in candidates {
        match recover(db, &doc).await {
            Some(Recovered::Thread(summary)) => {
                // A read-only (newer-schema) index cannot list it; the thread itself stays stored.
                index.dirty |= index.index.upsert(&summary, now_ms()).is_ok();
            }
            Some(Recovered::Index(mut other)) => {
                let merged = index.index.merge(&mut other).is_ok();
                index.dirty |= merged;
                if merged {
                    found_not_threads.push(doc);
                }
            }
            Some(Recovered::Neither) => found_not_threads.push(doc),
            // Damaged: left as it is, to be reported (and re-fetched) when the thread is opened.
            None => {}
        }
    }
    Ok(())
}

/// Whether the index has `doc` as a thread (deleted ones included).
fn listed(index: &Index, doc: &str) -> bool {
    ThreadId::new(doc).is_ok_and(|id| index.contains(&id))
}

/// What a stored document not in the index turned out to be.
enum Recovered {
    Thread(ThreadSummary),
    Index(Box<Index>),
    /// Neither: not read again.
    Neither,
}

/// Reads what `doc` is: `None` when its stored bytes are damaged.
async fn recover(db: &Db, doc: &str) -> Option<Recovered> {
    let Ok(id) = ThreadId::new(doc) else {
        return Some(Recovered::Neither);
    };
    let stored = db.read_doc(doc).await.ok()?;
    if stored.is_empty() {
        return None;
    }
    if let Some(summary) = stored
        .current_view
        .as_ref()
        .and_then(|view| summary_from_view(id.clone(), view))
    {
        return Some(Recovered::Thread(summary));
    }
    let automerge = AutoCommit::load(&stored.concatenated()).ok()?;
    // A thread keeps its metadata in a `meta` map; an index keeps only `<thread id>/<field>` keys.
    let is_thread = matches!(
        automerge.get(ROOT, "meta"),
        Ok(Some((automerge::Value::Object(ObjType::Map), _)))
    );
    if is_thread {
        let thread =
            chatsync_model::Thread::from_automerge(id, automerge, Limits::default()).ok()?;
        return Some(Recovered::Thread(
            thread.summary(chatsync_model::ReadAt::new(now_ms())),
        ));
    }
    if automerge.keys(ROOT).any(|key| key.contains('/')) {
        return Some(Recovered::Index(Box::new(Index::from_automerge(automerge))));
    }
    Some(Recovered::Neither)
}

/// A thread's summary from its stored view (a `ThreadView`): what `Thread::summary` reads from the
/// document, without loading it.
fn summary_from_view(id: ThreadId, view: &JsValue) -> Option<ThreadSummary> {
    let field = |name: &str| Reflect::get(view, &name.into()).ok();
    let time = |name: &str| field(name).and_then(|v| v.as_f64()).map(|v| v as u64);
    let messages = js_sys::Array::from(&field("messages")?);
    let last_content = messages
        .iter()
        .last()
        .and_then(|m| Reflect::get(&m, &"content".into()).ok()?.as_string());
    let status: ThreadStatus = field("status")?.as_string()?.parse().ok()?;
    let created_at = time("createdAt")?;
    let defaults = ThreadSummary::new(id.clone());
    Some(ThreadSummary {
        id,
        title: field("title")?.as_string()?,
        status,
        created_at,
        last_activity_at: time("lastMessageAt")
            .unwrap_or(created_at)
            .max(time("updatedAt").unwrap_or(0)),
        message_count: u64::from(messages.length()),
        preview: last_content
            .map(|c| chatsync_model::title::preview(&c))
            .unwrap_or_default(),
        project_id: field("projectId").and_then(|v| v.as_string()),
        // Listed from the local part, never the synced index.
        local_only: field("localOnly").is_some_and(|v| v.is_truthy()),
        ..defaults
    })
}

/// The ids in a stored `notThreads` list (none, for anything but a list of strings).
fn not_threads(stored: Option<&JsValue>) -> Vec<String> {
    stored
        .filter(|v| js_sys::Array::is_array(v))
        .map(|ids| {
            js_sys::Array::from(ids)
                .iter()
                .filter_map(|id| id.as_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Adds ids to the stored `notThreads` list, in one transaction with reading it (other tabs add too).
pub(crate) async fn mark_not_threads(db: &Db, ids: Vec<String>) -> Result<()> {
    db.update_meta(META_NOT_THREADS, &|held| {
        let mut all = not_threads(held);
        for id in &ids {
            if !all.contains(id) {
                all.push(id.clone());
            }
        }
        let list: js_sys::Array = all.into_iter().map(JsValue::from).collect();
        Some(list.into())
    })
    .await?;
    Ok(())
}
