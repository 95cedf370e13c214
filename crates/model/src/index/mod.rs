//! [`Index`]: one document per user listing every thread, so a thread list never opens a thread;
//! and, beside the threads, the user's projects, preferences and profile.
//!
//! Every field of every record is its own key at the document root, holding a plain value:
//! - a thread's: `"<threadId>/title"`, `"<threadId>/status"`, …;
//! - a project's: `"~project:<projectId>/name"`, …;
//! - the preferences' and the profile's: `"~pref/preferredModel"`, `"~profile/email"`, ….
//!
//! `~` is in no id, so these never read as threads. There are no nested objects, so two devices that
//! each start the index offline, before they ever met, merge without one hiding the other's records
//! (Automerge keeps only one of two objects created concurrently under the same key). Each field is
//! last-writer-wins on its own: concurrent edits of different fields both survive, and of the same
//! field the one with the greater Automerge operation id wins, on every device alike. A purge or a
//! project's deletion is a flag that is never cleared, so it beats any concurrent write.
//!
//! A local-only thread's summary is the exception: it lives in the index's local part, a second
//! document the store keeps on the device and never syncs (see `local.rs`), read beside this one.
//!
//! Preferences and profile live here rather than in a document of their own: the index is already
//! the one per-user document every device opens first and keeps in sync, so they are readable
//! offline at no extra load, sync or storage cost, and a project's thread counts come from the same
//! document as its threads.

mod local;
mod projects;
mod record;
mod threads;
mod user;

use automerge::transaction::CommitOptions;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc, ScalarValue};

use crate::{ModelError, access};

pub use threads::ListOptions;

/// The index-document schema this build writes.
///
/// 2: trash (`trashedAt`), purge tombstones that keep no other field, summaries with totals, a
/// summary text, activity and a local-only flag; projects, preferences and profile.
pub const INDEX_SCHEMA_VERSION: u64 = 2;

const SCHEMA: &str = "schema";

/// A user's thread list, projects, preferences and profile. See the [module docs](self).
#[derive(Debug)]
pub struct Index {
    doc: AutoCommit,
    newer_schema: Option<u64>,
    last_now_ms: u64,
    /// The local-only threads' summaries: another document, never synced (see [`Index::set_local`]).
    local: Option<Box<Index>>,
}

impl Index {
    /// An empty index. Nothing is written until the first write, so two fresh devices share no
    /// history they could conflict on.
    pub fn new(actor: ActorId) -> Self {
        Self::wrap(AutoCommit::new().with_actor(actor))
    }

    /// Opens a saved index. One from a newer schema opens read-only; an older one is migrated at its
    /// first write.
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, ModelError> {
        Ok(Self::wrap(AutoCommit::load(bytes)?.with_actor(actor)))
    }

    /// Wraps an index document already in memory (one a sync client holds).
    pub fn from_automerge(doc: AutoCommit) -> Self {
        Self::wrap(doc)
    }

    /// The document back, with pending writes committed.
    pub fn into_automerge(mut self) -> AutoCommit {
        self.commit();
        self.doc
    }

    fn wrap(doc: AutoCommit) -> Self {
        let mut index = Self {
            doc,
            newer_schema: None,
            last_now_ms: 0,
            local: None,
        };
        index.refresh();
        index
    }

    fn refresh(&mut self) {
        let version = self.schema_version();
        self.newer_schema = (version > INDEX_SCHEMA_VERSION).then_some(version);
    }

    /// The schema version the document declares (0 before its first write).
    pub fn schema_version(&self) -> u64 {
        access::get_u64(&self.doc, &ROOT, SCHEMA).unwrap_or(0)
    }

    /// Whether the index comes from a newer schema (every write is refused).
    pub fn read_only(&self) -> bool {
        self.newer_schema.is_some()
    }

    /// Checks that the index can be written, and migrates an older one first.
    ///
    /// Version 1 → 2: a deleted thread kept its times, count and project; version 2 keeps only the
    /// tombstone, so those are erased. No new structure is needed: every new field is a new key.
    fn begin_write(&mut self, now_ms: u64) -> Result<(), ModelError> {
        if let Some(found) = self.newer_schema {
            return Err(ModelError::ReadOnlySchema {
                found,
                supported: INDEX_SCHEMA_VERSION,
            });
        }
        self.last_now_ms = self.last_now_ms.max(now_ms);
        if self.schema_version() < INDEX_SCHEMA_VERSION {
            for prefix in self.purged_with_leftovers() {
                self.erase_record(&prefix, "deleted")?;
            }
        }
        access::put_if_changed(&mut self.doc, &ROOT, SCHEMA, INDEX_SCHEMA_VERSION)
    }

    /// Sets a root key, or deletes it for `None`; writes nothing when it already holds the value.
    fn put(&mut self, key: &str, value: Option<ScalarValue>) -> Result<(), ModelError> {
        match value {
            Some(value) => access::put_if_changed(&mut self.doc, &ROOT, key, value),
            None => access::put_opt::<ScalarValue>(&mut self.doc, &ROOT, key, None),
        }
    }

    /// Deletes every key of a record but `keep`.
    fn erase_record(&mut self, prefix: &str, keep: &str) -> Result<(), ModelError> {
        let keys: Vec<String> = record::Record::read(&self.doc, prefix)
            .names()
            .filter(|name| *name != keep)
            .map(|name| format!("{prefix}/{name}"))
            .collect();
        for key in keys {
            self.doc.delete(ROOT, key.as_str())?;
        }
        Ok(())
    }

    /// Turns pending writes into one change. Returns its hash, or `None` when nothing was pending.
    pub fn commit(&mut self) -> Option<ChangeHash> {
        if self.doc.pending_ops() == 0 {
            return None;
        }
        self.doc
            .commit_with(CommitOptions::default().with_time(access::commit_time(self.last_now_ms)))
    }

    /// The whole document, compacted. Refused for a read-only index.
    pub fn save(&mut self) -> Result<Vec<u8>, ModelError> {
        if let Some(found) = self.newer_schema {
            return Err(ModelError::ReadOnlySchema {
                found,
                supported: INDEX_SCHEMA_VERSION,
            });
        }
        self.commit();
        Ok(self.doc.save())
    }

    /// The changes since the last save, to append to storage.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.commit();
        self.doc.save_incremental()
    }

    /// The document's heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.commit();
        self.doc.get_heads()
    }

    /// Merges another replica of this user's index.
    pub fn merge(&mut self, other: &mut Index) -> Result<(), ModelError> {
        self.commit();
        other.commit();
        self.doc.merge(&mut other.doc)?;
        self.refresh();
        Ok(())
    }

    /// A new index document holding what this one holds now, and none of its history: Automerge
    /// keeps every value ever written, so a purged thread's title and preview stay in the history of
    /// the index they were written to. Erasing them for good means replacing every replica of the
    /// index by its rebuilt copy (under a new document id, since the old history would merge back);
    /// that switch is the store's and the relay's to coordinate. Refused for a read-only index.
    pub fn rebuilt(&self, actor: ActorId) -> Result<Index, ModelError> {
        if let Some(found) = self.newer_schema {
            return Err(ModelError::ReadOnlySchema {
                found,
                supported: INDEX_SCHEMA_VERSION,
            });
        }
        let mut doc = AutoCommit::new().with_actor(actor);
        for item in self.doc.map_range(ROOT, ..) {
            if let automerge::Value::Scalar(value) = item.value.into_value() {
                doc.put(ROOT, item.key.as_ref(), value.into_owned())?;
            }
        }
        let mut index = Self::wrap(doc);
        index.last_now_ms = self.last_now_ms;
        index.commit();
        Ok(index)
    }

    /// Gives `f` the Automerge document, for the sync protocol; re-reads the schema afterwards.
    pub fn with_automerge<R>(&mut self, f: impl FnOnce(&mut AutoCommit) -> R) -> R {
        self.commit();
        let result = f(&mut self.doc);
        self.refresh();
        result
    }
}

#[cfg(test)]
mod tests;
