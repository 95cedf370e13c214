//! [`Index`]: one document per user listing every thread, so a thread list never opens a thread.
//!
//! Every field of every summary is its own key at the document root — `"<threadId>/title"`,
//! `"<threadId>/status"`, … — holding a plain value. There are no nested objects, so two devices that
//! each start the index offline, before they ever met, merge without one hiding the other's threads
//! (Automerge keeps only one of two objects created concurrently under the same key). Each field is
//! last-writer-wins on its own, and deletion is a flag that is never cleared, so delete beats a
//! concurrent rename or archive.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc, ScalarValue};

use crate::sorted::sorted;
use crate::view::ThreadSummary;
use crate::{ModelError, ThreadId, ThreadStatus, access};

/// The index-document schema this build writes.
pub const INDEX_SCHEMA_VERSION: u64 = 1;

const SCHEMA: &str = "schema";
const FIELDS: &[&str] = &[
    "title",
    "status",
    "createdAt",
    "lastActivityAt",
    "messageCount",
    "preview",
    "projectId",
    "deleted",
];

fn field_key(id: &ThreadId, field: &str) -> String {
    format!("{id}/{field}")
}

/// Which threads [`Index::list`] returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Include archived threads (deleted ones are never listed).
    pub include_archived: bool,
}

/// A user's thread list. See the [module docs](self).
#[derive(Debug)]
pub struct Index {
    doc: AutoCommit,
    newer_schema: Option<u64>,
    last_now_ms: u64,
}

impl Index {
    /// An empty index. Nothing is written until the first summary, so two fresh devices share no
    /// history they could conflict on.
    pub fn new(actor: ActorId) -> Self {
        Self::wrap(AutoCommit::new().with_actor(actor))
    }

    /// Opens a saved index. One from a newer schema opens read-only.
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
        };
        index.refresh();
        index
    }

    fn refresh(&mut self) {
        let version = access::get_u64(&self.doc, &ROOT, SCHEMA).unwrap_or(0);
        self.newer_schema = (version > INDEX_SCHEMA_VERSION).then_some(version);
    }

    /// Whether the index comes from a newer schema (every write is refused).
    pub fn read_only(&self) -> bool {
        self.newer_schema.is_some()
    }

    fn begin_write(&mut self, now_ms: u64) -> Result<(), ModelError> {
        if let Some(found) = self.newer_schema {
            return Err(ModelError::ReadOnlySchema {
                found,
                supported: INDEX_SCHEMA_VERSION,
            });
        }
        self.last_now_ms = self.last_now_ms.max(now_ms);
        access::put_if_changed(&mut self.doc, &ROOT, SCHEMA, INDEX_SCHEMA_VERSION)
    }

    /// Records a thread's summary, writing only the fields that changed. A deleted thread stays
    /// deleted, and keeps no title or preview here, whatever its own document still says.
    pub fn upsert(&mut self, summary: &ThreadSummary, now_ms: u64) -> Result<(), ModelError> {
        self.begin_write(now_ms)?;
        let id = &summary.id;
        if summary.status == ThreadStatus::Deleted || self.is_deleted(id) {
            return self.write_status(id, ThreadStatus::Deleted);
        }
        let doc = &mut self.doc;
        access::put_if_changed(doc, &ROOT, &field_key(id, "title"), summary.title.as_str())?;
        access::put_if_changed(doc, &ROOT, &field_key(id, "createdAt"), summary.created_at)?;
        access::put_if_changed(
            doc,
            &ROOT,
            &field_key(id, "lastActivityAt"),
            summary.last_activity_at,
        )?;
        access::put_if_changed(
            doc,
            &ROOT,
            &field_key(id, "messageCount"),
            summary.message_count,
        )?;
        access::put_if_changed(
            doc,
            &ROOT,
            &field_key(id, "preview"),
            summary.preview.as_str(),
        )?;
        match &summary.project_id {
            Some(p) => access::put_if_changed(doc, &ROOT, &field_key(id, "projectId"), p.as_str())?,
            None => access::put_opt::<String>(doc, &ROOT, &field_key(id, "projectId"), None)?,
        }
        self.write_status(id, summary.status)
    }

    /// Archives, restores or deletes a listed thread. Deleting is final.
    pub fn set_status(
        &mut self,
        id: &ThreadId,
        status: ThreadStatus,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        let current = self.get(id).ok_or_else(|| ModelError::NotFound {
            kind: "thread",
            id: id.to_string(),
        })?;
        if current.status == ThreadStatus::Deleted && status != ThreadStatus::Deleted {
            return Err(ModelError::InvalidTransition {
                kind: "thread",
                id: id.to_string(),
                state: "deleted".into(),
                action: "change the status of",
            });
        }
        self.begin_write(now_ms)?;
        access::put_if_changed(
            &mut self.doc,
            &ROOT,
            &field_key(id, "lastActivityAt"),
            now_ms.max(current.last_activity_at),
        )?;
        self.write_status(id, status)
    }

    fn write_status(&mut self, id: &ThreadId, status: ThreadStatus) -> Result<(), ModelError> {
        if self.is_deleted(id) {
            return Ok(());
        }
        if status == ThreadStatus::Deleted {
            self.doc.put(ROOT, field_key(id, "deleted"), true)?;
            // Drop the text: a deleted thread's title and preview should not linger in the index.
            access::put_if_changed(&mut self.doc, &ROOT, &field_key(id, "title"), "")?;
            access::put_if_changed(&mut self.doc, &ROOT, &field_key(id, "preview"), "")?;
        }
        access::put_if_changed(
            &mut self.doc,
            &ROOT,
            &field_key(id, "status"),
            status.as_str(),
        )
    }

    /// Whether the thread is deleted: one lookup, cheap enough to check before every write.
    pub fn is_deleted(&self, id: &ThreadId) -> bool {
        access::get_bool(&self.doc, &ROOT, &field_key(id, "deleted")) == Some(true)
    }

    /// One thread's summary (deleted ones too), if the index has it.
    pub fn get(&self, id: &ThreadId) -> Option<ThreadSummary> {
        let fields: Vec<(&str, ScalarValue)> = FIELDS
            .iter()
            .filter_map(|f| match self.doc.get(ROOT, field_key(id, f)) {
                Ok(Some((automerge::Value::Scalar(s), _))) => Some((*f, s.into_owned())),
                _ => None,
            })
            .collect();
        summary_from(id.clone(), &|name| {
            fields.iter().find(|(f, _)| *f == name).map(|(_, v)| v)
        })
    }

    /// Whether the index has a summary of this thread, deleted ones included: one lookup, for checking
    /// many ids at once (a full [`Index::get`] reads every field).
    pub fn contains(&self, id: &ThreadId) -> bool {
        matches!(self.doc.get(ROOT, field_key(id, "status")), Ok(Some(_)))
    }

    /// The threads, latest activity first (ties by id). Deleted threads are never listed.
    pub fn list(&self, options: ListOptions) -> Vec<ThreadSummary> {
        // Keys are `<thread id>/<field>`: grouped by id through the model's one sort, since a map
        // type of its own would add its copy of the collection code to the browser package.
        let mut entries: Vec<(String, String, ScalarValue)> = Vec::new();
        for key in self.doc.keys(ROOT) {
            let Some((id, field)) = key.split_once('/') else {
                continue;
            };
            if let Ok(Some((automerge::Value::Scalar(s), _))) = self.doc.get(ROOT, key.as_str()) {
                entries.push((id.to_owned(), field.to_owned(), s.into_owned()));
            }
        }
        let entries = sorted(entries, &|a, b| a.0.cmp(&b.0));
        let out: Vec<ThreadSummary> = entries
            .chunk_by(|a, b| a.0 == b.0)
            .filter_map(|fields| {
                let id = ThreadId::new(fields[0].0.as_str()).ok()?;
                summary_from(id, &|name| {
                    fields.iter().find(|(_, f, _)| f == name).map(|(_, _, v)| v)
                })
            })
            .filter(|s| match s.status {
                ThreadStatus::Active => true,
                ThreadStatus::Archived => options.include_archived,
                _ => false,
            })
            .collect();
        sorted(out, &|a, b| {
            b.last_activity_at
                .cmp(&a.last_activity_at)
                .then_with(|| a.id.cmp(&b.id))
        })
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

    /// Gives `f` the Automerge document, for the sync protocol; re-reads the schema afterwards.
    pub fn with_automerge<R>(&mut self, f: impl FnOnce(&mut AutoCommit) -> R) -> R {
        self.commit();
        let result = f(&mut self.doc);
        self.refresh();
        result
    }
}

/// A summary from a thread's index fields, looked up by name.
fn summary_from<'a>(
    id: ThreadId,
    field: &dyn Fn(&str) -> Option<&'a ScalarValue>,
) -> Option<ThreadSummary> {
    let str_of = |k: &str| match field(k) {
        Some(ScalarValue::Str(s)) => Some(s.to_string()),
        _ => None,
    };
    let u64_of = |k: &str| field(k).and_then(|v| v.as_u64()).unwrap_or(0);
    // A thread is listed once its status is known; stray keys from a foreign writer are ignored.
    let mut status: ThreadStatus = str_of("status")?.parse().ok()?;
    if matches!(field("deleted"), Some(ScalarValue::Boolean(true))) {
        status = ThreadStatus::Deleted;
    }
    Some(ThreadSummary {
        title: str_of("title").unwrap_or_default(),
        status,
        created_at: u64_of("createdAt"),
        last_activity_at: u64_of("lastActivityAt"),
        message_count: u64_of("messageCount"),
        preview: str_of("preview").unwrap_or_default(),
        project_id: str_of("projectId"),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn device(name: &str) -> Index {
        Index::new(ActorId::from(name.as_bytes().to_vec()))
    }

    fn summary(id: &str, title: &str, at: u64) -> ThreadSummary {
        ThreadSummary {
            id: ThreadId::new(id).unwrap(),
            title: title.into(),
            status: ThreadStatus::Active,
            created_at: at,
            last_activity_at: at,
            message_count: 1,
            preview: "hi".into(),
            project_id: None,
        }
    }

    fn titles(index: &Index, include_archived: bool) -> Vec<String> {
        index
            .list(ListOptions { include_archived })
            .into_iter()
            .map(|s| s.title)
            .collect()
    }

    /// Brings `b`'s changes into `a` and `a`'s into `b`.
    fn sync(a: &mut Index, b: &mut Index) {
        let mut b_copy = Index::load(&b.with_automerge(|d| d.save()), ActorId::random()).unwrap();
        let mut a_copy = Index::load(&a.with_automerge(|d| d.save()), ActorId::random()).unwrap();
        a.merge(&mut b_copy).unwrap();
        b.merge(&mut a_copy).unwrap();
    }

    #[test]
    fn lists_latest_activity_first_and_hides_archived_unless_asked() {
        let mut index = device("a");
        index.upsert(&summary("t1", "old", 10), 10).unwrap();
        index.upsert(&summary("t2", "new", 20), 20).unwrap();
        index.upsert(&summary("t3", "shelved", 30), 30).unwrap();
        index
            .set_status(&ThreadId::new("t3").unwrap(), ThreadStatus::Archived, 31)
            .unwrap();
        assert_eq!(titles(&index, false), ["new", "old"]);
        assert_eq!(titles(&index, true), ["shelved", "new", "old"]);
    }

    #[test]
    fn two_devices_that_never_met_keep_both_threads_after_merging() {
        let mut a = device("a");
        let mut b = device("b");
        a.upsert(&summary("ta", "from a", 10), 10).unwrap();
        b.upsert(&summary("tb", "from b", 11), 11).unwrap();
        sync(&mut a, &mut b);
        assert_eq!(titles(&a, false), ["from b", "from a"]);
        assert_eq!(
            a.list(ListOptions::default()),
            b.list(ListOptions::default())
        );
    }

    #[test]
    fn concurrent_renames_settle_on_the_same_title_everywhere() {
        let mut a = device("a");
        a.upsert(&summary("t", "first", 10), 10).unwrap();
        let mut b = Index::load(&a.save().unwrap(), ActorId::from(b"b".to_vec())).unwrap();
        a.upsert(&summary("t", "title a", 20), 20).unwrap();
        b.upsert(&summary("t", "title b", 20), 20).unwrap();
        sync(&mut a, &mut b);
        assert_eq!(titles(&a, false), titles(&b, false));
        assert_eq!(titles(&a, false).len(), 1);
    }

    #[test]
    fn delete_beats_a_concurrent_rename_or_archive() {
        let mut a = device("a");
        a.upsert(&summary("t", "first", 10), 10).unwrap();
        let mut b = Index::load(&a.save().unwrap(), ActorId::from(b"b".to_vec())).unwrap();
        let mut c = Index::load(&a.save().unwrap(), ActorId::from(b"c".to_vec())).unwrap();
        let id = ThreadId::new("t").unwrap();
        a.set_status(&id, ThreadStatus::Deleted, 20).unwrap();
        b.upsert(&summary("t", "renamed", 21), 21).unwrap();
        c.set_status(&id, ThreadStatus::Archived, 22).unwrap();
        sync(&mut a, &mut b);
        sync(&mut a, &mut c);
        sync(&mut b, &mut c);
        for index in [&a, &b, &c] {
            assert!(
                index
                    .list(ListOptions {
                        include_archived: true
                    })
                    .is_empty()
            );
            assert_eq!(index.get(&id).unwrap().status, ThreadStatus::Deleted);
            assert_eq!(index.get(&id).unwrap().title, "", "a deleted title lingers");
        }
    }

    #[test]
    fn a_deleted_thread_cannot_be_restored_and_unknown_threads_are_not_found() {
        let mut index = device("a");
        index.upsert(&summary("t", "x", 10), 10).unwrap();
        let id = ThreadId::new("t").unwrap();
        index.set_status(&id, ThreadStatus::Deleted, 11).unwrap();
        let heads = index.heads();
        let err = index.set_status(&id, ThreadStatus::Active, 12).unwrap_err();
        assert!(matches!(err, ModelError::InvalidTransition { .. }), "{err}");
        assert_eq!(index.heads(), heads, "a refused write changed the index");
        let unknown = ThreadId::new("nope").unwrap();
        assert!(index.contains(&id), "a deleted thread is still known");
        assert!(index.is_deleted(&id) && !index.is_deleted(&unknown));
        assert!(!index.contains(&unknown));
        let err = index
            .set_status(&unknown, ThreadStatus::Archived, 12)
            .unwrap_err();
        assert!(
            matches!(err, ModelError::NotFound { kind: "thread", .. }),
            "{err}"
        );
    }

    #[test]
    fn a_deleted_threads_summary_written_again_leaves_no_text_in_the_index() {
        let mut index = device("a");
        index.upsert(&summary("t", "secret plans", 10), 10).unwrap();
        let id = ThreadId::new("t").unwrap();
        index.set_status(&id, ThreadStatus::Deleted, 11).unwrap();
        // The deleted thread's own summary (its document still has its title), written by the next
        // flush.
        let mut after = summary("t", "secret plans", 12);
        after.status = ThreadStatus::Deleted;
        index.upsert(&after, 12).unwrap();
        let stored = index.get(&id).unwrap();
        assert_eq!(stored.status, ThreadStatus::Deleted);
        assert_eq!((stored.title.as_str(), stored.preview.as_str()), ("", ""));
        // A stale active summary does not bring it back either.
        index.upsert(&summary("t", "secret plans", 13), 13).unwrap();
        assert_eq!(index.get(&id).unwrap().title, "");
    }

    #[test]
    fn an_index_from_a_newer_schema_is_read_only() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, SCHEMA, INDEX_SCHEMA_VERSION + 1).unwrap();
        doc.put(ROOT, "t/title", "from the future").unwrap();
        doc.put(ROOT, "t/status", "active").unwrap();
        let bytes = doc.save();
        let mut index = Index::load(&bytes, ActorId::random()).unwrap();
        assert!(index.read_only());
        assert_eq!(titles(&index, false), ["from the future"]);
        let err = index.upsert(&summary("u", "x", 1), 1).unwrap_err();
        assert!(matches!(err, ModelError::ReadOnlySchema { .. }), "{err}");
        assert!(index.save().is_err());
    }

    #[test]
    fn unchanged_summaries_write_nothing() {
        let mut index = device("a");
        index.upsert(&summary("t", "x", 10), 10).unwrap();
        let heads = index.heads();
        index.upsert(&summary("t", "x", 10), 10).unwrap();
        assert_eq!(index.commit(), None);
        assert_eq!(index.heads(), heads);
    }

    #[test]
    fn foreign_keys_and_garbage_are_ignored_or_refused_without_panicking() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "no-slash", 1).unwrap();
        doc.put(ROOT, "bad id!/status", "active").unwrap();
        doc.put(ROOT, "t/status", "weird").unwrap();
        let index = Index::load(&doc.save(), ActorId::random()).unwrap();
        assert!(
            index
                .list(ListOptions {
                    include_archived: true
                })
                .is_empty()
        );
        assert!(Index::load(b"not automerge", ActorId::random()).is_err());
    }
}
