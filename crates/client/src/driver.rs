//! The driver task: the one owner of the socket and of every document the client holds.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use automerge::{AutoCommit, ChangeHash};
use chatsync_protocol::{DocSession, DocumentId, Message, holds_all};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use chatsync_model::{Limits, Thread, ThreadId};

use crate::{ClientConfig, ClientError};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long new local changes wait for the reply to the message in flight before going out anyway:
/// streaming writes become one message per round trip.
const BATCH_HOLD_MS: u64 = 50;

/// Sleeps until `at`, or forever without one.
async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The earliest time a held batch of any document must go out.
fn next_wake(
    docs: &HashMap<DocumentId, Entry>,
    started: tokio::time::Instant,
) -> Option<tokio::time::Instant> {
    let wake_ms = docs.values().filter_map(|e| e.session.wake_at()).min()?;
    Some(started + Duration::from_millis(wake_ms))
}

/// A document change run inside the driver.
pub(crate) type ChangeFn = Box<dyn FnOnce(&mut AutoCommit) + Send>;

/// A write through the model, run inside the driver on the held thread.
pub(crate) type ThreadWrite = Box<dyn FnOnce(&mut Thread) + Send>;

/// What a [`Client`](crate::Client) asks of its driver.
pub(crate) enum Command {
    Insert {
        id: DocumentId,
        // Boxed: an AutoCommit is 4 KB, the other commands a few words.
        doc: Box<AutoCommit>,
        reply: oneshot::Sender<()>,
    },
    Find {
        id: DocumentId,
        reply: oneshot::Sender<Result<AutoCommit, ClientError>>,
    },
    Change {
        id: DocumentId,
        change: ChangeFn,
        reply: oneshot::Sender<Result<Vec<ChangeHash>, ClientError>>,
    },
    ChangeThread {
        id: DocumentId,
        write: ThreadWrite,
        reply: oneshot::Sender<Result<Vec<ChangeHash>, ClientError>>,
    },
    Get {
        id: DocumentId,
        reply: oneshot::Sender<Result<AutoCommit, ClientError>>,
    },
    WaitAck {
        id: DocumentId,
        heads: Vec<ChangeHash>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    WaitHeads {
        id: DocumentId,
        heads: Vec<ChangeHash>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Close,
}

/// A held document: plain, or — once written through the model — a [`Thread`], kept wrapped so its
/// caches (message tree, stream handles) stay warm between writes.
enum Replica {
    Doc(Box<AutoCommit>),
    Thread(Box<Thread>),
}

impl Replica {
    /// The Automerge document, for syncing or plain changes.
    fn with_doc<R>(&mut self, f: impl FnOnce(&mut AutoCommit) -> R) -> R {
        match self {
            Self::Doc(doc) => f(doc),
            Self::Thread(thread) => thread.with_automerge(f),
        }
    }

    /// The document as a thread, wrapping it on first use. A document that cannot be a thread is
    /// left as it was.
    fn as_thread(&mut self, id: DocumentId) -> Result<&mut Thread, ClientError> {
        if let Self::Doc(doc) = self {
            let thread_id = ThreadId::new(id.to_string())?;
            match Thread::from_automerge(thread_id, std::mem::take(&mut **doc), Limits::default()) {
                Ok(thread) => *self = Self::Thread(Box::new(thread)),
                Err(failed) => {
                    **doc = failed.doc;
                    return Err(failed.error.into());
                }
            }
        }
        match self {
            Self::Thread(thread) => Ok(thread),
            Self::Doc(_) => unreachable!("wrapped just above"),
        }
    }
}

struct Entry {
    doc: Replica,
    session: DocSession,
    /// Until the relay has shown us the document, our messages are `request`s and these wait.
    finding: Option<Vec<oneshot::Sender<Result<AutoCommit, ClientError>>>>,
}

/// A wait for the relay to acknowledge some heads of a document.
type PendingAck = (
    DocumentId,
    Vec<ChangeHash>,
    oneshot::Sender<Result<(), ClientError>>,
);

pub(crate) struct Driver {
    config: ClientConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    socket: Option<Socket>,
    relay_peer: String,
    docs: HashMap<DocumentId, Entry>,
    acks: Vec<PendingAck>,
    /// Waits for this client to hold some heads (changes made elsewhere).
    arrivals: Vec<PendingAck>,
    backoff: Duration,
    /// When to try reconnecting, while disconnected. A deadline, not a fresh sleep per loop, so a
    /// stream of commands cannot postpone reconnection forever.
    retry_at: tokio::time::Instant,
    /// The sessions' clock starts here.
    started: tokio::time::Instant,
}

enum Event {
    Command(Option<Command>),
    Frame(Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>),
    Retry,
    /// A held batch is due (see [`DocSession::batching`]).
    Wake,
}

impl Driver {
    pub(crate) async fn connect(
        config: ClientConfig,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Result<Self, ClientError> {
        let (socket, relay_peer) = open(&config).await?;
        Ok(Self {
            backoff: config.min_backoff,
            config,
            commands,
            socket: Some(socket),
            relay_peer,
            docs: HashMap::new(),
            acks: Vec::new(),
            arrivals: Vec::new(),
            retry_at: tokio::time::Instant::now(),
            started: tokio::time::Instant::now(),
        })
    }

    pub(crate) async fn run(mut self) {
        loop {
            let event = match &mut self.socket {
                Some(socket) => {
                    let wake = next_wake(&self.docs, self.started);
                    tokio::select! {
                        command = self.commands.recv() => Event::Command(command),
                        frame = socket.next() => Event::Frame(frame),
                        () = sleep_until_opt(wake) => Event::Wake,
                    }
                }
                None => tokio::select! {
                    command = self.commands.recv() => Event::Command(command),
                    () = tokio::time::sleep_until(self.retry_at) => Event::Retry,
                },
            };
            match event {
                Event::Command(None | Some(Command::Close)) => {
                    if let Some(mut socket) = self.socket.take() {
                        let _ = socket.close(None).await;
                    }
                    return;
                }
                Event::Command(Some(command)) => self.handle_command(command),
                Event::Frame(Some(Ok(WsMessage::Binary(bytes)))) => self.handle_frame(&bytes),
                Event::Frame(Some(Ok(WsMessage::Close(frame)))) => {
                    tracing::info!(?frame, "relay closed the connection");
                    self.disconnected();
                }
                Event::Frame(None | Some(Err(_))) => {
                    tracing::info!("connection to the relay lost; reconnecting");
                    self.disconnected();
                }
                Event::Frame(Some(Ok(_))) => {}
                Event::Retry => self.reconnect().await,
                Event::Wake => {}
            }
            self.flush().await;
        }
    }

    /// Milliseconds since this driver started: the sessions' clock.
    fn clock_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn disconnected(&mut self) {
        self.socket = None;
        self.retry_at = tokio::time::Instant::now() + jittered(self.backoff);
    }

    async fn reconnect(&mut self) {
        tracing::debug!(backoff = ?self.backoff, "reconnecting");
        match open(&self.config).await {
            Ok((socket, relay_peer)) => {
                tracing::info!("reconnected to the relay");
                self.socket = Some(socket);
                self.relay_peer = relay_peer;
                self.backoff = self.config.min_backoff;
                // A new connection resumes each document from the heads both sides shared, so its
                // first message carries only what is new, not a filter of the whole history. A
                // relay that lost data answers with Automerge's sync reset.
                for entry in self.docs.values_mut() {
                    let saved = entry.session.saved_state();
                    entry.session = entry
                        .doc
                        .with_doc(|doc| DocSession::batching(BATCH_HOLD_MS).resume(&saved, doc));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "reconnect failed");
                self.backoff = (self.backoff * 2).min(self.config.max_backoff);
                self.retry_at = tokio::time::Instant::now() + jittered(self.backoff);
            }
        }
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Insert { id, doc, reply } => {
                self.docs.insert(
                    id,
                    Entry {
                        doc: Replica::Doc(doc),
                        session: DocSession::batching(BATCH_HOLD_MS),
                        finding: None,
                    },
                );
                let _ = reply.send(());
            }
            Command::Find { id, reply } => match self.docs.get_mut(&id) {
                Some(entry) => match &mut entry.finding {
                    Some(waiting) => waiting.push(reply),
                    None => {
                        let _ = reply.send(Ok(entry.doc.with_doc(|d| d.clone())));
                    }
                },
                None => {
                    let entry = Entry {
                        doc: Replica::Doc(Box::default()),
                        session: DocSession::batching(BATCH_HOLD_MS),
                        finding: Some(vec![reply]),
                    };
                    self.docs.insert(id, entry);
                }
            },
            Command::Change { id, change, reply } => {
                let result = match self.docs.get_mut(&id) {
                    Some(entry) => Ok(entry.doc.with_doc(|doc| {
                        change(doc);
                        doc.commit();
                        doc.get_heads()
                    })),
                    None => Err(ClientError::NotOpen(id)),
                };
                let _ = reply.send(result);
            }
            Command::ChangeThread { id, write, reply } => {
                let result = match self.docs.get_mut(&id) {
                    Some(entry) => entry.doc.as_thread(id).map(|thread| {
                        write(thread);
                        thread.heads()
                    }),
                    None => Err(ClientError::NotOpen(id)),
                };
                let _ = reply.send(result);
            }
            Command::Get { id, reply } => {
                let result = match self.docs.get_mut(&id) {
                    Some(entry) => Ok(entry.doc.with_doc(|d| d.clone())),
                    None => Err(ClientError::NotOpen(id)),
                };
                let _ = reply.send(result);
            }
            Command::WaitAck { id, heads, reply } => {
                if !self.docs.contains_key(&id) {
                    let _ = reply.send(Err(ClientError::NotOpen(id)));
                    return;
                }
                self.acks.push((id, heads, reply));
                self.resolve_acks();
            }
            Command::WaitHeads { id, heads, reply } => {
                if !self.docs.contains_key(&id) {
                    let _ = reply.send(Err(ClientError::NotOpen(id)));
                    return;
                }
                self.arrivals.push((id, heads, reply));
                self.resolve_arrivals();
            }
            Command::Close => {}
        }
    }

    fn handle_frame(&mut self, bytes: &[u8]) {
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed frame from the relay");
                return;
            }
        };
        match message {
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } => {
                let Some(entry) = self.docs.get_mut(&document_id) else {
                    return;
                };
                let session = &mut entry.session;
                if let Err(e) = entry.doc.with_doc(|doc| session.receive(doc, &data)) {
                    tracing::warn!(error = %e, document = %document_id, "refused a sync message");
                    return;
                }
                // Found once we hold everything the relay has advertised (not merely its first chunk).
                let session = &entry.session;
                let complete = entry
                    .doc
                    .with_doc(|doc| session.holds_what_they_advertised(doc));
                if entry.finding.is_some() && complete {
                    let doc = entry.doc.with_doc(|d| d.clone());
                    for waiting in entry.finding.take().unwrap_or_default() {
                        let _ = waiting.send(Ok(doc.clone()));
                    }
                }
                self.resolve_acks();
                self.resolve_arrivals();
            }
            Message::DocUnavailable { document_id, .. } => {
                let finding = self
                    .docs
                    .get(&document_id)
                    .is_some_and(|e| e.finding.is_some());
                if finding && let Some(entry) = self.docs.remove(&document_id) {
                    for waiting in entry.finding.unwrap_or_default() {
                        let _ = waiting.send(Err(ClientError::Unavailable(document_id)));
                    }
                }
            }
            Message::Error { message, .. } => {
                tracing::warn!(message, "the relay reported an error");
            }
            _ => {}
        }
    }

    fn resolve_acks(&mut self) {
        resolve(&mut self.acks, &mut self.docs, |entry, heads| {
            let session = &entry.session;
            entry
                .doc
                .with_doc(|doc| session.has_acknowledged(doc, heads))
        });
    }

    fn resolve_arrivals(&mut self) {
        resolve(&mut self.arrivals, &mut self.docs, |entry, heads| {
            entry.doc.with_doc(|doc| holds_all(doc, heads))
        });
    }

    /// Sends every sync message any session has ready.
    async fn flush(&mut self) {
        let now_ms = self.clock_ms();
        let Some(socket) = &mut self.socket else {
            return;
        };
        let mut failed = false;
        for (id, entry) in &mut self.docs {
            let session = &mut entry.session;
            while let Some(data) = entry.doc.with_doc(|doc| session.poll_message(doc, now_ms)) {
                let message = Message::for_document(
                    entry.finding.is_some(),
                    &self.config.peer_id,
                    &self.relay_peer,
                    *id,
                    data,
                );
                if socket
                    .send(WsMessage::Binary(message.encode().into()))
                    .await
                    .is_err()
                {
                    failed = true;
                    break;
                }
            }
            if failed {
                break;
            }
        }
        if failed {
            self.disconnected();
        }
    }
}

/// Answers (and removes) the waits whose condition now holds.
fn resolve(
    pending: &mut Vec<PendingAck>,
    docs: &mut HashMap<DocumentId, Entry>,
    holds: impl Fn(&mut Entry, &[ChangeHash]) -> bool,
) {
    let mut i = 0;
    while i < pending.len() {
        let (id, heads, _) = &pending[i];
        if docs.get_mut(id).is_some_and(|entry| holds(entry, heads)) {
            let (_, _, reply) = pending.swap_remove(i);
            let _ = reply.send(Ok(()));
        } else {
            i += 1;
        }
    }
}

/// Connects and joins; returns the socket and the relay's peer id.
async fn open(config: &ClientConfig) -> Result<(Socket, String), ClientError> {
    let url = with_token(&config.url, &config.token);
    let mut ws_config = WebSocketConfig::default();
    ws_config.max_message_size = Some(64 << 20);
    ws_config.max_frame_size = Some(64 << 20);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(ws_config), true)
        .await
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let join = Message::join(&config.peer_id, true);
    socket
        .send(WsMessage::Binary(join.encode().into()))
        .await
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    loop {
        match socket.next().await {
            Some(Ok(WsMessage::Binary(bytes))) => match Message::decode(&bytes) {
                Ok(Message::Peer { sender_id, .. }) => return Ok((socket, sender_id)),
                Ok(Message::Error { message, .. }) => return Err(ClientError::Relay(message)),
                Ok(other) => tracing::debug!(message = other.type_name(), "ignored before peer"),
                Err(e) => tracing::warn!(error = %e, "malformed frame while joining"),
            },
            Some(Ok(WsMessage::Close(frame))) => {
                return Err(ClientError::Connect(format!(
                    "closed during join: {frame:?}"
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ClientError::Connect(e.to_string())),
            None => return Err(ClientError::Connect("closed during join".into())),
        }
    }
}

/// The URL with `token` added to its query; a URL with no path gets `/` (a bare `?query` after the host
/// is not a valid request target).
fn with_token(url: &str, token: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("ws", url));
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    format!(
        "{scheme}://{authority}{path}{separator}token={}",
        percent_encode(token)
    )
}

/// Up to 50% extra, so clients that lost the relay together do not return together.
fn jittered(base: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// Tokens are URL-safe in practice (JWTs are base64url); escape anything else.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::with_token;

    #[test]
    fn the_token_is_added_to_any_url_shape() {
        assert_eq!(with_token("ws://h:1/sync", "t"), "ws://h:1/sync?token=t");
        assert_eq!(with_token("ws://h:1", "t"), "ws://h:1/?token=t");
        assert_eq!(with_token("ws://h:1?x=1", "t"), "ws://h:1/?x=1&token=t");
        assert_eq!(
            with_token("wss://h/sync?x=1", "a b"),
            "wss://h/sync?x=1&token=a%20b"
        );
    }
}
