//! [`ThreadHandle`]: one thread held in memory by a store — its document (loaded lazily), its storage
//! bookkeeping, its cached view and its subscribers. Every JS `Thread` object of that thread in this
//! tab shares one handle.

use std::cell::{Cell, RefCell, RefMut};
use std::rc::{Rc, Weak};

use chatsync_model::{Limits, MessageId, ReadAt, Thread, ThreadId, ThreadStatus};
use wasm_bindgen::JsValue;

use crate::callbacks::Callbacks;
use crate::error::{Result, StoreError};
use crate::idb::StoredDoc;
use crate::locks::{HeldLock, StreamLocks};
use crate::output::to_js;
use crate::persist::Persisted;
use crate::streams::{Liveness, STALE_STREAM_MS};
use crate::util::now_ms;

/// The document of a handle: still the stored bytes (the UI paints the materialized view first), or
/// loaded into Automerge.
enum Doc {
    Stored(StoredDoc),
    Loaded(Box<Thread>),
}

/// One thread in memory.
pub(crate) struct ThreadHandle {
    pub id: ThreadId,
    actor: automerge::ActorId,
    doc: RefCell<Doc>,
    pub persisted: RefCell<Persisted>,
    /// Changes not yet written to IndexedDB.
    pub dirty: Cell<bool>,
    /// Uncommitted streamed deltas are waiting for the commit timer.
    pub commit_armed: Cell<bool>,
    /// When the commit timer last committed streamed deltas (ms since the epoch).
    pub deltas_committed_at: Cell<u64>,
    /// The view as last handed to JavaScript; `None` once the document changed.
    view: RefCell<Option<JsValue>>,
    /// The view is known to show no stream (no message pending, streaming or interrupted): a
    /// thread switch then skips scanning its messages for one (`may_show_streams`).
    pub view_calm: Cell<bool>,
    pub subscribers: Callbacks,
    /// JS `Thread` objects using this handle and not closed.
    pub open_objects: Cell<u32>,
    /// A repaint of the subscribers is scheduled for the next frame.
    pub repaint_armed: Cell<bool>,
    /// Messages this store instance is streaming into and has not finished, with their Web Locks.
    live_streams: RefCell<Vec<(MessageId, Option<HeldLock>)>>,
    /// A repaint is scheduled for when a silent stream in the view turns stale.
    stale_check_armed: Cell<bool>,
    /// The store's stream locks, once a `Thread` object uses the handle.
    pub(crate) locks: RefCell<Option<Rc<StreamLocks>>>,
    /// What is known of the writers of streams others write (`streams.rs`).
    pub(crate) others: RefCell<Vec<(MessageId, Liveness)>>,
}

impl ThreadHandle {
    /// A thread created in this tab.
    pub fn created(thread: Thread, actor: automerge::ActorId) -> Self {
        Self::new(
            thread.id().clone(),
            actor,
            Doc::Loaded(Box::new(thread)),
            Persisted::default(),
            None,
        )
    }

    /// A thread read from storage. When the stored view is current it is shown at once and the
    /// document is loaded later (or at the first write).
    pub fn stored(id: ThreadId, actor: automerge::ActorId, mut stored: StoredDoc) -> Result<Self> {
        let persisted = Persisted::loaded(stored.bytes(), stored.sync_state.clone());
        match stored.current_view.take() {
            Some(view) => {
                let calm = stored.view_calm;
                let handle = Self::new(id, actor, Doc::Stored(stored), persisted, Some(view));
                handle.view_calm.set(calm);
                Ok(handle)
            }
            None => {
                let thread = load(&id, &actor, &stored)?;
                Ok(Self::new(
                    id,
                    actor,
                    Doc::Loaded(Box::new(thread)),
                    persisted,
                    None,
                ))
            }
        }
    }

    fn new(
        id: ThreadId,
        actor: automerge::ActorId,
        doc: Doc,
        persisted: Persisted,
        view: Option<JsValue>,
    ) -> Self {
        Self {
            id,
            actor,
            doc: RefCell::new(doc),
            persisted: RefCell::new(persisted),
            dirty: Cell::new(false),
            commit_armed: Cell::new(false),
            deltas_committed_at: Cell::new(0),
            view: RefCell::new(view),
            view_calm: Cell::new(false),
            subscribers: Callbacks::default(),
            open_objects: Cell::new(0),
            repaint_armed: Cell::new(false),
            live_streams: RefCell::new(Vec::new()),
            stale_check_armed: Cell::new(false),
            locks: RefCell::new(None),
            others: RefCell::new(Vec::new()),
        }
    }

    /// The moment views are read at: now, with the model's window for streams; `streams.rs` judges
    /// the streams others write.
    pub fn read_at(&self) -> ReadAt {
        ReadAt::new(now_ms())
    }

    /// Gives the handle its store's stream locks (the first `Thread` object of it does).
    pub fn attach_locks(&self, locks: &Rc<StreamLocks>) {
        self.locks
            .borrow_mut()
            .get_or_insert_with(|| Rc::clone(locks));
    }

    /// Records that this store instance streams into `id` (until [`ThreadHandle::stream_ended`]),
    /// holding its Web Lock meanwhile so other tabs know the writer is alive.
    pub fn stream_started(&self, id: MessageId) {
        if self.writes(&id) {
            return;
        }
        let lock = self
            .locks
            .borrow()
            .as_ref()
            .and_then(|locks| locks.hold(&self.id, &id));
        self.live_streams.borrow_mut().push((id, lock));
    }

    /// The stream ended: its lock is released.
    pub fn stream_ended(&self, id: &MessageId) {
        self.live_streams
            .borrow_mut()
            .retain(|(live, _)| live != id);
    }

    /// Whether this store instance writes the stream `id`.
    pub fn writes(&self, id: &MessageId) -> bool {
        self.live_streams
            .borrow()
            .iter()
            .any(|(live, _)| live == id)
    }

    /// Ends every stream this store instance writes into the thread: nothing here can write them
    /// any more (the last `Thread` object closed, or the store did).
    pub fn end_streams(&self) {
        self.live_streams.borrow_mut().clear();
    }

    /// Whether this store instance is streaming into the thread.
    pub fn is_streaming(&self) -> bool {
        !self.live_streams.borrow().is_empty()
    }

    /// Whether the Automerge document is in memory yet.
    pub fn is_loaded(&self) -> bool {
        matches!(&*self.doc.borrow(), Doc::Loaded(_))
    }

    /// Whether the thread is deleted, from what is at hand without loading anything: the document
    /// when it is loaded, else the view painted from storage (current with what storage holds).
    pub fn is_deleted(&self) -> bool {
        match &*self.doc.borrow() {
            Doc::Loaded(thread) => thread.status() == ThreadStatus::Deleted,
            Doc::Stored(_) => self.view.borrow().as_ref().is_some_and(|view| {
                js_sys::Reflect::get(view, &"status".into())
                    .ok()
                    .and_then(|status| status.as_string())
                    .is_some_and(|status| status == ThreadStatus::Deleted.as_str())
            }),
        }
    }

    /// Runs `f` on the loaded thread, loading it first if need be.
    pub fn with_thread<R>(&self, f: impl FnOnce(&mut Thread) -> R) -> Result<R> {
        let mut thread = self.loaded()?;
        Ok(f(&mut thread))
    }

    /// The thread, loaded first if need be. Not generic, unlike [`Self::with_thread`]: the wasm
    /// holds one copy of the loading, not one per caller.
    fn loaded(&self) -> Result<RefMut<'_, Thread>> {
        let mut doc = self.doc.borrow_mut();
        if let Doc::Stored(stored) = &*doc {
            let thread = load(&self.id, &self.actor, stored)?;
            *doc = Doc::Loaded(Box::new(thread));
        }
        Ok(RefMut::map(doc, |doc| match doc {
            Doc::Loaded(thread) => &mut **thread,
            Doc::Stored(_) => unreachable!("loaded just above"),
        }))
    }

    /// Whether the thread is loaded and local-only (never sent to the relay). Not generic, so its
    /// callers share one copy of it.
    pub fn is_local_only(&self) -> bool {
        self.with_loaded(|thread| thread.local_only()) == Some(true)
    }

    /// Runs `f` on the thread if it is loaded; `None` (and nothing loads) if it is not.
    pub fn with_loaded<R>(&self, f: impl FnOnce(&mut Thread) -> R) -> Option<R> {
        match &mut *self.doc.borrow_mut() {
            Doc::Loaded(thread) => Some(f(thread)),
            Doc::Stored(_) => None,
        }
    }

    /// A write through the model. The document is marked changed whether or not the write was
    /// accepted: a refused write leaves it as it was, and a repaint of an unchanged view is harmless.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Thread, u64) -> std::result::Result<R, chatsync_model::ModelError>,
    ) -> Result<R> {
        let now = now_ms();
        let result = self.with_thread(|thread| f(thread, now))??;
        self.changed();
        Ok(result)
    }

    /// Records that the document changed (locally or from sync): the cached view is stale and the
    /// document needs a flush.
    pub fn changed(&self) {
        self.view.replace(None);
        self.dirty.set(true);
    }

    /// The current view as a JS object, built once per change.
    pub fn view_js(self: &Rc<Self>) -> Result<JsValue> {
        if let Some(view) = &*self.view.borrow() {
            return Ok(view.clone());
        }
        let at = self.read_at();
        let mut view = self.with_thread(|thread| thread.view(at))?;
        let judged = self.judge_streams(&mut view.messages, at.now_ms);
        if judged.open {
            self.check_staleness_later();
        }
        if !judged.to_check.is_empty() {
            let handle = Rc::clone(self);
            crate::util::spawn(async move {
                handle.check_streams(judged.to_check).await;
            });
        }
        let js = to_js(&view)?;
        self.view_calm.set(
            !view.messages.iter().any(|m| {
                m.status.is_open() || m.status == chatsync_model::MessageStatus::Interrupted
            }),
        );
        self.view.replace(Some(js.clone()));
        Ok(js)
    }

    /// Whether the view may show a stream: the cached view says, else the document must be read.
    pub fn may_show_streams(&self) -> bool {
        match &*self.view.borrow() {
            Some(view) => !self.view_calm.get() && crate::streams::shows_streams(view),
            None => true,
        }
    }

    /// Rebuilds the view and hands it to the subscribers now (what is known of a stream changed).
    pub fn repaint_now(self: &Rc<Self>) {
        self.view.replace(None);
        self.notify();
    }

    /// A view showing an open stream is rebuilt once the stream could have turned stale, so
    /// subscribers see it become interrupted without any write.
    fn check_staleness_later(self: &Rc<Self>) {
        if self.stale_check_armed.replace(true) {
            return;
        }
        let handle: Weak<Self> = Rc::downgrade(self);
        crate::util::after(STALE_STREAM_MS as u32 + 100, move || {
            if let Some(handle) = handle.upgrade() {
                handle.stale_check_armed.set(false);
                handle.repaint_now();
            }
        });
    }

    /// Calls every subscriber with the current view. A subscriber that throws does not stop the others.
    pub fn notify(self: &Rc<Self>) {
        if self.subscribers.is_empty() {
            return;
        }
        let Ok(view) = self.view_js() else {
            return;
        };
        self.subscribers.call(&view, "thread subscriber");
    }
}

/// Loads a stored thread into Automerge; bytes that do not load are reported as corrupt.
fn load(id: &ThreadId, actor: &automerge::ActorId, stored: &StoredDoc) -> Result<Thread> {
    Thread::load(
        id.clone(),
        &stored.concatenated(),
        actor.clone(),
        Limits::default(),
    )
    .map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        reason: e.to_string(),
    })
}
