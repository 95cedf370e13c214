//! [`Persisted`]: what one in-memory document has written to IndexedDB, and what its next flush writes —
//! an incremental chunk, or, once the chunks outgrow the snapshot, a compaction.

use crate::idb::{SavedSync, StoredDoc, Write, chunk_key};
use crate::util::random_hex;

/// Chunks are compacted once they total more than the snapshot, and never below this many bytes (a
/// fresh document has no snapshot yet).
const MIN_COMPACTION_BYTES: usize = 64 * 1024;

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
    /// The bookkeeping of a document just loaded from `stored`.
    pub fn loaded(stored: &StoredDoc) -> Self {
        Self {
            snapshot: stored
                .snapshot
                .as_ref()
                .map(|(bytes, id)| (id.clone(), bytes.len())),
            chunks: stored.chunks.iter().map(|(key, _)| key.clone()).collect(),
            chunk_bytes: stored.chunks.iter().map(|(_, bytes)| bytes.len()).sum(),
            needs_full_save: false,
            sync_state: stored.sync_state.clone(),
        }
    }

    /// The sync state storage holds, and the relay storage it was shared with.
    pub fn saved_sync(&self) -> Option<&SavedSync> {
        self.sync_state.as_ref()
    }

    /// The write that stores `saved`, unless storage holds it already.
    pub fn sync_write(&mut self, doc: &str, saved: SavedSync) -> Option<Write> {
        if self.sync_state.as_ref() == Some(&saved) {
            return None;
        }
        self.sync_state = Some(saved.clone());
        Some(Write::SyncState {
            doc: doc.to_owned(),
            saved,
        })
    }

    /// The stored bytes this document does not hold yet: chunks written by other tabs, and the
    /// snapshot if another tab replaced it.
    pub fn unseen(&self, stored: &StoredDoc) -> Vec<Vec<u8>> {
        let mut fresh = Vec::new();
        if let Some((bytes, id)) = &stored.snapshot
            && self.snapshot.as_ref().map(|(ours, _)| ours) != Some(id)
        {
            fresh.push(bytes.clone());
        }
        for (key, bytes) in &stored.chunks {
            if !self.chunks.contains(key) {
                fresh.push(bytes.clone());
            }
        }
        fresh
    }

    /// Records that this document now holds everything in `stored`. Chunks of `writer` (this store
    /// instance) not in `stored` are kept: their flush may still be in flight.
    pub fn seen(&mut self, stored: &StoredDoc, writer: &str) {
        let mine = format!("/{writer}-");
        let in_flight: Vec<String> = self
            .chunks
            .drain(..)
            .filter(|key| key.contains(&mine) && !stored.chunks.iter().any(|(k, _)| k == key))
            .collect();
        self.snapshot = stored
            .snapshot
            .as_ref()
            .map(|(bytes, id)| (id.clone(), bytes.len()));
        self.chunks = stored.chunks.iter().map(|(key, _)| key.clone()).collect();
        self.chunks.extend(in_flight);
        self.chunk_bytes = stored.chunks.iter().map(|(_, bytes)| bytes.len()).sum();
    }

    /// The writes that bring storage up to date: `incremental` is the document's unsaved changes
    /// (empty when there are none), `save` its whole save for a compaction — `None` when the document
    /// must not be rewritten (a newer schema), and then it only ever gains chunks.
    pub fn flush(
        &mut self,
        doc: &str,
        writer: &str,
        seq: u64,
        incremental: Vec<u8>,
        save: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Write> {
        if incremental.is_empty() && !self.needs_full_save {
            return None;
        }
        let snapshot_len = self.snapshot.as_ref().map_or(0, |(_, len)| *len);
        let outgrown =
            self.chunk_bytes + incremental.len() > snapshot_len.max(MIN_COMPACTION_BYTES);
        if (self.needs_full_save || outgrown)
            && let Some(snapshot) = save()
        {
            let snapshot_id = random_hex(8);
            self.snapshot = Some((snapshot_id.clone(), snapshot.len()));
            self.chunk_bytes = 0;
            self.needs_full_save = false;
            return Some(Write::Compact {
                doc: doc.to_owned(),
                snapshot,
                snapshot_id,
                replaced: std::mem::take(&mut self.chunks),
            });
        }
        if incremental.is_empty() {
            return None;
        }
        let key = chunk_key(doc, writer, seq);
        self.chunks.push(key.clone());
        self.chunk_bytes += incremental.len();
        Some(Write::Chunk {
            key,
            bytes: incremental,
        })
    }

    /// A flush failed: its chunk may be missing, so the next flush saves the whole document.
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
