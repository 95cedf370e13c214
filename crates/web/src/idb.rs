//! The IndexedDB layout of a store, and every read and write of it.
//!
//! One database per store (`dbName`), at [`LAYOUT_VERSION`]:
//! - `snapshots`: document id → `{ bytes: Uint8Array, sum: string, id: string }`, a compacted save;
//!   `id` changes with every compaction, so a materialized view can tell which snapshot it was built on.
//! - `chunks`: `"<document id>/<writer>-<seq>"` → `{ bytes, sum }`, incremental saves appended per
//!   flush. Keys are unique per writing store instance, so two tabs never overwrite each other's chunks.
//! - Every byte record carries `sum`, a SHA-256 prefix of its bytes, checked on read: a damaged record
//!   is reported as a corrupt thread at open, before the stored view could hide it.
//! - `views`: document id → `{ view, snapshotId, chunks, streams }`, the thread as the UI renders it,
//!   what it was built from, so a thread switch can paint it before the CRDT is loaded — when it is
//!   current —, and whether it shows a stream (`false` spares the switch a scan of its messages).
//! - `meta`: store metadata (`device`, the prefix of this device's actors — see `locks.rs`; the user's
//!   index document id; the ids of stored documents that are not threads), `"unsynced/<thread id>"`
//!   marking each thread the relay may lack, and per document `"sync/<document id>"` →
//!   `{ peer, state: Uint8Array }`: the Automerge sync state last shared with the relay whose storage
//!   id is `peer`, so a reconnect resumes from the heads both held instead of comparing whole histories.
//!
//! A flush is one read-write transaction ([`Db::write`]), so IndexedDB never holds half a flush.
//! Layout 1 (one `documents` store of whole saves) is upgraded in place.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

use crate::error::{Result, StoreError};
use crate::idb_future::{self, OrStorage, Query, Tx};
use crate::persist::{DocWrite, StoredBytes};

/// The layout this build reads and writes.
pub(crate) const LAYOUT_VERSION: u32 = 2;

pub(crate) const SNAPSHOTS: &str = "snapshots";
pub(crate) const CHUNKS: &str = "chunks";
pub(crate) const VIEWS: &str = "views";
pub(crate) const META: &str = "meta";
/// Layout 1's only document store: document id → a whole save.
pub(crate) const LEGACY_DOCUMENTS: &str = "documents";

/// What storage holds of one document.
#[derive(Default)]
pub(crate) struct StoredDoc {
    /// The compacted save and its id.
    pub snapshot: Option<(Vec<u8>, String)>,
    /// Incremental saves since, with their keys.
    pub chunks: Vec<(String, Vec<u8>)>,
    /// The materialized view, if one was stored and is built on exactly this snapshot and chunks.
    pub current_view: Option<JsValue>,
    /// The stored view said, when it was written, that it shows no stream.
    pub view_calm: bool,
    /// The sync state last shared with a relay.
    pub sync_state: Option<SavedSync>,
}

pub(crate) use crate::persist::SavedSync;

/// The `meta` key of a document's sync state.
fn sync_key(doc: &str) -> String {
    format!("sync/{doc}")
}

impl StoredDoc {
    /// Its Automerge bytes, as the storage bookkeeping (`persist.rs`) reads them.
    pub fn bytes(&self) -> StoredBytes<'_> {
        StoredBytes {
            snapshot: self.snapshot.as_ref(),
            chunks: &self.chunks,
        }
    }

    /// Whether storage holds nothing of the document.
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none() && self.chunks.is_empty()
    }

    /// Every stored byte, as one buffer Automerge loads in one call.
    pub fn concatenated(&self) -> Vec<u8> {
        let mut all = self
            .snapshot
            .as_ref()
            .map(|(bytes, _)| bytes.clone())
            .unwrap_or_default();
        for (_, chunk) in &self.chunks {
            all.extend_from_slice(chunk);
        }
        all
    }
}

/// One write of a flush.
pub(crate) enum Write {
    /// A document's chunk, compaction or sync state (`persist.rs` plans them).
    Doc(DocWrite),
    /// Stores the materialized view and what it was built from.
    View {
        doc: String,
        view: JsValue,
        snapshot_id: Option<String>,
        chunks: Vec<String>,
        /// The view shows no stream (`ThreadHandle::view_calm`).
        calm: bool,
    },
    /// Sets a metadata value.
    Meta { key: &'static str, value: JsValue },
    /// Marks thread ids as unsynced and takes the marks off others: one key per id, so the flush
    /// writes them without reading anything in its transaction.
    Unsynced {
        add: Vec<String>,
        remove: Vec<String>,
    },
}

impl From<DocWrite> for Write {
    fn from(write: DocWrite) -> Self {
        Self::Doc(write)
    }
}

/// The `meta` keys `"unsynced/<thread id>"` mark threads with changes the relay may not have: sent
/// after a reload even if never reopened. Every tab on the database marks its own.
fn unsynced_key(doc: &str) -> String {
    format!("unsynced/{doc}")
}

/// Where an earlier build kept the marks, as one list: read at open, deleted by the next flush that
/// writes marks (which restates them as keys).
const LEGACY_UNSYNCED: &str = "unsynced";

/// The key range of a document's chunks: `"<id>/"` up to, not including, `"<id>0"` (`'0'` follows `'/'`).
fn chunk_range(doc: &str) -> std::ops::Range<String> {
    format!("{doc}/")..format!("{doc}0")
}

/// An open store database.
pub(crate) struct Db {
    db: IdbDatabase,
}

impl Db {
    /// Opens (creating or upgrading) the database `name`.
    pub async fn open(name: &str) -> Result<Self> {
        let db = idb_future::open(name, LAYOUT_VERSION, |db, tx, old| async move {
            upgrade(&db, &tx, old).await
        })
        .await?;
        Ok(Self { db })
    }

    /// Closes the connection (other tabs may then upgrade the database).
    pub fn close(&self) {
        self.db.close();
    }

    /// Reads a document's snapshot, chunks and view in one read-only transaction.
    pub async fn read_doc(&self, doc: &str) -> Result<StoredDoc> {
        let tx = Tx::read(&self.db, &[SNAPSHOTS, CHUNKS, VIEWS, META])?;
        let snapshot = tx.store(SNAPSHOTS)?.get(doc)?;
        let chunks = tx.store(CHUNKS)?;
        let range = chunk_range(doc);
        let keys = chunks.keys(Some(&range))?;
        let values = chunks.values(Some(&range))?;
        let view = tx.store(VIEWS)?.get(doc)?;
        let sync_state = tx.store(META)?.get(&sync_key(doc))?;

        let snapshot = match snapshot.record().await? {
            Some(record) => Some((
                checked_bytes(&record).ok_or_else(|| corrupt(doc, "its snapshot"))?,
                string_field(&record, "id").unwrap_or_default(),
            )),
            None => None,
        };
        let keys = keys.string_keys().await?;
        let values = values.values().await?;
        let chunks = keys
            .into_iter()
            .zip(values)
            .map(|(key, value)| match checked_bytes(&value) {
                Some(bytes) => Ok((key, bytes)),
                None => Err(corrupt(doc, "a chunk")),
            })
            .collect::<Result<Vec<_>>>()?;
        let view = view.record().await?;
        // `streams: false`: written by a build that knew the view shows no stream (older records
        // have no field, and are scanned).
        let view_calm = view
            .as_ref()
            .is_some_and(|r| Reflect::get(r, &"streams".into()).ok() == Some(JsValue::FALSE));
        let current_view =
            view.and_then(|record| current_view(&record, snapshot.as_ref(), &chunks, view_calm));
        // Anything but a well-formed record reads as no state: a session then starts fresh.
        let sync_state = sync_state.record().await?.and_then(|record| {
            Some(SavedSync {
                peer: string_field(&record, "peer")?,
                state: to_bytes(&Reflect::get(&record, &"state".into()).ok()?)?,
            })
        });
        Ok(StoredDoc {
            snapshot,
            chunks,
            current_view,
            view_calm,
            sync_state,
        })
    }

    /// Applies a flush's writes in one read-write transaction: all of them, or none.
    pub async fn write(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let tx = Tx::write(&self.db, &[SNAPSHOTS, CHUNKS, VIEWS, META])?;
        let snapshots = tx.store(SNAPSHOTS)?;
        let chunks = tx.store(CHUNKS)?;
        let views = tx.store(VIEWS)?;
        let meta = tx.store(META)?;
        for write in writes {
            match write {
                Write::Doc(DocWrite::Chunk { key, bytes }) => {
                    chunks.put(&key, &bytes_record(&bytes, &[]))?;
                }
                Write::Doc(DocWrite::Compact {
                    doc,
                    snapshot,
                    snapshot_id,
                    replaced,
                }) => {
                    let record = bytes_record(&snapshot, &[("id", snapshot_id.into())]);
                    snapshots.put(&doc, &record)?;
                    for key in replaced {
                        chunks.delete(Query::Key(&key))?;
                    }
                }
                Write::View {
                    doc,
                    view,
                    snapshot_id,
                    chunks: covered,
                    calm,
                } => {
                    let covered: js_sys::Array = covered.into_iter().map(JsValue::from).collect();
                    let record = record(&[
                        ("view", view),
                        (
                            "snapshotId",
                            snapshot_id.map(JsValue::from).unwrap_or(JsValue::NULL),
                        ),
                        ("chunks", covered.into()),
                        ("streams", JsValue::from_bool(!calm)),
                    ]);
                    views.put(&doc, &record)?;
                }
                Write::Meta { key, value } => {
                    meta.put(key, &value)?;
                }
                Write::Doc(DocWrite::SyncState { doc, saved }) => {
                    let record = record(&[
                        ("peer", saved.peer.into()),
                        ("state", Uint8Array::from(saved.state.as_slice()).into()),
                    ]);
                    meta.put(&sync_key(&doc), &record)?;
                }
                Write::Unsynced { add, remove } => {
                    // Puts and deletes only: a flush started at `pagehide` must issue every request
                    // and commit before the page is gone; a read here would wait for a callback the
                    // closing page may never run, and the whole flush would be lost.
                    for id in &add {
                        meta.put(&unsynced_key(id), &JsValue::TRUE)?;
                    }
                    // `marks.rs` left out of `remove` what it marks again.
                    for id in &remove {
                        meta.delete(Query::Key(&unsynced_key(id)))?;
                    }
                    meta.delete(Query::Key(LEGACY_UNSYNCED))?;
                }
            }
        }
        tx.commit().await
    }

    /// Reads the metadata value `key` and writes the one `update` returns for it, if any, in one
    /// read-write transaction. IndexedDB runs read-write transactions on a store one after another, so
    /// of concurrent callers — in this page or in other tabs — each reads what the one before wrote.
    /// Returns the value read.
    pub async fn update_meta(
        &self,
        key: &str,
        // `dyn`: one copy of this future for every caller.
        update: &dyn Fn(Option<&JsValue>) -> Option<JsValue>,
    ) -> Result<Option<JsValue>> {
        let tx = Tx::write(&self.db, &[META])?;
        let meta = tx.store(META)?;
        let held = meta.get(key)?.record().await?;
        if let Some(value) = update(held.as_ref()) {
            meta.put(key, &value)?;
        }
        tx.commit().await?;
        Ok(held)
    }

    /// The id of every document storage holds bytes of, in key order: keys only, from one read-only
    /// transaction, so comparing them with the index costs little on every open. The requests are
    /// made by this call, before the result is awaited, so they overlap whatever the caller reads
    /// meanwhile.
    pub fn stored_doc_ids(&self) -> impl Future<Output = Result<Vec<String>>> + use<> {
        let requests = Tx::read(&self.db, &[SNAPSHOTS, CHUNKS]).and_then(|tx| {
            Ok((
                tx.store(SNAPSHOTS)?.keys(None)?,
                tx.store(CHUNKS)?.keys(None)?,
            ))
        });
        async move {
            let (snapshots, chunks) = requests?;
            let mut ids = snapshots.string_keys().await?;
            for key in chunks.string_keys().await? {
                let doc = key.split_once('/').map_or(key.as_str(), |(doc, _)| doc);
                // Chunk keys come sorted, so a document's chunks are next to each other.
                if ids.last().map(String::as_str) != Some(doc) {
                    ids.push(doc.to_owned());
                }
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        }
    }

    /// The id of every document storage holds any record of — bytes, or only a view and a sync
    /// state (what a fetched thread has before it is written): what a purge must find.
    pub async fn ids_with_records(&self) -> Result<Vec<String>> {
        let mut ids = self.stored_doc_ids().await?;
        let tx = Tx::read(&self.db, &[VIEWS])?;
        ids.extend(tx.store(VIEWS)?.keys(None)?.string_keys().await?);
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The ids of the threads marked unsynced, by any tab.
    pub async fn unsynced(&self) -> Result<Vec<String>> {
        let tx = Tx::read(&self.db, &[META])?;
        let meta = tx.store(META)?;
        // `'0'` follows `'/'`: the range holds exactly the `unsynced/…` keys.
        let keys = meta.keys(Some(&(unsynced_key("")..String::from("unsynced0"))))?;
        let legacy = meta.get(LEGACY_UNSYNCED)?;
        let mut ids = Vec::new();
        for key in keys.string_keys().await? {
            if let Some(id) = key.strip_prefix("unsynced/") {
                ids.push(id.to_owned());
            }
        }
        if let Some(list) = legacy.record().await?.filter(js_sys::Array::is_array) {
            for id in js_sys::Array::from(&list)
                .iter()
                .filter_map(|id| id.as_string())
            {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// A metadata value.
    pub async fn meta(&self, key: &str) -> Result<Option<JsValue>> {
        let tx = Tx::read(&self.db, &[META])?;
        tx.store(META)?.get(key)?.record().await
    }
}

impl Db {
    /// Removes everything stored of a document (damaged records, before a fresh copy is written).
    pub async fn delete_doc(&self, doc: &str) -> Result<()> {
        let tx = Tx::write(&self.db, &[SNAPSHOTS, CHUNKS, VIEWS, META])?;
        tx.store(SNAPSHOTS)?.delete(Query::Key(doc))?;
        tx.store(META)?.delete(Query::Key(&sync_key(doc)))?;
        tx.store(CHUNKS)?.delete(Query::Range(&chunk_range(doc)))?;
        tx.store(VIEWS)?.delete(Query::Key(doc))?;
        tx.commit().await
    }
}

/// Brings a database at layout `old` (0: new) to [`LAYOUT_VERSION`], inside the upgrade transaction.
async fn upgrade(db: &IdbDatabase, tx: &Tx, old: u32) -> Result<()> {
    for store in [SNAPSHOTS, CHUNKS, VIEWS] {
        db.create_object_store(store).or_storage()?;
    }
    if old == 0 {
        db.create_object_store(META).or_storage()?;
    }
    if old == 1 {
        // Layout 1 kept whole saves; each becomes a snapshot. Views are rebuilt on first open.
        let snapshots = tx.store(SNAPSHOTS)?;
        let legacy = tx.store(LEGACY_DOCUMENTS)?;
        let keys = legacy.keys(None)?;
        let values = legacy.values(None)?;
        let keys = keys.string_keys().await?;
        let values = values.values().await?;
        for (key, value) in keys.into_iter().zip(values) {
            // A record that is not bytes is kept as it was, to be reported as corrupt on open.
            let record = match to_bytes(&value) {
                Some(bytes) => bytes_record(&bytes, &[("id", "layout-1".into())]),
                None => record(&[("bytes", value), ("id", "layout-1".into())]),
            };
            snapshots.put(&key, &record)?;
        }
        db.delete_object_store(LEGACY_DOCUMENTS).or_storage()?;
    }
    Ok(())
}

/// The stored view, if it was built on exactly the stored snapshot and (at least) the stored chunks.
fn current_view(
    record: &JsValue,
    snapshot: Option<&(Vec<u8>, String)>,
    chunks: &[(String, Vec<u8>)],
    calm: bool,
) -> Option<JsValue> {
    let built_on = string_field(record, "snapshotId");
    if built_on.as_deref() != snapshot.map(|(_, id)| id.as_str()) {
        return None;
    }
    let covered: Vec<String> = Reflect::get(record, &"chunks".into())
        .ok()?
        .dyn_into::<js_sys::Array>()
        .ok()?
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    if !chunks.iter().all(|(key, _)| covered.contains(key)) {
        return None;
    }
    let view = Reflect::get(record, &"view".into()).ok()?;
    // Whatever the record says of it, a view without a list of messages is no view.
    let messages = Reflect::get(&view, &"messages".into())
        .ok()?
        .dyn_into::<js_sys::Array>()
        .ok()?;
    (calm || !has_open_message(&messages)).then_some(view)
}

/// Whether a view's messages show one still pending or streaming. Such a view is not shown from
/// storage: whether that stream is still alive, or interrupted, is decided from the document at
/// read time.
fn has_open_message(messages: &js_sys::Array) -> bool {
    messages.iter().any(|m| {
        let status = string_field(&m, "status");
        matches!(status.as_deref(), Some("pending" | "streaming") | None)
    })
}

/// A plain object with these fields.
fn record(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in fields {
        // Defining a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &(*name).into(), value);
    }
    object.into()
}

fn string_field(record: &JsValue, name: &str) -> Option<String> {
    Reflect::get(record, &name.into()).ok()?.as_string()
}

/// A `{ bytes, sum, ...extra }` record.
fn bytes_record(bytes: &[u8], extra: &[(&str, JsValue)]) -> JsValue {
    let mut fields = vec![
        ("bytes", JsValue::from(Uint8Array::from(bytes))),
        ("sum", JsValue::from(sum(bytes))),
    ];
    fields.extend(extra.iter().cloned());
    record(&fields)
}

/// The bytes of a `{ bytes, sum }` record, if they match their sum.
fn checked_bytes(record: &JsValue) -> Option<Vec<u8>> {
    let bytes = to_bytes(&Reflect::get(record, &"bytes".into()).ok()?)?;
    (string_field(record, "sum")? == sum(&bytes)).then_some(bytes)
}

/// The first 8 bytes of the SHA-256 of `bytes`, in hex: enough to catch damage, not an authenticator.
fn sum(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..8])
}

/// The bytes of a stored `Uint8Array`; `None` for anything else (a damaged record).
fn to_bytes(value: &JsValue) -> Option<Vec<u8>> {
    value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
}

fn corrupt(doc: &str, what: &str) -> StoreError {
    StoreError::Corrupt {
        id: doc.to_owned(),
        reason: format!("{what} is damaged (not the bytes that were written)"),
    }
}
