//! Changes stored by other relays on the same database ([`Storage::changes`]): a document this relay
//! holds in memory reads the chunks it lacks and syncs its own peers, so a device on this relay sees a
//! change made through another one live. Documents not in memory need nothing: their next load reads
//! storage.
//!
//! Merged changes are already stored, so they advance `stored_heads` — unless this relay has unstored
//! changes of its own in flight: then its writer stores them all once more (Automerge ignores the
//! duplicates) and answers the peers, as it does for changes its own connections send meanwhile.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use automerge::ChangeHash;
use chatsync_protocol::DocumentId;
use tokio_util::sync::CancellationToken;

use super::Relay;
use super::cpu::Weight;
use super::document::LoadedDocument;
use super::refusal::Refusal;
use super::sync::answer;
use crate::storage::{ChangeNotice, Storage, StoredChange};

/// What was read from storage.
enum Stored {
    /// Chunks from a sequence number on, concatenated.
    Chunks(Vec<u8>),
    /// The whole document: its snapshot and every chunk, concatenated.
    Document(Vec<u8>),
}

impl<S: Storage> Relay<S> {
    /// Follows the changes other relays store until `shutdown` (or forever, for storage that only
    /// this relay writes: then it returns at once).
    pub async fn follow_other_relays(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(mut feed) = self.storage.changes() else {
            return;
        };
        loop {
            let notice = tokio::select! {
                notice = feed.next() => notice,
                () = shutdown.cancelled() => return,
            };
            match notice {
                None => return,
                Some(ChangeNotice::Stored(change)) => {
                    // One task per notice: a slow read of one document must not hold up the others.
                    // Notices of one document may then be handled out of order, which is fine: each
                    // one reads everything from its chunk on, and merging is idempotent.
                    let relay = self.clone();
                    tokio::spawn(async move { relay.catch_up(change).await });
                }
                Some(ChangeNotice::Missed) => {
                    let relay = self.clone();
                    tokio::spawn(async move { relay.catch_up_all().await });
                }
            }
        }
    }

    /// Brings the in-memory copy of one document up to `change`, if this relay holds it.
    async fn catch_up(self: Arc<Self>, change: StoredChange) {
        let StoredChange {
            document: id,
            seq,
            heads,
        } = change;
        let Some(document) = self.loaded_or_loading(&id).await else {
            return;
        };
        if !heads.is_empty()
            && document
                .state
                .lock()
                .await
                .doc
                .get_missing_deps(&heads)
                .is_empty()
        {
            // Its own peers sent this relay the same changes already.
            return;
        }
        let merged = match self.storage.chunks_from(&id, seq).await {
            Ok(chunks) => {
                self.merge(&id, &document, Stored::Chunks(chunks.concat()), &heads)
                    .await
            }
            Err(e) => Err(Refusal::Storage(e)),
        };
        match merged {
            Ok(true) => {}
            // The chunk was compacted meanwhile (it is in the snapshot), or depends on chunks this
            // relay has not seen: read all of it.
            Ok(false) => self.reload(&id, &document).await,
            Err(e) => {
                tracing::warn!(document = %id, error = %e, "could not read another relay's change")
            }
        }
    }

    /// After notices may have been lost: every document in memory reads all of what is stored.
    async fn catch_up_all(self: Arc<Self>) {
        let held: Vec<(DocumentId, Arc<LoadedDocument>)> = {
            let documents = self
                .documents
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            documents
                .iter()
                .filter_map(|(id, slot)| Some((*id, slot.get()?.clone())))
                .collect()
        };
        for (id, document) in held {
            self.reload(&id, &document).await;
        }
    }

    /// Merges everything stored for `id` into the copy in memory.
    async fn reload(&self, id: &DocumentId, document: &Arc<LoadedDocument>) {
        let merged = match self.storage.load(id).await {
            Ok(Some(stored)) => {
                let mut bytes = stored.snapshot;
                bytes.extend(stored.chunks.concat());
                self.merge(id, document, Stored::Document(bytes), &[]).await
            }
            Ok(None) => Ok(true),
            Err(e) => Err(Refusal::Storage(e)),
        };
        if let Err(e) = merged {
            tracing::warn!(document = %id, error = %e, "could not read another relay's changes");
        }
    }

    /// The document if it is in memory — waiting for it if it is being loaded right now: that load
    /// may have read storage just before the change was committed, and would otherwise miss it.
    async fn loaded_or_loading(&self, id: &DocumentId) -> Option<Arc<LoadedDocument>> {
        // A load is a storage read and an Automerge rebuild: seconds at most.
        for _ in 0..500 {
            let slot = {
                let documents = self
                    .documents
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                documents.get(id)?.clone()
            };
            if let Some(document) = slot.get() {
                return Some(document.clone());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tracing::warn!(document = %id, "gave up waiting for a load to apply another relay's change");
        None
    }

    /// Applies stored bytes to the copy in memory and, if that changed it and nobody is writing it,
    /// tells its peers. Returns whether the copy now has `heads` and every dependency of what it was
    /// given.
    async fn merge(
        &self,
        id: &DocumentId,
        document: &Arc<LoadedDocument>,
        stored: Stored,
        heads: &[ChangeHash],
    ) -> Result<bool, Refusal> {
        let (bytes, new_chunks) = match stored {
            Stored::Chunks(bytes) => (bytes, true),
            Stored::Document(bytes) => (bytes, false),
        };
        if bytes.is_empty() {
            return Ok(heads.is_empty());
        }
        let mut state = document.state.clone().lock_owned().await;
        if state.broken {
            return Ok(true);
        }
        let (document, relay_peer, id, heads) =
            (document.clone(), self.peer_id.clone(), *id, heads.to_vec());
        let added = bytes.len() as u64;
        let (complete, sent, stored_bytes) = self
            .cpu
            .run(Weight::of(added), move || {
                let s = &mut *state;
                let before = s.doc.get_heads();
                let all_stored = before == s.stored_heads;
                s.doc
                    .load_incremental(&bytes)
                    .map_err(|e| Refusal::Corrupt(e.to_string()))?;
                let complete = s.doc.get_missing_deps(&heads).is_empty();
                let after = s.doc.get_heads();
                if after == before {
                    return Ok((complete, 0, None));
                }
                s.last_used = std::time::Instant::now();
                // Counted as chunks, so this relay compacts the document once they outgrow the
                // snapshot, as it would its own. (A whole document re-read adds little that is new,
                // and how much is not known: not counted.)
                if new_chunks {
                    s.chunk_bytes += added;
                }
                if !all_stored {
                    // Its writer is storing this relay's own changes: it answers once done.
                    return Ok((complete, 0, Some(s.stored_bytes())));
                }
                s.stored_heads = after;
                // Read and acted on under the state lock, as `sync::receive` does: a writer gives
                // its role back under this lock and answers every peer before it does.
                let sent = if document.writing.load(Ordering::Acquire) {
                    0
                } else {
                    answer(s, &relay_peer, id, true)
                };
                Ok::<_, Refusal>((complete, sent, Some(s.stored_bytes())))
            })
            .await??;
        self.metrics.sync_out.fetch_add(sent, Ordering::Relaxed);
        if let Some(bytes) = stored_bytes {
            self.with_ledger(|ledger| ledger.resize(&id, bytes));
        }
        Ok(complete)
    }
}
