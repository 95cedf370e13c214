//! A document's writer: the one task at a time that appends its new changes to storage, compacts
//! it, and answers its peers once storage confirmed — the store-before-acknowledge rule.
//!
//! No lock is held across a storage call. The writer takes the chunk and its heads under the
//! document's lock, releases it, awaits storage, then re-locks to advance `stored_heads`. Meanwhile
//! other connections keep applying their messages in memory; seeing a writer, they leave their
//! changes and their replies to it, and it loops until memory holds nothing storage lacks. So
//! chunks land in order, one at a time, and changes arriving during a write go out in the next one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chatsync_protocol::DocumentId;

use super::cpu::Weight;
use super::document::{DocState, LoadedDocument};
use super::refusal::Refusal;
use super::sync::answer;
use super::{Metrics, Relay};
use crate::storage::{Storage, StorageError};

/// Chunks below this many bytes are never worth compacting while the document is in use.
const COMPACT_AFTER_BYTES: u64 = 64 << 10;

/// When the writer compacts once everything is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compaction {
    /// Once the chunks outgrow the snapshot and are worth the rewrite (while the document is in use).
    WhenLarge,
    /// Whenever there are chunks (on eviction and at shutdown, so the next cold load reads one
    /// snapshot).
    Any,
}

impl Compaction {
    fn due(self, s: &DocState) -> bool {
        match self {
            Self::WhenLarge => s.chunk_bytes > s.snapshot_bytes.max(COMPACT_AFTER_BYTES),
            Self::Any => s.chunk_bytes > 0,
        }
    }
}

/// Who runs a writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writer {
    /// The connection whose message brought the changes: it stores them (so a storage failure
    /// closes it, and its next frame waits for its write), then hands any further work — changes
    /// other connections sent meanwhile, a compaction — to a background writer, so its own socket
    /// is not stalled by other people's writes.
    Connection,
    /// A task of its own (or eviction and shutdown, which await it): runs until nothing is left.
    Background,
}

/// The writer role, held; given back however the writer ends — normally under the state lock,
/// or on a panic or a dropped future here (then the next message with changes takes it up).
struct Turn<'a>(&'a AtomicBool);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<S: Storage> Relay<S> {
    /// Runs the writer of `document`, whose `writing` flag the caller set: stores everything memory
    /// holds beyond storage, answers every peer, compacts if `compaction` says so, and gives the
    /// role back (or, as [`Writer::Connection`], hands it to a background writer).
    pub(crate) async fn write(
        self: &Arc<Self>,
        id: &DocumentId,
        document: &Arc<LoadedDocument>,
        compaction: Compaction,
        writer: Writer,
    ) -> Result<(), Refusal> {
        let turn = Turn(&document.writing);
        let mut advertise = false;
        let mut compacted = false;
        let mut appended = false;
        loop {
            let mut state = document.state.clone().lock_owned().await;
            if state.doc.get_heads() != state.stored_heads {
                if appended && writer == Writer::Connection {
                    drop(state);
                    self.hand_off(turn, id, document, compaction);
                    return Ok(());
                }
                let weight = Weight::of(state.unstored_bytes);
                let (chunk, heads) = self
                    .cpu
                    .run(weight, move || {
                        let s = &mut *state;
                        s.unstored_bytes = 0;
                        let heads = s.doc.get_heads();
                        (s.doc.save_after(&s.stored_heads), heads)
                    })
                    .await?;
                self.append(id, document, &chunk, heads).await?;
                advertise = true;
                appended = true;
                continue;
            }
            // Memory holds nothing storage lacks: answer.
            if state.peers.values().any(|p| p.fresh) {
                // The first message to a peer with nothing is the whole document.
                let weight = Weight::of(state.stored_bytes());
                let (relay_peer, id) = (self.peer_id.clone(), *id);
                let sent = self
                    .cpu
                    .run(weight, move || {
                        answer(&mut state, &relay_peer, id, advertise)
                    })
                    .await?;
                self.metrics.sync_out.fetch_add(sent, Ordering::Relaxed);
                advertise = false;
                continue;
            }
            let sent = answer(&mut state, &self.peer_id, *id, advertise);
            self.metrics.sync_out.fetch_add(sent, Ordering::Relaxed);
            advertise = false;
            // Compaction comes after the replies: saving the whole document takes milliseconds that
            // the acknowledgement and the delivery to other devices need not wait for.
            if !compacted && compaction.due(&state) {
                drop(state);
                if writer == Writer::Connection {
                    self.hand_off(turn, id, document, compaction);
                    return Ok(());
                }
                compacted = true;
                self.compact(id, document).await;
                continue;
            }
            // Given back under the lock: a message arriving from now on finds no writer and answers
            // (or writes) itself; one that arrived before was answered above.
            drop(turn);
            drop(state);
            return Ok(());
        }
    }

    /// Takes the writer role of a document if nobody holds it, and compacts it (storing first
    /// whatever is unstored). For eviction and shutdown; failure only costs speed, so it is logged.
    pub(crate) async fn compact_document(
        self: &Arc<Self>,
        id: &DocumentId,
        document: &Arc<LoadedDocument>,
    ) {
        {
            let state = document.state.lock().await;
            if state.broken || document.writing.swap(true, Ordering::AcqRel) {
                return;
            }
        }
        let written = self
            .write(id, document, Compaction::Any, Writer::Background)
            .await;
        if let Err(refusal) = written {
            tracing::warn!(document = %id, error = %refusal, "storing before compaction failed");
        }
    }

    /// Passes the writer role, still held, to a task of its own.
    fn hand_off(
        self: &Arc<Self>,
        turn: Turn<'_>,
        id: &DocumentId,
        document: &Arc<LoadedDocument>,
        compaction: Compaction,
    ) {
        // The new writer takes the role over as it is: not given back in between.
        std::mem::forget(turn);
        let (relay, id, document) = (self.clone(), *id, document.clone());
        let background: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
            Box::pin(async move {
                let written = relay
                    .write(&id, &document, compaction, Writer::Background)
                    .await;
                if let Err(refusal) = written {
                    tracing::warn!(document = %id, error = %refusal, "background write failed");
                }
            });
        tokio::spawn(background);
    }

    /// Appends one chunk, after which storage holds `heads`. On failure the document leaves memory
    /// (it is ahead of storage) and this copy is marked broken, so nothing unstored is ever
    /// advertised; peers resync from storage on their next message.
    async fn append(
        &self,
        id: &DocumentId,
        document: &LoadedDocument,
        chunk: &[u8],
        heads: Vec<automerge::ChangeHash>,
    ) -> Result<(), Refusal> {
        let started = Instant::now();
        let stored = self
            .storage
            .append(id, &document.owner, chunk, &heads)
            .await;
        self.record_write(started);
        let mut state = document.state.lock().await;
        match stored {
            Ok(chunk_bytes) => {
                state.chunk_bytes = chunk_bytes;
                state.stored_heads = heads;
                self.stored_bytes_changed(chunk.len() as i64);
                self.with_ledger(|ledger| ledger.resize(id, state.stored_bytes()));
                Ok(())
            }
            Err(e) => {
                state.broken = true;
                drop(state);
                self.forget_documents([id]);
                Err(match e {
                    StorageError::NotOwner(_) => Refusal::Unavailable,
                    e => Refusal::Storage(e),
                })
            }
        }
    }

    /// Folds the document's chunks into its snapshot (the writer role held, so no append lands
    /// between the save and the compaction): a snapshot loads several times faster than the same
    /// history as chunks. Failure only costs speed, so it is logged, not raised.
    async fn compact(&self, id: &DocumentId, document: &LoadedDocument) {
        let state = document.state.clone().lock_owned().await;
        let weight = Weight::of(state.stored_bytes());
        let saved = self
            .cpu
            .run(weight, move || {
                let mut s = state;
                // Only what storage already holds may be compacted (never unstored changes).
                let all_stored = s.doc.get_heads() == s.stored_heads;
                (s.chunk_bytes > 0 && all_stored).then(|| s.doc.save())
            })
            .await;
        let Ok(Some(snapshot)) = saved else { return };
        let started = Instant::now();
        match self.storage.compact(id, &snapshot).await {
            Ok(()) => {
                self.record_write(started);
                let mut s = document.state.lock().await;
                let before = s.stored_bytes() as i64;
                s.snapshot_bytes = snapshot.len() as u64;
                s.chunk_bytes = 0;
                self.stored_bytes_changed(s.stored_bytes() as i64 - before);
                self.with_ledger(|ledger| ledger.resize(id, s.stored_bytes()));
            }
            Err(e) => tracing::warn!(document = %id, error = %e, "compaction failed"),
        }
    }

    /// Keeps the `bytes_stored` gauge, so `/metrics` never sums storage.
    fn stored_bytes_changed(&self, delta: i64) {
        self.metrics
            .bytes_stored
            .fetch_add(delta, Ordering::Relaxed);
    }

    fn record_write(&self, started: Instant) {
        Metrics::inc(&self.metrics.storage_writes);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.metrics
            .storage_write_micros
            .fetch_add(micros, Ordering::Relaxed);
    }
}
