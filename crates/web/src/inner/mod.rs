//! [`StoreInner`]: the state one `ChatStore` shares with its threads, its timers and its sync driver
//! — the database, the user's index, the threads held in memory, the relay link, the listeners.
//! Its fields are private to this module; the rest of the store uses its methods, grouped by
//! concept in the submodules: `flush` (IndexedDB writes and their timers), `documents` (the
//! documents lent to the link), `relay` (the calls that wait for the relay), `refresh` (other tabs'
//! writes), `status`, `lifecycle` (close), `user` (the index's own records: preferences, profile,
//! projects, trash), `purge` (erasing purged threads' records).

mod documents;
mod flush;
mod lifecycle;
mod purge;
mod refresh;
mod relay;
mod status;
mod user;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use automerge::ActorId;
use chatsync_model::{Index, ListOptions, Preferences, ThreadId, ThreadStatus, ThreadSummary};
use chatsync_protocol::DocumentId;
use wasm_bindgen::JsValue;

pub(crate) use documents::StoreDocs;
pub(crate) use status::StatusCache;

use crate::background::Loads;
use crate::browser::Listener;
use crate::callbacks::Callbacks;
use crate::error::{Result, StoreError};
use crate::handle::ThreadHandle;
use crate::idb::Db;
use crate::locks::StreamLocks;
use crate::marks::UnsyncedMarks;
use crate::output::js_object;
use crate::persist::{Persisted, Writer};
use crate::sync::{Kick, SyncState};
use crate::tabs::Tabs;
use crate::util::{now_ms, random_hex};

/// The user's thread list and its storage bookkeeping.
pub(crate) struct IndexDoc {
    pub id: DocumentId,
    /// With its local part (`Index::local_mut`) set: the local-only threads' summaries.
    pub index: Index,
    pub persisted: Persisted,
    /// Either document has changes to store.
    pub dirty: bool,
    /// The local part's document: stored in IndexedDB like the index, never lent to the link, in
    /// no list of documents to sync, so the relay and other devices never learn of it.
    pub local_id: DocumentId,
    pub local_persisted: Persisted,
}

/// Where and how to reach the relay.
#[derive(Clone, Debug)]
pub(crate) struct RelayConfig {
    /// The sync URLs, `ws://` or `wss://`: one relay (or a load balancer), or several relays on one
    /// database, tried in turn (the link's rule, [`Link::relay`](chatsync_protocol::Link::relay)).
    /// Never empty.
    pub urls: Vec<String>,
    /// Shared with `setToken`.
    pub tokens: crate::token::Tokens,
}

impl RelayConfig {
    /// Checks each URL's scheme: anything else would only fail later, on every reconnect. `None`
    /// without a URL (a local-only store).
    pub fn new(urls: Vec<String>, token: crate::token::TokenSource) -> Result<Option<Self>> {
        for url in &urls {
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                return Err(StoreError::InvalidInput(format!(
                    "a relay URL must start with ws:// or wss://, not {url:?}"
                )));
            }
        }
        Ok((!urls.is_empty()).then(|| Self {
            urls,
            tokens: crate::token::Tokens::new(token),
        }))
    }
}

/// What a store opened with, for [`StoreInner::new`].
pub(crate) struct Opened {
    pub db: Db,
    pub index: IndexDoc,
    /// `None` for a local-only store.
    pub relay: Option<RelayConfig>,
    /// To the sync driver; `None` for a local-only store.
    pub kicks: Option<crate::channel::Sender<Kick>>,
    /// The unsynced marks storage holds.
    pub unsynced: Vec<String>,
    pub actor: ActorId,
    pub locks: Rc<StreamLocks>,
}

/// Everything a store's parts share.
pub(crate) struct StoreInner {
    db: Db,
    /// Names this store instance's chunks and snapshots apart from other tabs'.
    writer: RefCell<Writer>,
    /// This tab's Automerge actor: per instance, with this device's prefix (`locks::device_actor`).
    actor: ActorId,
    /// The Web Locks of the streams this instance writes and reads.
    locks: Rc<StreamLocks>,
    index: RefCell<IndexDoc>,
    threads: RefCell<HashMap<ThreadId, Rc<ThreadHandle>>>,
    flush_armed: Cell<bool>,
    /// A [`Kick::Poll`] for the changes committed in this task is on its way to the driver
    /// (`send_soon`): the writes of one task (5,000 `appendMessage` calls in a loop) go as one sync
    /// message.
    pub(crate) send_armed: Cell<bool>,
    listeners: Callbacks,
    closed: Cell<bool>,
    /// The store's JS object was freed: it closes once no `Thread` object of it is open.
    abandoned: Cell<bool>,
    /// `None` for a local-only store.
    relay: Option<RelayConfig>,
    /// The relay link and what the store's calls read of it.
    sync: SyncState,
    /// The status object `status()` last handed out.
    status: StatusCache,
    /// To the sync driver; `None` for a local-only store.
    kicks: Option<crate::channel::Sender<Kick>>,
    /// Threads with changes the relay has not acknowledged, marked in storage so a reload still
    /// sends them.
    unsynced: RefCell<UnsyncedMarks>,
    /// The other tabs on this database; `None` once closed (or without BroadcastChannel).
    tabs: RefCell<Option<Tabs>>,
    /// Browser event listeners (online, offline, pagehide), removed at close.
    browser_listeners: RefCell<Vec<Listener>>,
    /// Documents of threads painted from storage, loaded once the switching stops.
    background: Rc<Loads>,
    /// The preferences listeners last heard of: a merged index tells them only when these change.
    preferences: RefCell<Preferences>,
}

impl StoreInner {
    pub fn new(opened: Opened) -> Self {
        let preferences = RefCell::new(opened.index.index.preferences());
        Self {
            db: opened.db,
            writer: RefCell::new(Writer::new(random_hex(6))),
            actor: opened.actor,
            locks: opened.locks,
            index: RefCell::new(opened.index),
            threads: RefCell::new(HashMap::new()),
            flush_armed: Cell::new(false),
            send_armed: Cell::new(false),
            listeners: Callbacks::default(),
            closed: Cell::new(false),
            abandoned: Cell::new(false),
            sync: SyncState::new(opened.relay.as_ref().map_or(1, |relay| relay.urls.len())),
            relay: opened.relay,
            status: StatusCache::default(),
            kicks: opened.kicks,
            unsynced: RefCell::new(UnsyncedMarks::new(opened.unsynced)),
            tabs: RefCell::new(None),
            browser_listeners: RefCell::new(Vec::new()),
            background: Rc::default(),
            preferences,
        }
    }

    pub fn ensure_open(&self) -> Result<()> {
        if self.closed.get() {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub fn locks(&self) -> &Rc<StreamLocks> {
        &self.locks
    }

    /// The relay, for a store that has one.
    pub fn relay(&self) -> Option<&RelayConfig> {
        self.relay.as_ref()
    }

    /// The relay link, for the sync driver.
    pub fn sync(&self) -> &SyncState {
        &self.sync
    }

    /// The store's event listeners (`subscribe`).
    pub fn listeners(&self) -> &Callbacks {
        &self.listeners
    }

    /// Joins the other tabs of database `name` (see `tabs.rs`).
    pub fn join_tabs(self: &Rc<Self>, name: &str) {
        self.tabs.replace(Tabs::join(name, Rc::downgrade(self)));
    }

    /// Keeps browser listeners until the store closes.
    pub fn keep_browser_listeners(&self, listeners: Vec<Listener>) {
        self.browser_listeners.borrow_mut().extend(listeners);
    }

    /// The handle of a thread held in memory.
    pub fn thread(&self, id: &ThreadId) -> Option<Rc<ThreadHandle>> {
        self.threads.borrow().get(id).cloned()
    }

    /// Holds a thread in memory (created here, read from storage, or fetched). Its document is
    /// written at the next flush if it is marked changed.
    /// A purged thread is never held again (a fetch answered late, another tab's copy): its records
    /// would be written back.
    pub fn insert_thread(&self, handle: Rc<ThreadHandle>) {
        if self.index_says_deleted(&handle.id) {
            return;
        }
        self.threads.borrow_mut().insert(handle.id.clone(), handle);
    }

    /// A thread painted from its stored view: its document loads once the switching stops (a
    /// write or a remote change loads it sooner), and sync then starts on it.
    pub fn load_later(self: &Rc<Self>, handle: &Rc<ThreadHandle>) {
        let store = Rc::downgrade(self);
        // A thread switched away from (no `Thread` uses it) is not loaded — the load would only
        // hold up the next switch; a write or a remote change loads it when it needs it — unless
        // it has changes to send (an unsynced mark).
        let marks = Rc::downgrade(self);
        let wanted = Rc::new(move |h: &ThreadHandle| {
            h.open_objects.get() > 0
                || marks
                    .upgrade()
                    .is_some_and(|s| s.unsynced.borrow().is_marked(h.id.as_str()))
        });
        let loaded = Rc::new(move || {
            if let Some(store) = store.upgrade() {
                store.kick(Kick::Poll);
            }
        });
        self.background.queue(handle, wanted, loaded);
    }

    /// The thread list, from the index alone: latest activity first, deleted threads never.
    pub fn list_threads(&self, options: ListOptions) -> Vec<ThreadSummary> {
        self.index.borrow().index.list(options)
    }

    /// A thread as the index lists it.
    pub fn summary(&self, id: &ThreadId) -> Option<ThreadSummary> {
        self.index.borrow().index.get(id)
    }

    /// Whether the index has heard of the thread (purged ones too).
    pub fn index_knows(&self, id: &ThreadId) -> bool {
        self.index.borrow().index.contains(id)
    }

    /// Whether the index says the thread is deleted (it may say so before the thread's own
    /// document, when the index synced first).
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

    fn emit(&self, event: &JsValue) {
        self.listeners.call(event, "store listener");
    }
}
