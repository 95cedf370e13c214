//! When to write what of a document to IndexedDB — pure rules, compiled and tested natively (this
//! module uses neither web-sys nor js-sys):
//! - [`Persisted`]: what one in-memory document has written, and what its next flush writes — an
//!   incremental chunk, or, once the chunks outgrow the snapshot, a compaction; after a failed write,
//!   the whole document;
//! - [`Writer`]: the chunk keys and snapshot ids of one store instance, unique across tabs;
//! - [`DocWrite`]: those writes as plain data, which `idb.rs` carries out.

/// Chunks are compacted once they total more than the snapshot, and never below this many bytes (a
/// fresh document has no snapshot yet).
const MIN_COMPACTION_BYTES: usize = 64 * 1024;

/// An Automerge sync state ([`chatsync_protocol::DocSession::saved_state`]) and the storage id of
/// the relay it was shared with.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SavedSync {
    pub peer: String,
    pub state: Vec<u8>,
}

/// What storage holds of a document's Automerge bytes: its snapshot (bytes and id) and its chunks
/// (keys and bytes).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StoredBytes<'a> {
    pub snapshot: Option<&'a (Vec<u8>, String)>,
    pub chunks: &'a [(String, Vec<u8>)],
}

/// A write of one document's bytes or sync state.
#[derive(Debug, PartialEq)]
pub(crate) enum DocWrite {
    /// Appends an incremental save.
    Chunk { key: String, bytes: Vec<u8> },
    /// Replaces the snapshot and deletes the chunks it now contains.
    Compact {
        doc: String,
        snapshot: Vec<u8>,
        snapshot_id: String,
        replaced: Vec<String>,
    },
    /// Stores a document's sync state.
    SyncState { doc: String, saved: SavedSync },
}

/// One store instance as a writer of chunks and snapshots: its id (random per instance) keeps its
/// keys apart from other tabs'; a counter keeps its own keys apart from each other.
#[derive(Debug)]
pub(crate) struct Writer {
    id: String,
    seq: u64,
}

impl Writer {
    pub fn new(id: String) -> Self {
        Self { id, seq: 0 }
    }

    /// The key of this writer's next chunk of `doc`: sorted after the document's id, in write order.
    fn chunk_key(&mut self, doc: &str) -> String {
        self.seq += 1;
        format!("{doc}/{}-{:012}", self.id, self.seq)
    }

    /// A new snapshot id (a view records the id it was built on).
    fn snapshot_id(&mut self) -> String {
        self.seq += 1;
        format!("{}-s{}", self.id, self.seq)
    }

    /// Whether this writer wrote the chunk `key`.
    fn wrote(&self, key: &str) -> bool {
        key.split_once('/')
            .and_then(|(_, name)| name.strip_prefix(self.id.as_str()))
            .is_some_and(|rest| rest.starts_with('-'))
    }
}

/// The storage bookkeeping of one document.
#[derive(Debug, Default)]
pub(crate) struct Persisted {
    /// The stored snapshot's id and size.
    snapshot: Option<(String, usize)>,
    /// Chunk keys this document's memory contains (its own and those it loaded).
    chunks: Vec<String>,
    chunk_bytes: usize,
    /// A write failed: the next flush rewrites the whole document, whatever it was missing.
    needs_full_save: bool,
    /// The sync state storage holds.
    sync_state: Option<SavedSync>,
}

impl Persisted {
    /// The bookkeeping of a document just loaded from storage.
    pub fn loaded(stored: StoredBytes<'_>, sync_state: Option<SavedSync>) -> Self {
        Self {
            snapshot: stored.snapshot.map(|(bytes, id)| (id.clone(), bytes.len())),
            chunks: stored.chunks.iter().map(|(key, _)| key.clone()).collect(),
            chunk_bytes: stored.chunks.iter().map(|(_, bytes)| bytes.len()).sum(),
            needs_full_save: false,
            sync_state,
        }
    }

    /// The sync state storage holds, and the relay storage it was shared with.
    pub fn saved_sync(&self) -> Option<&SavedSync> {
        self.sync_state.as_ref()
    }

    /// The write that stores `saved`, unless storage holds it already.
    pub fn sync_write(&mut self, doc: &str, saved: SavedSync) -> Option<DocWrite> {
        if self.sync_state.as_ref() == Some(&saved) {
            return None;
        }
        self.sync_state = Some(saved.clone());
        Some(DocWrite::SyncState {
            doc: doc.to_owned(),
            saved,
        })
    }

    /// The stored bytes this document does not hold yet: chunks written by other tabs, and the
    /// snapshot if another tab replaced it.
    pub fn unseen(&self, stored: StoredBytes<'_>) -> Vec<Vec<u8>> {
        let mut fresh = Vec::new();
        if let Some((bytes, id)) = stored.snapshot
            && self.snapshot.as_ref().map(|(ours, _)| ours) != Some(id)
        {
            fresh.push(bytes.clone());
        }
        for (key, bytes) in stored.chunks {
            if !self.chunks.contains(key) {
                fresh.push(bytes.clone());
            }
        }
        fresh
    }

    /// Records that this document now holds everything in `stored`. Chunks of `writer` (this store
    /// instance) not in `stored` are kept: their flush may still be in flight.
    pub fn seen(&mut self, stored: StoredBytes<'_>, writer: &Writer) {
        let in_flight: Vec<String> = self
            .chunks
            .drain(..)
            .filter(|key| writer.wrote(key) && !stored.chunks.iter().any(|(k, _)| k == key))
            .collect();
        self.snapshot = stored.snapshot.map(|(bytes, id)| (id.clone(), bytes.len()));
        self.chunks = stored.chunks.iter().map(|(key, _)| key.clone()).collect();
        self.chunks.extend(in_flight);
        self.chunk_bytes = stored.chunks.iter().map(|(_, bytes)| bytes.len()).sum();
    }

    /// The write that brings storage up to date: `incremental` is the document's unsaved changes
    /// (empty when there are none), `save` its whole save for a compaction — `None` when the document
    /// must not be rewritten (a newer schema), and then it only ever gains chunks.
    pub fn flush(
        &mut self,
        doc: &str,
        writer: &mut Writer,
        incremental: Vec<u8>,
        save: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<DocWrite> {
        if incremental.is_empty() && !self.needs_full_save {
            return None;
        }
        let snapshot_len = self.snapshot.as_ref().map_or(0, |(_, len)| *len);
        let outgrown =
            self.chunk_bytes + incremental.len() > snapshot_len.max(MIN_COMPACTION_BYTES);
        if (self.needs_full_save || outgrown)
            && let Some(snapshot) = save()
        {
            let snapshot_id = writer.snapshot_id();
            self.snapshot = Some((snapshot_id.clone(), snapshot.len()));
            self.chunk_bytes = 0;
            self.needs_full_save = false;
            return Some(DocWrite::Compact {
                doc: doc.to_owned(),
                snapshot,
                snapshot_id,
                replaced: std::mem::take(&mut self.chunks),
            });
        }
        if incremental.is_empty() {
            return None;
        }
        let key = writer.chunk_key(doc);
        self.chunks.push(key.clone());
        self.chunk_bytes += incremental.len();
        Some(DocWrite::Chunk {
            key,
            bytes: incremental,
        })
    }

    /// The document arrived whole from the relay (a fetch): storage holds none of it, and its
    /// incremental save is empty (what a fetch loaded counts as saved), so the next flush writes
    /// it as a snapshot.
    pub fn arrived_whole(&mut self) {
        self.needs_full_save = true;
    }

    /// A flush failed: its chunk may be missing, so the next flush saves the whole document (and
    /// its sync state again).
    pub fn write_failed(&mut self) {
        self.needs_full_save = true;
        self.sync_state = None;
    }

    /// What a materialized view written now is built on.
    pub fn view_basis(&self) -> (Option<String>, Vec<String>) {
        (
            self.snapshot.as_ref().map(|(id, _)| id.clone()),
            self.chunks.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "doc";

    fn writer() -> Writer {
        Writer::new("w1".into())
    }

    fn whole(len: usize) -> impl FnOnce() -> Option<Vec<u8>> {
        move || Some(vec![7; len])
    }

    fn chunk_key(write: Option<DocWrite>) -> String {
        match write {
            Some(DocWrite::Chunk { key, .. }) => key,
            other => panic!("not a chunk: {other:?}"),
        }
    }

    #[test]
    fn a_document_that_arrived_whole_is_written_whole_even_with_no_new_changes() {
        let (mut doc, mut writer) = (Persisted::default(), writer());
        doc.arrived_whole();
        match doc.flush(DOC, &mut writer, Vec::new(), whole(10)) {
            Some(DocWrite::Compact { snapshot, .. }) => assert_eq!(snapshot.len(), 10),
            other => panic!("not a snapshot: {other:?}"),
        }
        assert_eq!(doc.flush(DOC, &mut writer, Vec::new(), whole(10)), None);
    }

    #[test]
    fn changes_are_written_as_chunks_under_the_writers_keys_in_order() {
        let (mut doc, mut writer) = (Persisted::default(), writer());
        assert_eq!(doc.flush(DOC, &mut writer, Vec::new(), whole(10)), None);
        let first = chunk_key(doc.flush(DOC, &mut writer, vec![1; 100], whole(10)));
        let second = chunk_key(doc.flush(DOC, &mut writer, vec![2; 100], whole(10)));
        assert!(
            first.starts_with("doc/w1-") && first < second,
            "{first} {second}"
        );
        assert_eq!(doc.view_basis(), (None, vec![first, second]));
    }

    #[test]
    fn chunks_outgrowing_the_snapshot_are_compacted_into_a_new_one() {
        let (mut doc, mut writer) = (Persisted::default(), writer());
        let small = chunk_key(doc.flush(DOC, &mut writer, vec![1; 1000], whole(1)));
        // Past the 64 KiB floor: one compaction replacing every chunk so far.
        match doc.flush(
            DOC,
            &mut writer,
            vec![2; MIN_COMPACTION_BYTES],
            whole(70_000),
        ) {
            Some(DocWrite::Compact {
                snapshot,
                snapshot_id,
                replaced,
                ..
            }) => {
                assert_eq!(snapshot.len(), 70_000);
                assert_eq!(replaced, [small]);
                assert_eq!(doc.view_basis(), (Some(snapshot_id), Vec::new()));
            }
            other => panic!("not a compaction: {other:?}"),
        }
        // Now the snapshot's size is the bar: chunks up to it stay chunks.
        chunk_key(doc.flush(DOC, &mut writer, vec![3; 69_000], whole(1)));
        assert!(matches!(
            doc.flush(DOC, &mut writer, vec![4; 2_000], whole(1)),
            Some(DocWrite::Compact { .. })
        ));
    }

    #[test]
    fn after_a_failed_write_the_next_flush_saves_the_whole_document_and_its_sync_state() {
        let (mut doc, mut writer) = (Persisted::default(), writer());
        let saved = SavedSync {
            peer: "relay".into(),
            state: vec![1, 2],
        };
        assert!(doc.sync_write(DOC, saved.clone()).is_some());
        assert_eq!(doc.sync_write(DOC, saved.clone()), None, "stored already");
        chunk_key(doc.flush(DOC, &mut writer, vec![1; 10], whole(5)));
        doc.write_failed();
        // Nothing new, yet the chunk may be missing: a compaction.
        assert!(matches!(
            doc.flush(DOC, &mut writer, Vec::new(), whole(5)),
            Some(DocWrite::Compact { .. })
        ));
        assert!(doc.sync_write(DOC, saved).is_some(), "written again");
        assert_eq!(doc.flush(DOC, &mut writer, Vec::new(), whole(5)), None);
    }

    #[test]
    fn a_document_that_must_not_be_rewritten_only_gains_chunks() {
        let (mut doc, mut writer) = (Persisted::default(), writer());
        let big = vec![1; MIN_COMPACTION_BYTES + 1];
        chunk_key(doc.flush(DOC, &mut writer, big, || None));
        doc.write_failed();
        assert_eq!(doc.flush(DOC, &mut writer, Vec::new(), || None), None);
        chunk_key(doc.flush(DOC, &mut writer, vec![2], || None));
    }

    #[test]
    fn other_tabs_bytes_are_unseen_until_seen_and_own_chunks_in_flight_are_kept() {
        let (mut doc, mut writer) = (Persisted::default(), writer());
        let mine = chunk_key(doc.flush(DOC, &mut writer, vec![1; 10], whole(1)));
        let snapshot = (vec![9; 20], "w2-s1".to_owned());
        let chunks = vec![("doc/w2-000000000001".to_owned(), vec![5; 3])];
        let stored = StoredBytes {
            snapshot: Some(&snapshot),
            chunks: &chunks,
        };
        assert_eq!(doc.unseen(stored), [vec![9; 20], vec![5; 3]]);
        // Storage does not list our chunk yet (its transaction is in flight): it stays ours.
        doc.seen(stored, &writer);
        assert!(doc.unseen(stored).is_empty());
        let (snapshot_id, basis) = doc.view_basis();
        assert_eq!(snapshot_id.as_deref(), Some("w2-s1"));
        assert_eq!(basis, ["doc/w2-000000000001".to_owned(), mine]);
        // Another writer whose id starts like ours does not pass for us.
        assert!(!Writer::new("w".into()).wrote("doc/w1-000000000001"));
    }

    #[test]
    fn a_loaded_document_starts_from_what_storage_holds() {
        let snapshot = (vec![0; 100], "s".to_owned());
        let chunks = vec![("doc/a-1".to_owned(), vec![0; MIN_COMPACTION_BYTES])];
        let stored = StoredBytes {
            snapshot: Some(&snapshot),
            chunks: &chunks,
        };
        let mut doc = Persisted::loaded(stored, None);
        assert!(doc.unseen(stored).is_empty());
        // 64 KiB of chunks already: the next change compacts.
        assert!(matches!(
            doc.flush(DOC, &mut writer(), vec![1], whole(3)),
            Some(DocWrite::Compact { replaced, .. }) if replaced == ["doc/a-1"]
        ));
    }
}
