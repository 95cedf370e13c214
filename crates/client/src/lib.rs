//! # chatsync-client
//!
//! A native (tokio) chatsync client, for backends, tests and load generation. [`Client::connect`]
//! starts a driver task that owns the WebSocket and every document the client holds. The protocol
//! is [`chatsync_protocol::Link`]'s — join, one sync session per document, fetches, acknowledgements,
//! reconnecting with backoff and jitter and resuming each document from the heads it shared with the
//! relay; the driver only carries frames, timers and the client's calls to and from it.
//!
//! Documents are plain Automerge documents keyed by [`DocumentId`]; a thread is one whose content is a
//! [`chatsync_model::Thread`] (see [`Client::thread`]).
#![warn(missing_docs)]

mod driver;
mod relays;
mod replica;
mod socket;

use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};
use chatsync_model::{Index, Limits, ListOptions, Thread, ThreadId, ThreadSummary};
use chatsync_protocol::DocumentId;
use tokio::sync::{mpsc, oneshot};

use driver::{Command, Driver};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The relay could not be reached or refused the WebSocket (e.g. a bad token: HTTP 401).
    #[error("could not connect: {0}")]
    Connect(String),
    /// The relay does not have the document, or will not show it to this user.
    #[error("document {0} unavailable")]
    Unavailable(DocumentId),
    /// The document is not held by this client.
    #[error("document {0} is not open in this client")]
    NotOpen(DocumentId),
    /// The wait ran out.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The client's driver has stopped (the client was closed).
    #[error("the client is closed")]
    Closed,
    /// The relay refused something and said why.
    #[error("relay error: {0}")]
    Relay(String),
    /// A document's content is not a valid thread.
    #[error("model: {0}")]
    Model(#[from] chatsync_model::ModelError),
}

/// How to reach the relay.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The relay's sync URL, e.g. `ws://127.0.0.1:8787/sync` (one relay, or a load balancer in front
    /// of several).
    pub url: String,
    /// Other relays' sync URLs (several relays on one database), tried in turn after `url` whenever
    /// a dial fails or the connection is lost, with the same backoff. Empty by default.
    pub fallback_urls: Vec<String>,
    /// The token (JWT, or the user id with a development relay).
    pub token: String,
    /// This client's peer id (unique per device or process).
    pub peer_id: String,
    /// First reconnect delay; it doubles up to `max_backoff`, with up to 50% random jitter.
    pub min_backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
}

impl ClientConfig {
    /// A config with backoff from 100 ms to 5 s.
    pub fn new(
        url: impl Into<String>,
        token: impl Into<String>,
        peer_id: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            fallback_urls: Vec::new(),
            token: token.into(),
            peer_id: peer_id.into(),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl ClientConfig {
    /// This config with `urls` as fallbacks, tried in turn after [`ClientConfig::url`].
    pub fn with_fallbacks(mut self, urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.fallback_urls = urls.into_iter().map(Into::into).collect();
        self
    }
}

/// A handle to the client's driver. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
}

impl Client {
    /// Connects (the first connection must succeed — to `url` or, failing that, to one of the
    /// fallbacks in turn — so a bad URL or token fails here) and starts the driver.
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let driver = Driver::connect(config, receiver).await?;
        tokio::spawn(driver.run());
        Ok(Self { commands })
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .map_err(|_| ClientError::Closed)?;
        answer.await.map_err(|_| ClientError::Closed)
    }

    /// Starts holding `doc` under `id` and syncs it to the relay.
    pub async fn insert(&self, id: DocumentId, doc: AutoCommit) -> Result<(), ClientError> {
        self.call(|reply| Command::Insert {
            id,
            doc: Box::new(doc),
            reply,
        })
        .await
    }

    /// Fetches a document from the relay and holds it; fails if the relay does not have it for us.
    pub async fn find(&self, id: DocumentId, timeout: Duration) -> Result<AutoCommit, ClientError> {
        let found = self.call(|reply| Command::Find { id, reply });
        match tokio::time::timeout(timeout, found).await {
            Ok(result) => result?,
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    /// Changes a held document and syncs the change. Returns the new heads.
    pub async fn change(
        &self,
        id: DocumentId,
        change: impl FnOnce(&mut AutoCommit) + Send + 'static,
    ) -> Result<Vec<ChangeHash>, ClientError> {
        self.call(|reply| Command::Change {
            id,
            change: Box::new(change),
            reply,
        })
        .await?
    }

    /// A copy of a held document.
    pub async fn get(&self, id: DocumentId) -> Result<AutoCommit, ClientError> {
        self.call(|reply| Command::Get { id, reply }).await?
    }

    /// Waits until the relay has acknowledged `heads` of document `id` (its advertised heads include
    /// them, which it advertises only once they are stored).
    pub async fn acknowledged(
        &self,
        id: DocumentId,
        heads: Vec<ChangeHash>,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let acked = self.call(|reply| Command::WaitAck { id, heads, reply });
        match tokio::time::timeout(timeout, acked).await {
            Ok(result) => result?,
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    /// Waits until this client holds `heads` of document `id` — changes another device made, arrived
    /// through the relay.
    pub async fn holds(
        &self,
        id: DocumentId,
        heads: Vec<ChangeHash>,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let arrived = self.call(|reply| Command::WaitHeads { id, heads, reply });
        match tokio::time::timeout(timeout, arrived).await {
            Ok(result) => result?,
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    /// A held document read as a thread.
    pub async fn thread(&self, id: DocumentId) -> Result<Thread, ClientError> {
        let mut doc = self.get(id).await?;
        let thread_id = ThreadId::new(id.to_string())?;
        let bytes = doc.save();
        Ok(Thread::load(
            thread_id,
            &bytes,
            automerge::ActorId::random(),
            Limits::default(),
        )?)
    }

    /// Starts holding a new thread and syncs it to the relay. Its document id is the thread id.
    pub async fn create_thread(&self, id: DocumentId, thread: Thread) -> Result<(), ClientError> {
        self.insert(id, thread.into_automerge()).await
    }

    /// Writes to a held thread through the model, and syncs the change. Returns what `write` returned
    /// and the new heads; a refused write changes nothing. The thread stays wrapped in the model
    /// between writes, so its caches stay warm.
    pub async fn change_thread<R: Send + 'static>(
        &self,
        id: DocumentId,
        write: impl FnOnce(&mut Thread) -> Result<R, chatsync_model::ModelError> + Send + 'static,
    ) -> Result<(R, Vec<ChangeHash>), ClientError> {
        let (result_tx, result_rx) = oneshot::channel();
        let write: driver::ThreadWrite = Box::new(move |thread| {
            let _ = result_tx.send(write(thread));
        });
        let heads = self
            .call(|reply| Command::ChangeThread { id, write, reply })
            .await??;
        let result = result_rx.await.map_err(|_| ClientError::Closed)??;
        Ok((result, heads))
    }

    /// Writes to a held index document (a user's thread list, whose id `/api/me` gives) through the
    /// model, and syncs the change. A refused write changes nothing.
    pub async fn change_index<R: Send + 'static>(
        &self,
        id: DocumentId,
        write: impl FnOnce(&mut Index) -> Result<R, chatsync_model::ModelError> + Send + 'static,
    ) -> Result<(R, Vec<ChangeHash>), ClientError> {
        let (result_tx, result_rx) = oneshot::channel();
        let heads = self
            .change(id, move |doc| {
                let mut index = Index::from_automerge(std::mem::take(doc));
                let _ = result_tx.send(write(&mut index));
                *doc = index.into_automerge();
            })
            .await?;
        let result = result_rx.await.map_err(|_| ClientError::Closed)??;
        Ok((result, heads))
    }

    /// The threads a held index document lists, latest activity first.
    pub async fn list_threads(
        &self,
        id: DocumentId,
        options: ListOptions,
    ) -> Result<Vec<ThreadSummary>, ClientError> {
        Ok(Index::from_automerge(self.get(id).await?).list(options))
    }

    /// Stops the driver; the connection closes.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}
