//! Writing to IndexedDB: the commit, flush and repaint timers, and the flush itself — one
//! transaction of what every changed document's bookkeeping (`Persisted`, `persist.rs`) and the
//! unsynced marks (`marks.rs`) say to write.

use std::rc::Rc;

use chatsync_model::Index;
use chatsync_protocol::DocumentId;
use wasm_bindgen::JsValue;

use super::{IndexDoc, StoreInner};
use crate::error::Result;
use crate::handle::ThreadHandle;
use crate::idb::Write;
use crate::persist::Persisted;
use crate::sync::Kick;
use crate::util::now_ms;

/// Streamed deltas are committed (one Automerge change) at most this often.
const COMMIT_EVERY_MS: u32 = 100;
/// IndexedDB is written at most this often while writes keep coming.
const FLUSH_EVERY_MS: u32 = 250;

impl StoreInner {
    /// After a change committed here: the sync driver sends it at once — one kick per task, however
    /// many writes it made. Sending does not wait for IndexedDB: another device sees the change in
    /// one trip through the relay, and a change the relay has before this device stored it is not
    /// lost (the relay holds it for every device). Its unsynced mark, set by the flush, comes off at
    /// the driver's turn after it (`settle`).
    pub fn send_soon(&self) {
        if !self.send_armed.replace(true) {
            self.kick(Kick::Poll);
        }
    }

    /// Arms the flush timer unless it is armed: writes reach IndexedDB at most every
    /// [`FLUSH_EVERY_MS`].
    pub fn schedule_flush(self: &Rc<Self>) {
        if self.flush_armed.replace(true) {
            return;
        }
        let store = Rc::clone(self);
        crate::util::after(FLUSH_EVERY_MS, move || {
            // `close()` flushed everything before closing the database.
            if store.closed.get() {
                return;
            }
            crate::util::spawn(async move {
                if let Err(e) = store.flush().await {
                    store.emit_error(&e, None);
                }
            });
        });
    }

    /// Commits a thread's streamed deltas — one change per [`COMMIT_EVERY_MS`] at most: the first
    /// delta after a quiet spell at once (another device sees it in a trip through the relay), the
    /// ones that follow it on a timer.
    pub fn schedule_commit(self: &Rc<Self>, handle: &Rc<ThreadHandle>) {
        if handle.commit_armed.replace(true) {
            return;
        }
        let since = now_ms().saturating_sub(handle.deltas_committed_at.get());
        let wait = u64::from(COMMIT_EVERY_MS).saturating_sub(since) as u32;
        let store = Rc::clone(self);
        let handle = Rc::clone(handle);
        let commit = move || {
            handle.commit_armed.set(false);
            handle.deltas_committed_at.set(now_ms());
            let _ = handle.with_thread(|thread| thread.commit());
            store.send_soon();
            store.schedule_flush();
        };
        if wait == 0 {
            commit();
        } else {
            crate::util::after(wait, commit);
        }
    }

    /// Schedules one repaint of a thread's subscribers for the next animation frame, however many
    /// writes come before it.
    pub fn schedule_repaint(self: &Rc<Self>, handle: &Rc<ThreadHandle>) {
        if handle.repaint_armed.replace(true) {
            return;
        }
        let handle = Rc::clone(handle);
        crate::frame::next_frame(move || {
            handle.repaint_armed.set(false);
            handle.notify();
        });
    }

    /// Whether a write since the last flush has not reached IndexedDB yet.
    pub(super) fn has_unflushed(&self) -> bool {
        self.index.borrow().dirty || self.threads.borrow().values().any(|h| h.dirty.get())
    }

    /// Writes every pending change to IndexedDB in one transaction: the threads' chunks (or
    /// compactions) and views, then the index updated from their summaries. Resolves once the
    /// transaction — and every earlier one — has committed.
    pub async fn flush(self: &Rc<Self>) -> Result<()> {
        self.flush_armed.set(false);
        let now = now_ms();
        let mut writes = Vec::new();
        let mut flushed = Vec::new();
        // Documents whose bytes in storage change, for the other tabs.
        let mut written = Vec::new();
        let handles: Vec<Rc<ThreadHandle>> = self.threads.borrow().values().cloned().collect();
        for handle in &handles {
            // A purged thread's records are being erased: nothing of it is written again.
            if !handle.dirty.replace(false) || self.index_says_deleted(&handle.id) {
                continue;
            }
            flushed.push(Rc::clone(handle));
            let doc = handle.id.to_string();
            // A thread that cannot be read (damaged storage behind a lazily loaded view) cannot be
            // saved either; it must not stop the other threads' writes, already taken from memory.
            let taken = handle.with_thread(|thread| {
                thread.commit();
                let incremental = thread.save_incremental();
                let write = handle.persisted.borrow_mut().flush(
                    &doc,
                    &mut self.writer.borrow_mut(),
                    incremental,
                    || thread.save().ok(),
                );
                let summary = thread.summary(handle.read_at());
                (write, summary, thread.local_only())
            });
            let (write, summary, local_only) = match taken {
                Ok(taken) => taken,
                Err(e) => {
                    self.emit_error(&e, Some(&handle.id));
                    continue;
                }
            };
            if let Some(write) = write {
                written.push(doc.clone());
                // A local-only thread is never sent, so never waited for.
                if self.relay.is_some() && !local_only {
                    self.unsynced.borrow_mut().mark(&doc);
                }
                writes.push(write.into());
            }
            // The materialized view is written when no stream of this tab is running: a view of an
            // open stream is never shown from storage anyway, and rebuilding a long thread's view
            // every 250 ms of a stream would cost more than it saves.
            if !handle.is_streaming()
                && let Ok(view) = handle.view_js()
            {
                let (snapshot_id, chunks) = handle.persisted.borrow().view_basis();
                writes.push(Write::View {
                    doc,
                    view,
                    snapshot_id,
                    chunks,
                    calm: handle.view_calm.get(),
                });
            }
            let upserted = self.index.borrow_mut().index.upsert(&summary, now);
            match upserted {
                Ok(()) => self.index.borrow_mut().dirty = true,
                // A read-only (newer-schema) index: the thread is saved, only the list lags.
                Err(e) => self.emit_error(&e.into(), Some(&handle.id)),
            }
        }
        let index_changed = {
            let mut index = self.index.borrow_mut();
            let IndexDoc {
                id,
                index: doc,
                persisted,
                dirty,
                local_id,
                local_persisted,
            } = &mut *index;
            let changed = std::mem::take(dirty);
            if changed {
                let mut writer = self.writer.borrow_mut();
                let mut store = |id: &DocumentId, doc: &mut Index, persisted: &mut Persisted| {
                    let incremental = doc.save_incremental();
                    let write = persisted.flush(&id.to_string(), &mut writer, incremental, || {
                        doc.save().ok()
                    });
                    if let Some(write) = write {
                        written.push(id.to_string());
                        writes.push(write.into());
                    }
                };
                store(id, doc, persisted);
                if let Some(local) = doc.local_mut() {
                    store(local_id, local, local_persisted);
                }
            }
            changed
        };
        writes.extend(self.sync_state_writes());
        if self.relay.is_some()
            && let Some((add, remove)) = self.unsynced.borrow_mut().take_write()
        {
            writes.push(Write::Unsynced { add, remove });
        }
        // Always one write, even an empty flush: IndexedDB commits read-write transactions in
        // order, so when this one is done every earlier flush is too.
        writes.push(Write::Meta {
            key: "flushedAt",
            value: JsValue::from_f64(now as f64),
        });
        if let Err(e) = self.db.write(writes).await {
            for handle in &flushed {
                handle.persisted.borrow_mut().write_failed();
                handle.dirty.set(true);
            }
            if index_changed {
                let mut index = self.index.borrow_mut();
                index.persisted.write_failed();
                index.local_persisted.write_failed();
                index.dirty = true;
            }
            return Err(e);
        }
        if let Some(tabs) = &*self.tabs.borrow() {
            tabs.announce(&written);
        }
        if index_changed {
            self.emit_threads("local");
        }
        // Changes went out as they were committed (`send_soon`); this sends what a failed send or a
        // document loaded meanwhile left, and index changes, which go at the pace of flushes.
        self.kick(Kick::Poll);
        self.release_closed_threads();
        Ok(())
    }

    /// Drops from memory the threads no open `Thread` object uses, once nothing of theirs is left to
    /// write or to send: thread switches do not pile documents up in memory. Nor is a sync state
    /// left unstored: the relay's acknowledgement may land while a flush awaits IndexedDB, after it
    /// took the states to write, and the next visit would start afresh.
    fn release_closed_threads(&self) {
        let unsynced = self.unsynced.borrow();
        self.threads.borrow_mut().retain(|id, handle| {
            handle.open_objects.get() > 0
                || handle.dirty.get()
                || handle.commit_armed.get()
                || handle.is_streaming()
                || unsynced.is_marked(id.as_str())
                || id
                    .as_str()
                    .parse()
                    .ok()
                    .and_then(|id| self.sync_state_to_keep(id))
                    .is_some_and(|saved| handle.persisted.borrow().saved_sync() != Some(&saved))
        });
    }
}
