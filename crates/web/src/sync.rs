//! Sync with the relay: a [`DocSession`] per document held in memory (the index and every open
//! thread), threads this device has never stored fetched with `request`, acknowledgements awaited by
//! `sync()`, and the store's status. The socket and its reconnects are `connection.rs`; the browser's
//! `online` / `offline` events and the app's own switch ([`Kick::Online`]) start and stop it.

use std::collections::HashMap;
use std::rc::Rc;

use automerge::{AutoCommit, ChangeHash};
use chatsync_model::{Limits, Thread, ThreadId};
use chatsync_protocol::{DocSession, DocumentId, Message};
use futures_channel::oneshot;
use futures_util::{FutureExt, select};
use gloo_timers::future::TimeoutFuture;

use crate::error::{Result, StoreError};
use crate::handle::ThreadHandle;
use crate::idb::{SavedSync, Write};
use crate::inner::StoreInner;
use crate::socket::Socket;
use crate::util::now_ms;

/// New local changes wait this long for the reply to the message in flight, then go together.
const BATCH_HOLD_MS: u64 = 50;

/// What the rest of the store tells the sync task.
pub(crate) enum Kick {
    /// Local changes are ready to send.
    Poll,
    /// The app's switch, or the browser's `online` / `offline` event.
    Online(bool),
    /// The token was replaced: connect again with it now.
    Reconnect,
    /// The store closed.
    Close,
}

/// A wait for the relay to show a thread this device has never stored.
struct Fetch {
    doc: AutoCommit,
    waiting: Vec<oneshot::Sender<Result<()>>>,
}

/// A `sync()` call waiting for the relay to acknowledge these heads.
struct AckWait {
    heads: Vec<(DocumentId, Vec<ChangeHash>)>,
    reply: oneshot::Sender<Result<()>>,
}

/// The sync state of a store, shared with its calls.
#[derive(Default)]
pub(crate) struct SyncState {
    /// Joined: the relay answered with `peer`.
    pub online: bool,
    /// Where the connection is while not joined (`status.rs`).
    pub phase: crate::status::Phase,
    pub last_synced_at: Option<u64>,
    /// The pending count listeners last heard.
    last_pending: usize,
    relay_peer: Option<String>,
    /// The relay's storage id, from its `peer` message: sync states are saved and resumed per
    /// relay storage (none without one).
    relay_storage: Option<String>,
    sessions: HashMap<DocumentId, DocSession>,
    fetching: HashMap<DocumentId, Fetch>,
    acks: Vec<AckWait>,
    pub(crate) socket: Option<Rc<Socket>>,
}

impl StoreInner {
    /// Tells the sync task something (nothing for a local-only store).
    pub fn kick(&self, kick: Kick) {
        if let Some(tx) = &self.kicks {
            let _ = tx.unbounded_send(kick);
        }
    }

    /// Asks the relay for a thread this device does not store; resolves once it is held (and stored).
    pub async fn fetch_thread(self: &Rc<Self>, id: DocumentId) -> Result<()> {
        if self.relay.is_none() || !self.sync.borrow().online {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let (tx, rx) = oneshot::channel();
        self.sync
            .borrow_mut()
            .fetching
            .entry(id)
            .or_insert_with(|| Fetch {
                doc: AutoCommit::new(),
                waiting: Vec::new(),
            })
            .waiting
            .push(tx);
        self.kick(Kick::Poll);
        select! {
            result = rx.fuse() => result.unwrap_or(Err(StoreError::Closed)),
            () = TimeoutFuture::new(15_000).fuse() => {
                self.sync.borrow_mut().fetching.remove(&id);
                Err(StoreError::Offline(format!("the relay did not send thread {id} in 15 s")))
            }
        }
    }

    /// Resolves once the relay holds every document's current heads.
    pub async fn wait_synced(self: &Rc<Self>) -> Result<usize> {
        if self.relay.is_none() {
            return Err(StoreError::Offline("this store has no relayUrl".into()));
        }
        if !self.sync.borrow().online {
            return Err(StoreError::Offline("the relay is not reachable".into()));
        }
        self.flush().await?;
        let heads = self.all_heads();
        let count = heads.len();
        let (tx, rx) = oneshot::channel();
        self.sync
            .borrow_mut()
            .acks
            .push(AckWait { heads, reply: tx });
        self.resolve_acks();
        self.kick(Kick::Poll);
        select! {
            result = rx.fuse() => result.unwrap_or(Err(StoreError::Closed)).map(|()| count),
            () = TimeoutFuture::new(15_000).fuse() =>
                Err(StoreError::Offline("the relay did not acknowledge within 15 s".into())),
        }
    }

    /// Documents whose current heads the relay has not acknowledged. A thread painted from storage
    /// whose document has not loaded is pending when it carries an unsynced mark: `status()` runs on
    /// every render of a React app, and loading documents here would undo `background.rs`.
    pub fn pending_documents(&self) -> usize {
        let heads = self.all_heads_loaded(false);
        let state = self.sync.borrow();
        let unloaded_unsynced = self
            .threads
            .borrow()
            .values()
            .filter(|handle| !handle.is_loaded())
            .filter(|handle| {
                self.unsynced
                    .borrow()
                    .iter()
                    .any(|u| u == handle.id.as_str())
            })
            .count();
        heads
            .into_iter()
            .filter(|(id, heads)| {
                !state.sessions.get(id).is_some_and(|s| {
                    self.with_doc(*id, |doc| s.has_acknowledged(doc, heads))
                        .unwrap_or(false)
                })
            })
            .count()
            + unloaded_unsynced
    }

    /// Every synced document and its heads.
    fn all_heads(&self) -> Vec<(DocumentId, Vec<ChangeHash>)> {
        self.all_heads_loaded(true)
    }

    /// The index's and the threads' heads; with `load` false, only of threads already loaded.
    fn all_heads_loaded(&self, load: bool) -> Vec<(DocumentId, Vec<ChangeHash>)> {
        let mut heads = Vec::new();
        let index_id = self.index.borrow().id;
        heads.push((index_id, self.index.borrow_mut().index.heads()));
        for handle in self.threads.borrow().values() {
            if !load && !handle.is_loaded() {
                continue;
            }
            if let (Ok(id), Ok(h)) = (
                handle.id.as_str().parse::<DocumentId>(),
                handle.with_thread(|t| t.heads()),
            ) {
                heads.push((id, h));
            }
        }
        heads
    }

    /// Runs `f` on a document held in memory: the index or an open thread.
    fn with_doc<R>(&self, id: DocumentId, f: impl FnOnce(&mut AutoCommit) -> R) -> Option<R> {
        if self.index.borrow().id == id {
            return Some(self.index.borrow_mut().index.with_automerge(f));
        }
        let handle = self.handle_of(id)?;
        handle.with_thread(|t| t.with_automerge(f)).ok()
    }

    /// A session for a document this connection has not synced yet: resumed from the state last
    /// shared with this relay's storage, when storage holds one.
    fn new_session(&self, id: DocumentId) -> DocSession {
        let session = DocSession::batching(BATCH_HOLD_MS);
        let Some(storage) = self.sync.borrow().relay_storage.clone() else {
            return session;
        };
        let saved = if self.index.borrow().id == id {
            let index = self.index.borrow();
            index.persisted.saved_sync(&storage).map(<[u8]>::to_vec)
        } else {
            self.handle_of(id).and_then(|handle| {
                handle
                    .persisted
                    .borrow()
                    .saved_sync(&storage)
                    .map(<[u8]>::to_vec)
            })
        };
        match saved {
            Some(saved) => self
                .with_doc(id, |doc| session.resume(&saved, doc))
                .unwrap_or_else(|| DocSession::batching(BATCH_HOLD_MS)),
            None => session,
        }
    }

    /// The sync states that moved since storage last held them, for a flush to write.
    pub(crate) fn sync_state_writes(&self) -> Vec<Write> {
        let state = self.sync.borrow();
        let Some(peer) = &state.relay_storage else {
            return Vec::new();
        };
        let saved = |id: &DocumentId| {
            let session = state.sessions.get(id)?;
            Some(SavedSync {
                peer: peer.clone(),
                state: session.saved_state(),
            })
        };
        let mut writes = Vec::new();
        let mut index = self.index.borrow_mut();
        if let Some(saved) = saved(&index.id) {
            let doc = index.id.to_string();
            writes.extend(index.persisted.sync_write(&doc, saved));
        }
        for handle in self.threads.borrow().values() {
            let Ok(id) = handle.id.as_str().parse::<DocumentId>() else {
                continue;
            };
            if let Some(saved) = saved(&id) {
                let write = handle
                    .persisted
                    .borrow_mut()
                    .sync_write(handle.id.as_str(), saved);
                writes.extend(write);
            }
        }
        writes
    }

    fn handle_of(&self, id: DocumentId) -> Option<Rc<ThreadHandle>> {
        let thread_id = ThreadId::new(id.to_string()).ok()?;
        self.threads.borrow().get(&thread_id).cloned()
    }

    /// Opens the threads with changes the relay has never acknowledged (written before a reload, say),
    /// so this connection sends them.
    fn open_unsynced(self: &Rc<Self>) {
        let ids: Vec<String> = self.unsynced.borrow().iter().cloned().collect();
        let store = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            for id in ids {
                if let Err(e) = crate::store::open_handle(&store, &id).await {
                    store.emit_error(&e, None);
                }
            }
            store.kick(Kick::Poll);
        });
    }

    /// Forgets the unsynced marks of threads whose current heads the relay has acknowledged.
    fn clear_acknowledged(&self) {
        let marked: Vec<String> = self.unsynced.borrow().iter().cloned().collect();
        for id in marked {
            let Ok(document_id) = id.parse::<DocumentId>() else {
                continue;
            };
            let acknowledged = {
                let state = self.sync.borrow();
                state.sessions.get(&document_id).is_some_and(|session| {
                    self.with_doc(document_id, |doc| {
                        let heads = doc.get_heads();
                        session.has_acknowledged(doc, &heads)
                    })
                    .unwrap_or(false)
                })
            };
            if acknowledged {
                self.unsynced.borrow_mut().retain(|u| *u != id);
                self.unsynced_removed.borrow_mut().push(id);
            }
        }
    }

    fn resolve_acks(&self) {
        self.clear_acknowledged();
        let waits = std::mem::take(&mut self.sync.borrow_mut().acks);
        let mut left = Vec::new();
        for wait in waits {
            let done = wait.heads.iter().all(|(id, heads)| {
                let state = self.sync.borrow();
                let Some(session) = state.sessions.get(id) else {
                    return false;
                };
                self.with_doc(*id, |doc| session.has_acknowledged(doc, heads))
                    .unwrap_or(true)
            });
            if done {
                self.sync.borrow_mut().last_synced_at = Some(now_ms());
                let _ = wait.reply.send(Ok(()));
            } else {
                left.push(wait);
            }
        }
        self.sync.borrow_mut().acks.extend(left);
        self.emit_status();
    }

    /// Sends what every session has ready.
    pub(crate) fn poll_all(&self) {
        let Some(socket) = self.sync.borrow().socket.clone() else {
            return;
        };
        let Some(relay_peer) = self.sync.borrow().relay_peer.clone() else {
            return;
        };
        let now = now_ms();
        let mut ids: Vec<DocumentId> = vec![self.index.borrow().id];
        ids.extend(
            self.threads
                .borrow()
                .keys()
                .filter_map(|id| id.as_str().parse::<DocumentId>().ok()),
        );
        let mut frames = Vec::new();
        for id in ids {
            // A thread painted from storage whose document has not loaded has nothing new to send;
            // loading it here would make a thread switch wait (`background.rs` loads it, then polls).
            if self.handle_of(id).is_some_and(|handle| !handle.is_loaded()) {
                continue;
            }
            // Its own statement: the borrow must end before `new_session` reads the sync state.
            let existing = self.sync.borrow_mut().sessions.remove(&id);
            let mut session = existing.unwrap_or_else(|| self.new_session(id));
            while let Some(data) = self
                .with_doc(id, |doc| session.poll_message(doc, now))
                .flatten()
            {
                frames.push(Message::for_document(
                    false,
                    &self.peer_id,
                    &relay_peer,
                    id,
                    data,
                ));
            }
            self.sync.borrow_mut().sessions.insert(id, session);
        }
        let mut state = self.sync.borrow_mut();
        let fetching: Vec<DocumentId> = state.fetching.keys().copied().collect();
        for id in fetching {
            let mut session = state.sessions.remove(&id).unwrap_or_default();
            if let Some(fetch) = state.fetching.get_mut(&id) {
                while let Some(data) = session.poll_message(&mut fetch.doc, now) {
                    frames.push(Message::for_document(
                        true,
                        &self.peer_id,
                        &relay_peer,
                        id,
                        data,
                    ));
                }
            }
            state.sessions.insert(id, session);
        }
        drop(state);
        for frame in frames {
            if !socket.send(&frame.encode()) {
                break;
            }
        }
    }

    /// Handles one frame from the relay.
    pub(crate) fn handle_frame(self: &Rc<Self>, bytes: &[u8]) {
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(e) => {
                web_sys::console::warn_1(
                    &format!("chatsync: ignoring a malformed frame: {e}").into(),
                );
                return;
            }
        };
        match message {
            Message::Peer {
                sender_id,
                peer_metadata,
                ..
            } => {
                {
                    let mut state = self.sync.borrow_mut();
                    state.online = true;
                    state.relay_peer = Some(sender_id);
                    state.relay_storage = peer_metadata.storage_id;
                    // A new connection starts every sync from scratch.
                    state.sessions.clear();
                }
                self.emit_status();
                self.poll_all();
                self.open_unsynced();
            }
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } => {
                self.receive(document_id, &data);
                self.resolve_acks();
                self.poll_all();
                self.note_pending();
            }
            Message::DocUnavailable { document_id, .. } => {
                let fetch = self.sync.borrow_mut().fetching.remove(&document_id);
                if let Some(fetch) = fetch {
                    for waiting in fetch.waiting {
                        let _ = waiting.send(Err(StoreError::NotFound(document_id.to_string())));
                    }
                }
            }
            Message::Error { message, .. } => {
                web_sys::console::warn_1(
                    &format!("chatsync: the relay reported: {message}").into(),
                );
            }
            _ => {}
        }
    }

    /// Applies a sync message to the document it is for.
    fn receive(self: &Rc<Self>, id: DocumentId, data: &[u8]) {
        let existing = self.sync.borrow_mut().sessions.remove(&id);
        let mut session = match existing {
            Some(session) => session,
            None if self.sync.borrow().fetching.contains_key(&id) => DocSession::new(),
            None => self.new_session(id),
        };
        let index_id = self.index.borrow().id;
        if id == index_id {
            let changed = {
                let mut index = self.index.borrow_mut();
                let before = index.index.heads();
                let result = index.index.with_automerge(|doc| session.receive(doc, data));
                let changed = result.is_ok() && index.index.heads() != before;
                if changed {
                    index.dirty = true;
                }
                changed
            };
            if changed {
                self.emit_threads("remote");
                self.schedule_flush();
            }
        } else if let Some(handle) = self.handle_of(id) {
            let changed = handle.with_thread(|thread| {
                let before = thread.heads();
                let ok = thread
                    .with_automerge(|doc| session.receive(doc, data))
                    .is_ok();
                ok && thread.heads() != before
            });
            if changed.unwrap_or(false) {
                handle.changed();
                self.schedule_repaint(&handle);
                self.schedule_flush();
            }
        } else {
            self.receive_fetched(id, &mut session, data);
        }
        self.sync.borrow_mut().sessions.insert(id, session);
    }

    /// A sync message for a thread being fetched: once it holds all the relay has, it becomes an open
    /// thread and is stored.
    fn receive_fetched(self: &Rc<Self>, id: DocumentId, session: &mut DocSession, data: &[u8]) {
        let mut state = self.sync.borrow_mut();
        let Some(fetch) = state.fetching.get_mut(&id) else {
            return;
        };
        if session.receive(&mut fetch.doc, data).is_err() {
            return;
        }
        if !session.holds_what_they_advertised(&mut fetch.doc) {
            return;
        }
        let Some(fetch) = state.fetching.remove(&id) else {
            return;
        };
        drop(state);
        let result = ThreadId::new(id.to_string())
            .map_err(StoreError::from)
            .and_then(|thread_id| {
                let doc = fetch.doc.with_actor(self.actor.clone());
                Thread::from_automerge(thread_id, doc, Limits::default())
                    .map_err(|e| StoreError::from(e.error))
            })
            .map(|thread| {
                let handle = Rc::new(ThreadHandle::created(thread, self.actor.clone()));
                handle.changed();
                self.threads.borrow_mut().insert(handle.id.clone(), handle);
                self.schedule_flush();
            });
        for waiting in fetch.waiting {
            let _ = waiting.send(
                result
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| StoreError::NotFound(format!("{id}: {e}"))),
            );
        }
    }

    /// After the relay spoke: the moment nothing is left unacknowledged is the last sync time; and
    /// listeners hear of every change of the status, so a status line needs no polling.
    fn note_pending(&self) {
        let pending = self.pending_documents();
        {
            let mut state = self.sync.borrow_mut();
            let before = std::mem::replace(&mut state.last_pending, pending);
            // Only when everything became acknowledged (not at every later frame): the status, and
            // the `status` events that announce it, change only when something did.
            if pending == 0 && (before != 0 || state.last_synced_at.is_none()) {
                state.last_synced_at = Some(now_ms());
            }
        }
        self.emit_status();
    }

    pub(crate) fn disconnected(&self) {
        let was_online = {
            let mut state = self.sync.borrow_mut();
            state.socket = None;
            state.relay_peer = None;
            state.relay_storage = None;
            state.sessions.clear();
            std::mem::replace(&mut state.online, false)
        };
        // Fetches cannot finish without the relay.
        let fetching = std::mem::take(&mut self.sync.borrow_mut().fetching);
        for (id, fetch) in fetching {
            for waiting in fetch.waiting {
                let _ = waiting.send(Err(StoreError::Offline(format!(
                    "lost the relay while fetching {id}"
                ))));
            }
        }
        if was_online {
            self.emit_status();
        }
    }
}
