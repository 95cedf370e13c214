//! A hub document's storage: the one task in flight at a time, and what each result leads to —
//! the store-before-advertise rule, compaction, and reading the document back after a failed write
//! (so every session hears from the relay again, even a device with nothing to send).

use std::time::Duration;

use automerge::{AutoCommit, AutomergeError, ChangeHash};

use super::ConnId;
use super::document::{HubDocument, InFlight, Session, rebuild};
use super::refusal::Refusal;
use super::storage::{StorageFailure, StorageTask, StoredDocument};
use crate::{Message, holds_all};

/// When a document is compacted (its chunks folded into one snapshot, which loads several times
/// faster than the same history as chunks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compaction {
    /// Once the chunks outgrow the snapshot and are worth the rewrite (while the document is in use).
    WhenLarge,
    /// Whenever there are chunks (on eviction and at shutdown, so the next cold load reads one
    /// snapshot).
    Any,
}

impl Compaction {
    fn due(self, d: &HubDocument) -> bool {
        match self {
            Self::WhenLarge => d.chunk_bytes > d.snapshot_bytes.max(d.config.compact_after_bytes),
            Self::Any => d.chunk_bytes > 0,
        }
    }
}

impl HubDocument {
    /// With no task in flight: stores what memory holds beyond storage, or — once storage holds it
    /// all — looks at changes stored elsewhere and answers every session. With a task in flight,
    /// its result settles the document instead.
    pub(super) fn settle(&mut self, cause: Option<ConnId>, advertise: bool) {
        self.advertise |= advertise;
        if self.in_flight != InFlight::Nothing {
            return;
        }
        if self.doc.get_heads() != self.stored_heads {
            self.start_append(cause);
            return;
        }
        let elsewhere = self.stored_elsewhere.take();
        let reread = std::mem::take(&mut self.reread);
        if reread || elsewhere.is_some_and(|heads| !holds_all(&mut self.doc, &heads)) {
            self.in_flight = InFlight::Load { reload: false };
            self.effects
                .tasks
                .push(StorageTask::Load { key: self.key() });
        }
        let advertise = std::mem::take(&mut self.advertise);
        self.answer(advertise);
    }

    fn start_append(&mut self, cause: Option<ConnId>) {
        let heads = self.doc.get_heads();
        let chunk = self.doc.save_after(&self.stored_heads);
        self.unstored_bytes = 0;
        self.in_flight = InFlight::Append {
            heads: heads.clone(),
            cause,
        };
        self.effects.tasks.push(StorageTask::Append {
            key: self.key(),
            chunk,
            heads,
        });
    }

    /// The result of the [`StorageTask::Append`] in flight: on success, the total bytes of the
    /// chunks storage now holds. Then every session hears the stored heads (or the next chunk goes
    /// out first, if more arrived meanwhile). On failure the connection whose message brought the
    /// changes is closed — with every other connection whose changes were lost with it — and the
    /// document is read back from storage: memory is ahead of it and must never be stored or
    /// advertised. Once read back, every other session starts afresh and hears from the relay first
    /// (a device with nothing to send would otherwise never hear of this document again).
    pub fn handle_appended(&mut self, now: Duration, result: Result<u64, StorageFailure>) {
        let InFlight::Append { heads, cause } =
            std::mem::replace(&mut self.in_flight, InFlight::Nothing)
        else {
            return;
        };
        self.last_used = now;
        match result {
            Ok(chunk_bytes) => {
                self.chunk_bytes = chunk_bytes;
                self.stored_heads = heads;
                self.settle(None, true);
                if self.in_flight == InFlight::Nothing && Compaction::WhenLarge.due(self) {
                    self.effects.compaction_due = true;
                }
            }
            Err(StorageFailure::NotOwner) => {
                if let Some(conn) = cause {
                    self.close(conn, &Refusal::Unavailable);
                }
                self.unavailable_to_all();
            }
            Err(StorageFailure::Purged) => {
                // Not the writer's fault (a purge elsewhere won the race): its connection stays,
                // and every session, its own included, hears the document is unavailable.
                self.unavailable_to_all();
            }
            Err(StorageFailure::Unavailable) => {
                // The connections whose changes were lost reconnect and send them again; the
                // others stay, and hear from the relay once memory is read back.
                let contributors = std::mem::take(&mut self.contributors);
                for conn in cause.into_iter().chain(contributors) {
                    self.close(conn, &Refusal::Storage);
                }
                self.in_flight = InFlight::Load { reload: true };
                self.effects
                    .tasks
                    .push(StorageTask::Load { key: self.key() });
            }
        }
    }

    /// The result of the [`StorageTask::Load`] in flight: the document read back after a failed
    /// write, or changes another relay stored, merged.
    pub fn handle_loaded(
        &mut self,
        now: Duration,
        result: Result<Option<StoredDocument>, StorageFailure>,
    ) {
        let InFlight::Load { reload } = std::mem::replace(&mut self.in_flight, InFlight::Nothing)
        else {
            return;
        };
        self.last_used = now;
        match result {
            Ok(Some(stored)) if stored.owner != self.owner => self.unavailable_to_all(),
            Ok(stored) if reload => match stored.as_ref().map(rebuild).transpose() {
                Ok(rebuilt) => self.restart_from(stored.as_ref(), rebuilt),
                Err(refusal) => self.close_all(&refusal),
            },
            // Nothing the relay can answer from: every session reconnects and resyncs.
            Err(_) if reload => self.close_all(&Refusal::Storage),
            Ok(Some(stored)) => self.merge(&stored),
            // Another relay's changes stay unseen until the next notice: nothing is lost, storage
            // holds them.
            Ok(None) | Err(_) => self.settle(None, false),
        }
    }

    /// Memory is replaced by what storage holds; every session starts afresh, and the relay speaks
    /// first to each (its heads and what it has), so every device resends what storage lacks.
    fn restart_from(
        &mut self,
        stored: Option<&StoredDocument>,
        rebuilt: Option<(AutoCommit, u64)>,
    ) {
        let (mut doc, chunk_bytes) = rebuilt.unwrap_or_else(|| (AutoCommit::new(), 0));
        self.stored_heads = doc.get_heads();
        self.doc = doc;
        self.snapshot_bytes = stored.map_or(0, |s| s.snapshot.len() as u64);
        self.chunk_bytes = chunk_bytes;
        self.unstored_bytes = 0;
        self.advertise = false;
        for session in self.sessions.values_mut() {
            *session = Session::new(&session.peer_id);
        }
        self.settle(None, false);
    }

    /// Changes another relay stored join memory. Storage holds them, so if memory held nothing
    /// storage lacked before, storage holds all of it now; otherwise they go out again with the next
    /// chunk (storage keeps a change once, however often it is appended).
    fn merge(&mut self, stored: &StoredDocument) {
        let nothing_unstored = self.doc.get_heads() == self.stored_heads;
        let merged: Result<(), AutomergeError> = (|| {
            if !stored.snapshot.is_empty() {
                self.doc.load_incremental(&stored.snapshot)?;
            }
            let chunks = stored.chunks.concat();
            if !chunks.is_empty() {
                self.doc.load_incremental(&chunks)?;
            }
            Ok(())
        })();
        self.doc.reset_diff_cursor();
        if merged.is_ok() {
            self.snapshot_bytes = stored.snapshot.len() as u64;
            self.chunk_bytes = stored.size() - self.snapshot_bytes;
            if nothing_unstored {
                self.stored_heads = self.doc.get_heads();
            }
        }
        self.settle(None, true);
    }

    /// Folds the chunks into one snapshot if `compaction` says it is due and storage holds all of
    /// memory (only what storage holds may be compacted) and no task is in flight. CPU-heavy for a
    /// long thread (Automerge saves all of it). Returns whether a [`StorageTask::Compact`] was asked
    /// for.
    pub fn compact(&mut self, compaction: Compaction) -> bool {
        if self.in_flight != InFlight::Nothing
            || self.doc.get_heads() != self.stored_heads
            || !compaction.due(self)
        {
            return false;
        }
        let snapshot = self.doc.save();
        self.in_flight = InFlight::Compact {
            snapshot_bytes: snapshot.len() as u64,
        };
        self.effects.tasks.push(StorageTask::Compact {
            key: self.key(),
            snapshot,
        });
        true
    }

    /// The result of the [`StorageTask::Compact`] in flight. A failure only costs load speed.
    pub fn handle_compacted(&mut self, now: Duration, result: Result<(), StorageFailure>) {
        let InFlight::Compact { snapshot_bytes } =
            std::mem::replace(&mut self.in_flight, InFlight::Nothing)
        else {
            return;
        };
        self.last_used = now;
        if result.is_ok() {
            self.snapshot_bytes = snapshot_bytes;
            self.chunk_bytes = 0;
        }
        // Changes that arrived meanwhile go out now, and everyone waiting is answered.
        self.settle(None, false);
    }

    /// The relay itself changes the document for its owner (a backend writing through an HTTP API,
    /// say): `change` edits it, then it is committed, stored like any device's change, and synced to
    /// every session once stored — [`HubDocument::is_stored`] tells the caller when. Refused with
    /// [`Refusal::Storage`] while the document is being read back after a failed write (the change
    /// would be lost with the copy being replaced): try again.
    pub fn commit<R>(
        &mut self,
        now: Duration,
        change: impl FnOnce(&mut AutoCommit) -> R,
    ) -> Result<R, Refusal> {
        if self.in_flight == (InFlight::Load { reload: true }) {
            return Err(Refusal::Storage);
        }
        let result = change(&mut self.doc);
        self.doc.commit();
        self.last_used = now;
        self.settle(None, false);
        Ok(result)
    }

    /// Another relay sharing this storage stored changes to the document, whose heads are now
    /// `heads` (told by the database, e.g. PostgreSQL's LISTEN/NOTIFY). If memory lacks any, the
    /// document is read from storage (once the task in flight is done), merged, and every session
    /// hears the new heads.
    pub fn handle_stored_elsewhere(&mut self, now: Duration, heads: Vec<ChangeHash>) {
        self.last_used = now;
        if holds_all(&mut self.doc, &heads) {
            return;
        }
        self.stored_elsewhere
            .get_or_insert_with(Vec::new)
            .extend(heads);
        self.settle(None, false);
    }

    /// Another relay sharing this storage may have stored changes, but which is unknown (notices of
    /// them were lost, or named too many heads): the document is read from storage (once the task
    /// in flight is done) and merged, and every session hears the new heads if there are any.
    pub fn handle_stored_elsewhere_unknown(&mut self, now: Duration) {
        self.last_used = now;
        self.reread = true;
        self.settle(None, false);
    }

    /// Whether storage holds every change in `heads` (and their history): a relay-made change is
    /// durable once this is true.
    pub fn is_stored(&mut self, heads: &[ChangeHash]) -> bool {
        if heads.iter().all(|h| self.stored_heads.contains(h)) {
            return true;
        }
        // Stored heads that descend from `heads`: every change not after the stored heads.
        let after_stored: std::collections::HashSet<ChangeHash> = self
            .doc
            .get_changes_meta(&self.stored_heads)
            .iter()
            .map(|c| c.hash)
            .collect();
        heads
            .iter()
            .all(|h| self.doc.get_change_meta_by_hash(h).is_some() && !after_stored.contains(h))
    }

    fn close(&mut self, conn: ConnId, refusal: &Refusal) {
        if let Some(session) = self.sessions.remove(&conn) {
            let close = refusal.to_close(&self.config.relay_peer_id, &session.peer_id);
            self.effects.closes.push((conn, close));
        }
    }

    /// The driver lost this copy (a step or a storage call panicked under it, so it may be
    /// half-changed, or waits for a result that never comes): whatever earlier steps left undone is
    /// dropped, every session is closed with `refusal` — its device reconnects and resyncs with
    /// what storage holds, resending what storage lacks — and the document is to leave memory.
    pub fn close_all_sessions(&mut self, refusal: &Refusal) {
        self.effects = super::effects::HubEffects::default();
        self.close_all(refusal);
    }

    fn close_all(&mut self, refusal: &Refusal) {
        for conn in self.sessions.keys().copied().collect::<Vec<_>>() {
            self.close(conn, refusal);
        }
        self.effects.forget = true;
    }

    /// Storage says the document is another user's: every session is told it is unavailable, and
    /// it leaves memory.
    fn unavailable_to_all(&mut self) {
        for (conn, session) in std::mem::take(&mut self.sessions) {
            let frame = Message::DocUnavailable {
                sender_id: self.config.relay_peer_id.clone(),
                target_id: session.peer_id,
                document_id: self.id,
            }
            .encode();
            self.effects.transmits.push((conn, frame));
        }
        self.effects.forget = true;
    }
}
