//! [`StoreInner`]: the state one `ChatStore` shares with its threads, its timers and its sync task —
//! the database, the user's index, the threads held in memory, and when each is next written.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use automerge::ActorId;
use chatsync_model::{Index, ThreadId, ThreadStatus};
use chatsync_protocol::DocumentId;
use futures_channel::mpsc;
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsValue;

use crate::callbacks::Callbacks;
use crate::error::{Result, StoreError};
use crate::handle::ThreadHandle;
use crate::idb::{Db, Write};
use crate::output::js_object;
use crate::persist::Persisted;
use crate::sync::{Kick, SyncState};
use crate::util::{now_ms, random_hex};

/// Streamed deltas are committed (one Automerge change) at most this often.
pub(crate) const COMMIT_EVERY_MS: u32 = 100;
/// IndexedDB is written at most this often while writes keep coming.
pub(crate) const FLUSH_EVERY_MS: u32 = 250;

/// The user's thread list and its storage bookkeeping.
pub(crate) struct IndexDoc {
    pub id: DocumentId,
    pub index: Index,
    pub persisted: Persisted,
    pub dirty: bool,
}

/// Where and how to reach the relay.
#[derive(Clone, Debug)]
pub(crate) struct RelayConfig {
    /// The sync URL, `ws://` or `wss://`.
    pub url: String,
    /// Shared with `setToken`.
    pub tokens: crate::token::Tokens,
}

impl RelayConfig {
    /// Checks the URL's scheme: anything else would only fail later, on every reconnect.
    pub fn new(url: String, token: crate::token::TokenSource) -> Result<Self> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(StoreError::InvalidInput(format!(
                "relayUrl must start with ws:// or wss://, not {url:?}"
            )));
        }
        Ok(Self {
            url,
            tokens: crate::token::Tokens::new(token),
        })
    }
}

/// Everything a store's parts share.
pub(crate) struct StoreInner {
    pub db: Db,
    /// Distinguishes this store instance's chunk keys from other tabs'.
    pub writer: String,
    /// This tab's Automerge actor: per instance, with this device's prefix (`locks::device_actor`).
    pub actor: ActorId,
    /// The Web Locks of the streams this instance writes and reads.
    pub locks: Rc<crate::locks::StreamLocks>,
    pub index: RefCell<IndexDoc>,
    pub threads: RefCell<HashMap<ThreadId, Rc<ThreadHandle>>>,
    next_seq: Cell<u64>,
    flush_armed: Cell<bool>,
    pub listeners: Callbacks,
    pub closed: Cell<bool>,
    /// The store's JS object was freed: it closes once no `Thread` object of it is open.
    pub abandoned: Cell<bool>,
    /// `None` for a local-only store.
    pub relay: Option<RelayConfig>,
    /// The relay link and what the store's calls read of it.
    pub sync: SyncState,
    /// The status object `status()` last handed out.
    pub status: crate::status::StatusCache,
    /// To the sync task; `None` for a local-only store.
    pub kicks: Option<mpsc::UnboundedSender<Kick>>,
    /// Threads with changes the relay has not acknowledged, marked in `meta` (`unsynced/<id>`) so a
    /// reload still sends them. A list (tens of ids at most): a set type would add its own
    /// collection code to the package.
    pub unsynced: RefCell<Vec<String>>,
    /// Ids taken off `unsynced` (acknowledged) since the last flush, whose marks it deletes.
    pub unsynced_removed: RefCell<Vec<String>>,
    /// The other tabs on this database; `None` once closed (or without BroadcastChannel).
    pub tabs: RefCell<Option<crate::tabs::Tabs>>,
    /// Browser event listeners (online, offline, pagehide), removed at close.
    pub browser_listeners: RefCell<Vec<crate::browser::Listener>>,
    /// Documents of threads painted from storage, loaded once the switching stops.
    pub background: Rc<crate::background::Loads>,
}

impl StoreInner {
    pub fn new(
        db: Db,
        index: IndexDoc,
        relay: Option<RelayConfig>,
        kicks: Option<mpsc::UnboundedSender<Kick>>,
        unsynced: Vec<String>,
        actor: ActorId,
        locks: Rc<crate::locks::StreamLocks>,
    ) -> Self {
        Self {
            db,
            writer: random_hex(6),
            actor,
            locks,
            index: RefCell::new(index),
            threads: RefCell::new(HashMap::new()),
            next_seq: Cell::new(0),
            flush_armed: Cell::new(false),
            listeners: Callbacks::default(),
            closed: Cell::new(false),
            abandoned: Cell::new(false),
            relay,
            sync: SyncState::new(),
            status: Default::default(),
            kicks,
            unsynced: RefCell::new(unsynced),
            unsynced_removed: RefCell::new(Vec::new()),
            tabs: RefCell::new(None),
            browser_listeners: RefCell::new(Vec::new()),
            background: Rc::default(),
        }
    }

    pub fn ensure_open(&self) -> Result<()> {
        if self.closed.get() {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    fn seq(&self) -> u64 {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        seq
    }

    /// Arms the flush timer unless it is armed: writes reach IndexedDB at most every
    /// [`FLUSH_EVERY_MS`].
    pub fn schedule_flush(self: &Rc<Self>) {
        if self.flush_armed.replace(true) {
            return;
        }
        let store = Rc::clone(self);
        Timeout::new(FLUSH_EVERY_MS, move || {
            // `close()` flushed everything before closing the database.
            if store.closed.get() {
                return;
            }
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = store.flush().await {
                    store.emit_error(&e, None);
                }
            });
        })
        .forget();
    }

    /// Arms a thread's commit timer: its streamed deltas become one change per [`COMMIT_EVERY_MS`].
    pub fn schedule_commit(self: &Rc<Self>, handle: &Rc<ThreadHandle>) {
        if handle.commit_armed.replace(true) {
            return;
        }
        let store = Rc::clone(self);
        let handle = Rc::clone(handle);
        Timeout::new(COMMIT_EVERY_MS, move || {
            handle.commit_armed.set(false);
            let _ = handle.with_thread(|thread| thread.commit());
            store.schedule_flush();
        })
        .forget();
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
            if !handle.dirty.replace(false) {
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
                    &self.writer,
                    self.seq(),
                    incremental,
                    || thread.save().ok(),
                );
                let summary = thread.summary(handle.read_at());
                (write, summary)
            });
            let (write, summary) = match taken {
                Ok(taken) => taken,
                Err(e) => {
                    self.emit_error(&e, Some(&handle.id));
                    continue;
                }
            };
            if write.is_some() {
                written.push(doc.clone());
                let mut unsynced = self.unsynced.borrow_mut();
                if self.relay.is_some() && !unsynced.contains(&doc) {
                    unsynced.push(doc.clone());
                }
            }
            writes.extend(write);
            // The materialized view is written when no stream of this tab is running: a view of an
            // open stream is never shown from storage anyway, and rebuilding a long thread's view every
            // 250 ms of a stream would cost more than it saves.
            if !handle.is_streaming()
                && let Ok(view) = handle.view_js()
            {
                let (snapshot_id, chunks) = handle.persisted.borrow().view_basis();
                writes.push(Write::View {
                    doc,
                    view,
                    snapshot_id,
                    chunks,
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
            } = &mut *index;
            if std::mem::take(dirty) {
                doc.commit();
                let incremental = doc.save_incremental();
                let write = persisted.flush(
                    &id.to_string(),
                    &self.writer,
                    self.seq(),
                    incremental,
                    || doc.save().ok(),
                );
                if write.is_some() {
                    written.push(id.to_string());
                }
                writes.extend(write);
                true
            } else {
                false
            }
        };
        writes.extend(self.sync_state_writes());
        // All of this tab's marks, at every flush: another tab may have taken one off (its relay
        // acknowledged what that tab had) while this tab still has changes there to send.
        let removed = std::mem::take(&mut *self.unsynced_removed.borrow_mut());
        let marked = self.unsynced.borrow().clone();
        if self.relay.is_some() && (!marked.is_empty() || !removed.is_empty()) {
            writes.push(Write::Unsynced {
                add: marked,
                remove: removed,
            });
        }
        // Always one write, even an empty flush: IndexedDB commits read-write transactions in order,
        // so when this one is done every earlier flush is too.
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
        // Sync messages go out at the pace of flushes: batched like the writes to IndexedDB.
        self.kick(Kick::Poll);
        self.release_closed_threads();
        Ok(())
    }

    /// Drops from memory the threads no open `Thread` object uses, once nothing of theirs is left to
    /// write or to send: thread switches do not pile documents up in memory.
    fn release_closed_threads(&self) {
        let unsynced = self.unsynced.borrow();
        self.threads.borrow_mut().retain(|id, handle| {
            handle.open_objects.get() > 0
                || handle.dirty.get()
                || handle.commit_armed.get()
                || handle.is_streaming()
                || unsynced.iter().any(|u| u == id.as_str())
        });
    }

    /// Whether the index says the thread is deleted (it may say so before the thread's own document,
    /// when the index synced first).
    pub fn index_says_deleted(&self, id: &ThreadId) -> bool {
        self.index.borrow().index.is_deleted(id)
    }

    /// Sets a thread's status in the thread itself and in the index.
    pub fn set_status(
        self: &Rc<Self>,
        handle: &Rc<ThreadHandle>,
        status: ThreadStatus,
    ) -> Result<()> {
        handle.write(|thread, now| thread.set_status(status, now))?;
        let mut index = self.index.borrow_mut();
        index.index.set_status(&handle.id, status, now_ms())?;
        index.dirty = true;
        Ok(())
    }

    /// Tells listeners the thread list changed.
    pub fn emit_threads(&self, source: &str) {
        self.emit(&js_object(&[
            ("type", "threads".into()),
            ("source", source.into()),
        ]));
    }

    /// Tells listeners about an error that no call could report (a background flush or sync).
    pub fn emit_error(&self, error: &StoreError, thread: Option<&ThreadId>) {
        let mut entries = vec![
            ("type", "error".into()),
            ("code", error.code().into()),
            ("message", error.to_string().into()),
        ];
        if let Some(id) = thread {
            entries.push(("threadId", id.as_str().into()));
        }
        self.emit(&js_object(&entries));
    }

    pub fn emit(&self, event: &JsValue) {
        self.listeners.call(event, "store listener");
    }
}
