//! What the hostile cases share: storage in memory, a relay over it, and channel-driven connections.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatsync_protocol::automerge::ChangeHash;
use chatsync_protocol::{DocumentId, Message, PeerMetadata};
use chatsync_relay::auth::{Auth, Verified};
use chatsync_relay::relay::{Frame, Identity, Inbound, Limits, Relay, serve_verified_connection};
use chatsync_relay::storage::{Storage, StorageError, StoredDocument};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Storage in memory: no database thread, so tests can pause tokio's clock. It can be told to panic
/// on append, standing in for any bug deep inside a connection's handling. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct MemoryStorage(Arc<Shared>);

#[derive(Default)]
pub struct Shared {
    documents: Mutex<HashMap<DocumentId, StoredDocument>>,
    settings: Mutex<HashMap<String, Vec<u8>>>,
    /// Appends panic while set.
    pub panic_on_append: AtomicBool,
    /// How often `bytes_stored` was called.
    pub size_queries: AtomicUsize,
}

impl std::ops::Deref for MemoryStorage {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl MemoryStorage {
    /// Whether `id` has anything stored.
    pub fn holds(&self, id: &DocumentId) -> bool {
        self.documents.lock().unwrap().contains_key(id)
    }
}

impl Storage for MemoryStorage {
    async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        Ok(self.documents.lock().unwrap().get(id).cloned())
    }

    async fn owner(&self, id: &DocumentId) -> Result<Option<String>, StorageError> {
        Ok(self
            .documents
            .lock()
            .unwrap()
            .get(id)
            .map(|d| d.owner.clone()))
    }

    async fn append(
        &self,
        id: &DocumentId,
        owner: &str,
        chunk: &[u8],
        heads: &[ChangeHash],
    ) -> Result<u64, StorageError> {
        assert!(
            !self.panic_on_append.load(Ordering::SeqCst),
            "storage double told to panic on append"
        );
        let mut documents = self.documents.lock().unwrap();
        let doc = documents.entry(*id).or_insert_with(|| StoredDocument {
            owner: owner.to_owned(),
            snapshot: Vec::new(),
            chunks: Vec::new(),
            heads: Vec::new(),
        });
        if doc.owner != owner {
            return Err(StorageError::NotOwner(*id));
        }
        doc.chunks.push(chunk.to_vec());
        doc.heads = heads.to_vec();
        Ok(doc.chunks.iter().map(|c| c.len() as u64).sum())
    }

    async fn compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
        if let Some(doc) = self.documents.lock().unwrap().get_mut(id) {
            doc.snapshot = snapshot.to_vec();
            doc.chunks.clear();
        }
        Ok(())
    }

    async fn setting_or_init(&self, key: &str, initial: &[u8]) -> Result<Vec<u8>, StorageError> {
        Ok(self
            .settings
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_insert_with(|| initial.to_vec())
            .clone())
    }

    async fn purge(&self, id: &DocumentId, _owner: &str) -> Result<u64, StorageError> {
        Err(StorageError::Io(std::io::Error::other(format!(
            "this test double does not purge ({id})"
        ))))
    }

    async fn is_purged(&self, _id: &DocumentId) -> Result<bool, StorageError> {
        Ok(false)
    }

    async fn owners(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, StorageError> {
        let documents = self.documents.lock().unwrap();
        let mut owners: Vec<String> = documents
            .values()
            .map(|d| d.owner.clone())
            .filter(|o| after.is_none_or(|a| o.as_str() > a))
            .collect();
        owners.sort();
        owners.dedup();
        owners.truncate(limit as usize);
        Ok(owners)
    }

    async fn close(&self) {}

    async fn bytes_stored(&self) -> Result<u64, StorageError> {
        self.size_queries.fetch_add(1, Ordering::SeqCst);
        let documents = self.documents.lock().unwrap();
        Ok(documents
            .values()
            .map(|d| d.snapshot.len() as u64 + d.chunks.iter().map(|c| c.len() as u64).sum::<u64>())
            .sum())
    }
}

/// A relay over [`MemoryStorage`] with development auth.
pub struct Harness {
    pub relay: Arc<Relay<MemoryStorage>>,
    pub storage: MemoryStorage,
    pub shutdown: CancellationToken,
}

impl Harness {
    pub fn new(limits: Limits) -> Self {
        Self::with_auth(limits, Auth::InsecureDev)
    }

    pub fn with_auth(limits: Limits, auth: Auth) -> Self {
        let storage = MemoryStorage::default();
        let identity = Identity {
            storage_id: "hostile".into(),
            index_secret: b"index-secret".to_vec(),
        };
        let relay = Arc::new(Relay::new(storage.clone(), auth, limits, identity));
        Self {
            relay,
            storage,
            shutdown: CancellationToken::new(),
        }
    }

    /// A connection of `user` (whose token never expires) named `peer`, driven through channels.
    pub fn connect(&self, user: &str, peer: &str) -> Conn {
        self.connect_verified(
            Verified {
                user: user.into(),
                expires_at: None,
            },
            peer,
        )
    }

    /// A connection opened with `verified`, named `peer`.
    pub fn connect_verified(&self, verified: Verified, peer: &str) -> Conn {
        let (to_relay, inbound) = mpsc::unbounded_channel();
        let (outbound, from_relay) = mpsc::unbounded_channel();
        let inbound = Box::pin(futures_util::stream::unfold(inbound, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        }));
        let outbound = Box::pin(futures_util::sink::unfold(
            outbound,
            |tx, frame: Frame| async move {
                tx.send(frame).map_err(|_| ())?;
                Ok::<_, ()>(tx)
            },
        ));
        let task = tokio::spawn(serve_verified_connection(
            self.relay.clone(),
            verified,
            inbound,
            outbound,
            self.shutdown.clone(),
        ));
        Conn {
            to_relay,
            from_relay,
            peer: peer.to_owned(),
            task,
        }
    }
}

/// One side of a channel-driven connection.
pub struct Conn {
    pub to_relay: mpsc::UnboundedSender<Inbound>,
    pub from_relay: mpsc::UnboundedReceiver<Frame>,
    pub peer: String,
    pub task: tokio::task::JoinHandle<()>,
}

/// Long enough for anything on a paused clock (where waiting costs nothing).
const PATIENCE: Duration = Duration::from_secs(3_600);

impl Conn {
    pub fn send(&self, message: Message) {
        let _ = self.to_relay.send(Inbound::Binary(message.encode()));
    }

    pub fn sync(&self, document_id: DocumentId, data: Vec<u8>) {
        self.send(Message::Sync {
            sender_id: self.peer.clone(),
            target_id: "relay".into(),
            document_id,
            data,
        });
    }

    /// The next frame, pings included.
    pub async fn next_frame(&mut self) -> Frame {
        tokio::time::timeout(PATIENCE, self.from_relay.recv())
            .await
            .expect("the relay said nothing")
            .expect("the connection ended without a close")
    }

    /// The next frame that is not a ping.
    pub async fn next(&mut self) -> Frame {
        loop {
            match self.next_frame().await {
                Frame::Ping(_) => continue,
                frame => return frame,
            }
        }
    }

    pub async fn next_message(&mut self) -> Message {
        match self.next().await {
            Frame::Binary(bytes) => Message::decode(&bytes).unwrap(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The error message, close code and close reason that end a refused connection.
    pub async fn refusal(&mut self) -> (String, u16, String) {
        let message = match self.next_message().await {
            Message::Error { message, .. } => message,
            other => panic!("expected an error, got {other:?}"),
        };
        match self.next().await {
            Frame::Close { code, reason } => (message, code, reason),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    pub async fn join(&mut self) {
        self.send(Message::Join {
            sender_id: self.peer.clone(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec!["1".into()],
        });
        assert!(matches!(self.next_message().await, Message::Peer { .. }));
    }

    /// Waits for the connection's task to end (its cleanup included).
    pub async fn ended(self) {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the connection never ended")
            .expect("the connection task panicked");
    }
}

pub fn doc_id(n: u32) -> DocumentId {
    let mut bytes = [7u8; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    DocumentId::from_bytes(bytes)
}

/// Polls `check` until it holds (on a paused clock, instantly), or fails after `PATIENCE`.
pub async fn eventually(mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never happened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The relay of `h` serving HTTP on a free loopback port until its shutdown fires.
pub async fn serve_http(
    h: &Harness,
    options: chatsync_relay::server::ServeOptions,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(chatsync_relay::server::run_with(
        listener,
        h.relay.clone(),
        h.shutdown.clone(),
        options,
    ));
    addr
}

/// Sends `request` as is and reads until the relay closes: the status (0 if none) and the body.
pub async fn raw_request(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("the relay kept the connection open");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `GET path` with `Connection: close`.
pub async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    raw_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"),
    )
    .await
}
