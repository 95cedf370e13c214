//! The sync driver: the one owner of the relay WebSocket. Protocol decisions — joining, request or
//! sync, when a fetch is complete, acknowledgements, resuming, backoff, what a refused token means —
//! are the [`Link`](chatsync_protocol::Link)'s; this loop feeds it socket events, the store's
//! [`Kick`]s and timeouts, sends what it wants sent, dials when it says so (with a token from the
//! app's source, `token.rs`), and answers the store's calls from its events. The browser's parts
//! are here too: the app's and the browser's offline switch, and asking the HTTP API whether a
//! socket that never opened was refused for its token (a browser sees no more than a close):
//! `dial.rs`.

mod dial;

use std::rc::Rc;

use chatsync_model::{Limits, Thread, ThreadId};
use chatsync_protocol::{Disconnect, DocumentId, LinkError, LinkEvent, automerge::AutoCommit};
use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;

use wasm_bindgen_futures::JsFuture;

use crate::channel::{self, Receiver};
use crate::error::{Result, StoreError};
use crate::handle::ThreadHandle;
use crate::inner::{RelayConfig, StoreDocs, StoreInner};
use crate::socket::{Socket, SocketEvent};
use crate::sync::{Heads, Kick};

/// A socket and the events it reports.
struct Connection {
    // Dropping it closes the WebSocket.
    socket: Socket,
    events: Receiver<SocketEvent>,
}

/// What woke the loop.
enum Input {
    Kick(Option<Kick>),
    Socket(SocketEvent),
    Timeout,
}

/// A call waiting for the relay.
type Reply = channel::Reply<Result<()>>;

struct Driver {
    inner: Rc<StoreInner>,
    relay: RelayConfig,
    kicks: Receiver<Kick>,
    connection: Option<Connection>,
    /// The timer of the link's next timeout (when, in the link's milliseconds), kept while that
    /// stays the next timeout: a timer made per turn would leave one pending per event.
    timer: Option<(u128, JsFuture)>,
    /// The token of the current (or last) connection.
    token: Option<String>,
    /// A fresh token (or none) already taken from the source for the next dial.
    next_token: Option<Option<String>>,
    /// The documents the link holds: the index and the loaded threads, as of the last [`Kick::Poll`].
    held: Vec<DocumentId>,
    fetches: Vec<(DocumentId, Reply)>,
    acks: Vec<(Heads, Reply)>,
}

/// The sync driver of a store with a relay: runs until the store closes.
pub(crate) async fn run(inner: Rc<StoreInner>, kicks: Receiver<Kick>) {
    let Some(relay) = inner.relay().cloned() else {
        return;
    };
    let driver = Driver {
        inner,
        relay,
        kicks,
        connection: None,
        timer: None,
        token: None,
        next_token: None,
        held: Vec::new(),
        fetches: Vec::new(),
        acks: Vec::new(),
    };
    driver.run().await;
}

impl Driver {
    async fn run(mut self) {
        self.hold_documents();
        loop {
            if !self.carry_out().await {
                return;
            }
            self.settle();
            let input = self.next_input().await;
            let now = self.inner.sync().now();
            match input {
                Input::Kick(None | Some(Kick::Close)) => return self.close(),
                Input::Kick(Some(kick)) => self.handle_kick(kick),
                Input::Socket(SocketEvent::Open) => self.inner.sync().link().handle_connected(now),
                Input::Socket(SocketEvent::Frame(bytes)) => {
                    let handled = self.inner.sync().link().handle_frame(
                        now,
                        &bytes,
                        &mut StoreDocs(&self.inner),
                    );
                    if let Err(e) = handled {
                        warn_refused(&e);
                    }
                }
                Input::Socket(SocketEvent::Closed { code, reason }) => {
                    self.socket_closed(code, reason).await;
                }
                Input::Timeout => self
                    .inner
                    .sync()
                    .link()
                    .handle_timeout(now, &mut StoreDocs(&self.inner)),
            }
        }
    }

    /// Waits for a kick, a socket event, or the link's next timeout (none while switched off).
    /// One poll function over the three, in that order.
    async fn next_input(&mut self) -> Input {
        let sync = self.inner.sync();
        let timeout = sync.link().poll_timeout().filter(|_| sync.is_enabled());
        let at = timeout.map(|at| at.as_millis());
        if self.timer.as_ref().map(|(when, _)| *when) != at {
            self.timer = timeout.map(|at| {
                let ms = at.saturating_sub(sync.now()).as_millis();
                let timer = crate::util::sleep(u32::try_from(ms).unwrap_or(u32::MAX));
                (at.as_millis(), timer)
            });
        }
        let (kicks, connection, timer) = (&mut self.kicks, &mut self.connection, &mut self.timer);
        let input = poll_fn(|cx| {
            if let Poll::Ready(kick) = kicks.poll_next(cx) {
                return Poll::Ready(Input::Kick(kick));
            }
            if let Some(connection) = connection.as_mut()
                && let Poll::Ready(Some(event)) = connection.events.poll_next(cx)
            {
                return Poll::Ready(Input::Socket(event));
            }
            match timer {
                Some((_, sleep)) => Pin::new(sleep).poll(cx).map(|_| Input::Timeout),
                None => Poll::Pending,
            }
        })
        .await;
        if matches!(input, Input::Timeout) {
            self.timer = None;
        }
        input
    }

    /// Sends what the link has queued and acts on its events, until it has nothing more. False
    /// when the driver must stop (the relay URL cannot be opened at all).
    async fn carry_out(&mut self) -> bool {
        loop {
            self.send_transmits();
            let event = self.inner.sync().link().poll_event();
            let Some(event) = event else {
                return true;
            };
            if !self.handle_event(event).await {
                return false;
            }
        }
    }

    fn send_transmits(&mut self) {
        loop {
            let frame = self.inner.sync().link().poll_transmit();
            let Some(frame) = frame else { return };
            let Some(connection) = &self.connection else {
                return;
            };
            if !connection.socket.send(&frame) {
                self.connection = None;
                let now = self.inner.sync().now();
                self.inner
                    .sync()
                    .link()
                    .handle_disconnected(now, Disconnect::Lost);
            }
        }
    }

    async fn handle_event(&mut self, event: LinkEvent) -> bool {
        match event {
            LinkEvent::Dial => return self.dial().await,
            LinkEvent::Joined { .. } => self.inner.open_unsynced(),
            // Fetches cannot finish without the relay.
            LinkEvent::Disconnected { .. } => {
                for (id, reply) in std::mem::take(&mut self.fetches) {
                    self.inner.sync().link().release(id);
                    reply.send(Err(StoreError::Offline(format!(
                        "lost the relay while fetching {id}"
                    ))));
                }
            }
            LinkEvent::CredentialsRefused { .. } => self.credentials_refused().await,
            LinkEvent::RelayError { message } => {
                web_sys::console::warn_1(
                    &format!("chatsync: the relay reported: {message}").into(),
                );
            }
            LinkEvent::Acknowledged { .. } => self.resolve_acks(),
            LinkEvent::Changed { document } => self.inner.remote_change(document),
            LinkEvent::Fetched { document, doc } => self.adopt(document, *doc),
            LinkEvent::Unavailable { document } => {
                self.answer_fetches(document, Err(document.to_string()));
            }
            _ => {}
        }
        true
    }

    fn handle_kick(&mut self, kick: Kick) {
        let now = self.inner.sync().now();
        match kick {
            Kick::Poll => {
                self.inner.send_armed.set(false);
                self.hold_documents();
                let docs = &mut StoreDocs(&self.inner);
                for id in &self.held {
                    self.inner.sync().link().local_change(now, *id, docs);
                }
            }
            Kick::Online(false) => {
                self.inner.sync().set_enabled(false);
                self.hang_up();
            }
            Kick::Online(true) => {
                self.inner.sync().set_enabled(true);
                self.inner.sync().link().reconnect_now();
            }
            Kick::Reconnect => {
                self.next_token = None;
                if self.inner.sync().is_enabled() {
                    self.hang_up();
                    self.inner.sync().link().reconnect_now();
                }
            }
            Kick::Fetch(id, reply) => {
                if self.held.contains(&id) {
                    reply.send(Ok(()));
                    return;
                }
                self.fetches.push((id, reply));
                self.inner.sync().link().fetch(now, id, AutoCommit::new());
            }
            Kick::Acknowledge(heads, reply) => {
                self.hold_documents();
                self.acks.push((heads, reply));
                self.resolve_acks();
            }
            Kick::Close => {}
        }
    }

    /// The link holds exactly the documents in memory and loaded: new ones start syncing
    /// (resuming from the state storage keeps), dropped ones stop.
    fn hold_documents(&mut self) {
        let loaded = self.inner.loaded_documents();
        let now = self.inner.sync().now();
        let docs = &mut StoreDocs(&self.inner);
        for id in &loaded {
            if self.held.contains(id) {
                continue;
            }
            self.held.push(*id);
            match self.inner.resume_state(*id) {
                Some(saved) => self
                    .inner
                    .sync()
                    .link()
                    .hold_resuming(now, *id, saved, docs),
                None => self.inner.sync().link().hold(now, *id, docs),
            }
        }
        let link = self.inner.sync();
        self.held.retain(|id| {
            let keep = loaded.contains(id);
            if !keep {
                link.link().release(*id);
            }
            keep
        });
    }

    /// A fetched thread arrived whole: it becomes an open thread of the store, and is stored.
    fn adopt(&mut self, id: DocumentId, doc: AutoCommit) {
        let inner = &self.inner;
        let adopted = ThreadId::new(id.to_string())
            .map_err(StoreError::from)
            .and_then(|thread_id| {
                let doc = doc.with_actor(inner.actor().clone());
                Thread::from_automerge(thread_id, doc, Limits::default())
                    .map_err(|e| StoreError::from(e.error))
            })
            .map(|thread| {
                let handle = Rc::new(ThreadHandle::created(thread, inner.actor().clone()));
                // Stored whole at the next flush: without it only its view reached IndexedDB, and
                // the thread did not open after a reload without the relay.
                handle.persisted.borrow_mut().arrived_whole();
                handle.changed();
                inner.insert_thread(handle);
                inner.schedule_flush();
            });
        match &adopted {
            Ok(()) => self.held.push(id),
            Err(_) => self.inner.sync().link().release(id),
        }
        self.answer_fetches(id, adopted.map_err(|e| format!("{id}: {e}")));
    }

    /// Answers the fetches of `id`: done, or not found (with why).
    fn answer_fetches(&mut self, id: DocumentId, answer: std::result::Result<(), String>) {
        let (done, left) = std::mem::take(&mut self.fetches)
            .into_iter()
            .partition(|(fetched, _)| *fetched == id);
        self.fetches = left;
        for (_, reply) in done {
            reply.send(answer.clone().map_err(StoreError::NotFound));
        }
    }

    /// Answers the `sync()` calls whose heads the relay now holds, and takes the unsynced marks
    /// off threads it acknowledged. A document no longer held (dropped from memory after its
    /// acknowledgement) has nothing left to wait for.
    fn resolve_acks(&mut self) {
        self.inner.clear_acknowledged();
        let waits = std::mem::take(&mut self.acks);
        for (heads, reply) in waits {
            let done = heads
                .iter()
                .all(|(id, heads)| !self.held.contains(id) || self.inner.acknowledged(*id, heads));
            if done {
                self.inner.sync().synced_now();
                reply.send(Ok(()));
            } else {
                self.acks.push((heads, reply));
            }
        }
    }

    /// After each turn: calls that stopped waiting (timed out) are forgotten — a fetch nobody
    /// waits for is given up —, marks of threads the relay holds come off (a flush marks what it
    /// wrote, remote changes too, after their acknowledgement came), and listeners hear of a
    /// changed status.
    fn settle(&mut self) {
        self.acks.retain(|(_, reply)| !reply.is_canceled());
        let before: Vec<DocumentId> = self.fetches.iter().map(|(id, _)| *id).collect();
        self.fetches.retain(|(_, reply)| !reply.is_canceled());
        for id in before {
            if !self.fetches.iter().any(|(f, _)| *f == id) && !self.held.contains(&id) {
                self.inner.sync().link().release(id);
            }
        }
        if self.inner.sync().is_joined() {
            self.inner.clear_acknowledged();
            let pending = self.inner.pending_documents();
            self.inner.sync().note_pending(pending);
        }
        self.inner.emit_status();
    }

    /// The store closed: the socket closes, and calls still waiting hear why.
    fn close(&mut self) {
        self.inner.sync().link().close();
        self.connection = None;
        for (_, reply) in self.fetches.drain(..) {
            reply.send(Err(StoreError::Closed));
        }
        for (_, reply) in self.acks.drain(..) {
            reply.send(Err(StoreError::Closed));
        }
    }
}

/// Logs a frame the link refused (it changed nothing). A refused sync payload is named, not
/// explained: formatting every kind of sync error would cost the package 1.5 KB for a log line.
fn warn_refused(error: &LinkError) {
    let what = match error {
        LinkError::Decode(e) => format!("a malformed frame ({e})"),
        LinkError::Sync { document, .. } => format!("a sync message for {document}"),
        _ => "a frame".to_owned(),
    };
    web_sys::console::warn_1(&format!("chatsync: ignored {what} from the relay").into());
}
