//! The driver task: the one owner of the socket and of every document the client holds. Protocol
//! decisions — joining, request or sync, when a fetch is complete, acknowledgements, resuming,
//! backoff — are the [`Link`]'s; this loop feeds it frames, commands and timeouts, sends what it
//! wants sent, dials when it says so, and answers the client's calls from its events.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use automerge::{AutoCommit, ChangeHash};
use chatsync_model::Thread;
use chatsync_protocol::{
    BackoffConfig, Disconnect, DocumentId, Link, LinkConfig, LinkEvent, holds_all,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::relays::Relays;
use crate::replica::{Replica, Replicas};
use crate::socket::{self, Socket};
use crate::{ClientConfig, ClientError};

/// How long new local changes wait for the reply to the message in flight before going out anyway:
/// streaming writes become one message per round trip.
const BATCH_HOLD: Duration = Duration::from_millis(50);

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

/// A wait for some heads of a document: acknowledged by the relay, or arrived here.
type PendingHeads = (
    DocumentId,
    Vec<ChangeHash>,
    oneshot::Sender<Result<(), ClientError>>,
);

/// Finds waiting for a document being fetched.
type Finds = HashMap<DocumentId, Vec<oneshot::Sender<Result<AutoCommit, ClientError>>>>;

pub(crate) struct Driver {
    config: ClientConfig,
    /// Where the link's dials go ([`Link::relay`] picks one).
    relays: Relays,
    commands: mpsc::UnboundedReceiver<Command>,
    socket: Option<Socket>,
    link: Link,
    docs: Replicas,
    finds: Finds,
    acks: Vec<PendingHeads>,
    /// Waits for this client to hold some heads (changes made elsewhere).
    arrivals: Vec<PendingHeads>,
    /// The link's clock starts here.
    started: Instant,
}

enum Input {
    Command(Option<Command>),
    Frame(Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>),
    Timeout,
}

impl Driver {
    /// Dials and joins once: a bad URL or token fails here rather than in the background.
    pub(crate) async fn connect(
        config: ClientConfig,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Result<Self, ClientError> {
        let relays = Relays::new(&config.url, &config.fallback_urls);
        let link = Link::new(LinkConfig {
            is_ephemeral: true,
            backoff: BackoffConfig {
                min: config.min_backoff,
                max: config.max_backoff,
            },
            batch_hold: Some(BATCH_HOLD),
            rng_seed: seed(&config.peer_id),
            relays: relays.len(),
            ..LinkConfig::new(config.peer_id.clone())
        });
        let mut driver = Self {
            config,
            relays,
            commands,
            socket: None,
            link,
            docs: Replicas::default(),
            finds: HashMap::new(),
            acks: Vec::new(),
            arrivals: Vec::new(),
            started: Instant::now(),
        };
        // The link's first event asks for the dial: each relay in turn, until one joins.
        while let Some(event) = driver.link.poll_event() {
            if matches!(event, LinkEvent::Dial) {
                let mut failures = Vec::new();
                for _ in 0..driver.relays.len() {
                    let url = driver.relay_url().to_owned();
                    match driver.dial_and_join().await {
                        Ok(()) => return Ok(driver),
                        Err(e) => failures.push(format!("{url}: {e}")),
                    }
                }
                return Err(ClientError::Connect(failures.join("; ")));
            }
        }
        Err(ClientError::Connect(
            "the link asked for no connection".into(),
        ))
    }

    /// The relay the link says to dial now.
    fn relay_url(&self) -> &str {
        self.relays.url(self.link.relay())
    }

    /// Opens the socket to the relay the link names and joins it. On failure the link hears of it
    /// (so it names the next relay), and the next relay is dialled at once (`handle_connected`
    /// starts a join from any state but closed), not after the backoff this schedules.
    async fn dial_and_join(&mut self) -> Result<(), ClientError> {
        let joined = match socket::open(&self.config, self.relay_url()).await {
            Ok(socket) => {
                self.socket = Some(socket);
                let now = self.now();
                self.link.handle_connected(now);
                self.join().await
            }
            Err((_, e)) => Err(ClientError::Connect(e.to_string())),
        };
        if joined.is_err() {
            self.socket = None;
            let now = self.now();
            self.link.handle_disconnected(now, Disconnect::Lost);
            while self.link.poll_event().is_some() {}
        }
        joined
    }

    /// Sends `join` and reads frames until the relay answers it.
    async fn join(&mut self) -> Result<(), ClientError> {
        self.send_transmits().await;
        loop {
            let Some(socket) = &mut self.socket else {
                return Err(ClientError::Connect("closed during join".into()));
            };
            match socket.next().await {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    let now = self.now();
                    if let Err(e) = self.link.handle_frame(now, &bytes, &mut self.docs) {
                        tracing::warn!(error = %e, "while joining");
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    return Err(ClientError::Connect(format!(
                        "closed during join: {frame:?}"
                    )));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(ClientError::Connect(e.to_string())),
                None => return Err(ClientError::Connect("closed during join".into())),
            }
            while let Some(event) = self.link.poll_event() {
                match event {
                    LinkEvent::Joined { .. } => return Ok(()),
                    LinkEvent::RelayError { message } => return Err(ClientError::Relay(message)),
                    _ => {}
                }
            }
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.carry_out().await;
            let wake = self.link.poll_timeout().map(|at| self.started + at);
            let input = match &mut self.socket {
                Some(socket) => tokio::select! {
                    command = self.commands.recv() => Input::Command(command),
                    frame = socket.next() => Input::Frame(frame),
                    () = sleep_until(wake) => Input::Timeout,
                },
                None => tokio::select! {
                    command = self.commands.recv() => Input::Command(command),
                    () = sleep_until(wake) => Input::Timeout,
                },
            };
            let now = self.now();
            match input {
                Input::Command(None | Some(Command::Close)) => {
                    self.link.close();
                    if let Some(mut socket) = self.socket.take() {
                        let _ = socket.close(None).await;
                    }
                    return;
                }
                Input::Command(Some(command)) => self.handle_command(command),
                Input::Frame(Some(Ok(WsMessage::Binary(bytes)))) => {
                    if let Err(e) = self.link.handle_frame(now, &bytes, &mut self.docs) {
                        tracing::warn!(error = %e, "ignored a frame from the relay");
                    }
                }
                Input::Frame(Some(Ok(WsMessage::Close(frame)))) => {
                    self.socket = None;
                    self.link.handle_disconnected(now, socket::closed(frame));
                }
                Input::Frame(None | Some(Err(_))) => {
                    self.socket = None;
                    self.link.handle_disconnected(now, Disconnect::Lost);
                }
                Input::Frame(Some(Ok(_))) => {}
                Input::Timeout => self.link.handle_timeout(now, &mut self.docs),
            }
        }
    }

    /// The link's clock: time since this driver started.
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Sends what the link has queued and acts on its events, until it has nothing more.
    async fn carry_out(&mut self) {
        loop {
            self.send_transmits().await;
            let Some(event) = self.link.poll_event() else {
                return;
            };
            self.handle_event(event).await;
        }
    }

    async fn send_transmits(&mut self) {
        while let Some(frame) = self.link.poll_transmit() {
            let Some(socket) = &mut self.socket else {
                return;
            };
            if socket.send(WsMessage::Binary(frame.into())).await.is_err() {
                self.socket = None;
                let now = self.now();
                self.link.handle_disconnected(now, Disconnect::Lost);
            }
        }
    }

    async fn handle_event(&mut self, event: LinkEvent) {
        match event {
            LinkEvent::Dial => match socket::open(&self.config, self.relay_url()).await {
                Ok(socket) => {
                    self.socket = Some(socket);
                    let now = self.now();
                    self.link.handle_connected(now);
                }
                Err((reason, e)) => {
                    tracing::debug!(relay = self.relay_url(), error = %e, "reconnect failed");
                    let now = self.now();
                    self.link.handle_disconnected(now, reason);
                }
            },
            LinkEvent::Joined { .. } => tracing::info!("joined the relay"),
            LinkEvent::Disconnected { reason, retry_at } => {
                tracing::info!(?reason, ?retry_at, "connection to the relay lost");
            }
            // This client has one token: it can only try it again, after the backoff.
            LinkEvent::CredentialsRefused { refusal } => {
                tracing::warn!(?refusal, "the relay refused the token");
                let now = self.now();
                self.link.credentials_renewed(now);
            }
            LinkEvent::RelayError { message } => {
                tracing::warn!(message, "the relay reported an error");
            }
            LinkEvent::Acknowledged { .. } => self.resolve_acks(),
            LinkEvent::Changed { .. } => self.resolve_arrivals(),
            LinkEvent::Fetched { document, doc } => {
                for waiting in self.finds.remove(&document).unwrap_or_default() {
                    let _ = waiting.send(Ok((*doc).clone()));
                }
                self.docs.0.insert(document, Replica::Doc(doc));
                self.resolve_arrivals();
            }
            LinkEvent::Unavailable { document } => {
                for waiting in self.finds.remove(&document).unwrap_or_default() {
                    let _ = waiting.send(Err(ClientError::Unavailable(document)));
                }
            }
            _ => {}
        }
    }

    fn handle_command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Insert { id, doc, reply } => {
                self.docs.0.insert(id, Replica::Doc(doc));
                self.link.hold(now, id, &mut self.docs);
                for waiting in self.finds.remove(&id).unwrap_or_default() {
                    let _ = waiting.send(Ok(self.copy(id).expect("inserted just above")));
                }
                let _ = reply.send(());
            }
            Command::Find { id, reply } => match self.copy(id) {
                Some(doc) => {
                    let _ = reply.send(Ok(doc));
                }
                None => {
                    self.finds.entry(id).or_default().push(reply);
                    self.link.fetch(now, id, AutoCommit::new());
                }
            },
            Command::Change { id, change, reply } => {
                let result = match self.docs.0.get_mut(&id) {
                    Some(replica) => Ok(replica.with_doc(|doc| {
                        change(doc);
                        doc.commit();
                        doc.get_heads()
                    })),
                    None => Err(ClientError::NotOpen(id)),
                };
                self.link.local_change(now, id, &mut self.docs);
                let _ = reply.send(result);
            }
            Command::ChangeThread { id, write, reply } => {
                let result = match self.docs.0.get_mut(&id) {
                    Some(replica) => replica.as_thread(id).map(|thread| {
                        write(thread);
                        thread.heads()
                    }),
                    None => Err(ClientError::NotOpen(id)),
                };
                self.link.local_change(now, id, &mut self.docs);
                let _ = reply.send(result);
            }
            Command::Get { id, reply } => {
                let _ = reply.send(self.copy(id).ok_or(ClientError::NotOpen(id)));
            }
            Command::WaitAck { id, heads, reply } => {
                if !self.docs.0.contains_key(&id) {
                    let _ = reply.send(Err(ClientError::NotOpen(id)));
                    return;
                }
                self.acks.push((id, heads, reply));
                self.resolve_acks();
            }
            Command::WaitHeads { id, heads, reply } => {
                if !self.docs.0.contains_key(&id) {
                    let _ = reply.send(Err(ClientError::NotOpen(id)));
                    return;
                }
                self.arrivals.push((id, heads, reply));
                self.resolve_arrivals();
            }
            Command::Close => {}
        }
    }

    /// A copy of a held document.
    fn copy(&mut self, id: DocumentId) -> Option<AutoCommit> {
        let replica = self.docs.0.get_mut(&id)?;
        Some(replica.with_doc(|doc| doc.clone()))
    }

    fn resolve_acks(&mut self) {
        let (link, docs) = (&mut self.link, &mut self.docs);
        answer_ready(&mut self.acks, |id, heads| {
            link.acknowledged(id, heads, docs)
        });
    }

    fn resolve_arrivals(&mut self) {
        let docs = &mut self.docs;
        answer_ready(&mut self.arrivals, |id, heads| {
            docs.0
                .get_mut(&id)
                .is_some_and(|replica| replica.with_doc(|doc| holds_all(doc, heads)))
        });
    }
}

/// Answers (and removes) the waits whose condition now holds.
fn answer_ready(
    pending: &mut Vec<PendingHeads>,
    mut holds: impl FnMut(DocumentId, &[ChangeHash]) -> bool,
) {
    let mut i = 0;
    while i < pending.len() {
        let (id, heads, _) = &pending[i];
        if holds(*id, heads) {
            let (_, _, reply) = pending.swap_remove(i);
            let _ = reply.send(Ok(()));
        } else {
            i += 1;
        }
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A jitter seed that differs per process and per peer, so clients that lost the relay together do
/// not come back together.
fn seed(peer_id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    peer_id.hash(&mut hasher);
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .hash(&mut hasher);
    hasher.finish()
}
