//! Hostile input against a relay served on 127.0.0.1: each case must be refused with its close code at
//! once, while other users keep syncing, `/healthz` answers, and the connection's cleanup runs.

mod cases;
mod frames;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ROOT};
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata};
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Identity, Limits, Relay};
use chatsync_relay::storage::SqliteStorage;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long any answer may take. Generous for a debug build on a shared machine; the hostile cases
/// held a release relay for seconds, or forever.
pub const PROMPTLY: Duration = Duration::from_secs(3);

/// A relay served in this process on a free port, with development auth (the token is the user id).
pub struct TestRelay {
    pub addr: SocketAddr,
    pub relay: Arc<Relay<SqliteStorage>>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestRelay {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        let identity = Identity {
            storage_id: "hostile-test".into(),
            index_secret: b"index-secret".to_vec(),
        };
        let relay = Arc::new(Relay::new(
            storage,
            Auth::InsecureDev,
            Limits::default(),
            identity,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let (relay, shutdown) = (relay.clone(), shutdown.clone());
            async move {
                chatsync_relay::server::run(listener, relay, shutdown)
                    .await
                    .unwrap();
            }
        });
        Self {
            addr,
            relay,
            shutdown,
            task,
            _dir: dir,
        }
    }

    /// A WebSocket of `user`, not yet joined.
    pub async fn connect(&self, user: &str) -> Ws {
        let url = format!("ws://{}/sync?token={user}", self.addr);
        let (stream, _) = tokio::time::timeout(PROMPTLY, tokio_tungstenite::connect_async(url))
            .await
            .expect("the relay did not accept a WebSocket in time")
            .expect("connect");
        Ws {
            stream,
            peer: format!("{user}-device"),
        }
    }

    /// Whether `/healthz` answers `ok` within [`PROMPTLY`].
    pub async fn healthy(&self) -> bool {
        matches!(self.get("/healthz").await, Some(body) if body == "ok")
    }

    /// The `chatsync_connections` gauge of `/metrics`.
    pub async fn connections_gauge(&self) -> Option<u64> {
        let body = self.get("/metrics").await?;
        body.lines()
            .find_map(|l| l.strip_prefix("chatsync_connections "))
            .and_then(|v| v.trim().parse().ok())
    }

    /// A plain HTTP/1.1 GET's body, if it answers 200 within [`PROMPTLY`].
    async fn get(&self, path: &str) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr).await.ok()?;
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.addr
            );
            stream.write_all(request.as_bytes()).await.ok()?;
            let mut response = String::new();
            stream.read_to_string(&mut response).await.ok()?;
            let (head, body) = response.split_once("\r\n\r\n")?;
            head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
        };
        tokio::time::timeout(PROMPTLY, exchange).await.ok()?
    }

    /// Waits until every connection's cleanup has run (the gauge is back to 0), then checks that no
    /// document stays pinned in memory: an eviction far in the future frees them all.
    pub async fn assert_cleaned_up(&self) {
        let deadline = Instant::now() + PROMPTLY;
        while self.relay.metrics().connections.load(Ordering::Relaxed) != 0 {
            assert!(
                Instant::now() < deadline,
                "the connection gauge stays at {}",
                self.relay.metrics().connections.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(self.connections_gauge().await, Some(0));
        self.relay
            .evict(Instant::now() + Duration::from_secs(24 * 3600))
            .await;
        assert_eq!(
            self.relay.documents_loaded().await,
            0,
            "a document is held after its connections closed"
        );
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// One client WebSocket.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub peer: String,
}

impl Ws {
    pub async fn send(&mut self, frame: Vec<u8>) {
        self.stream
            .send(WsMessage::Binary(frame.into()))
            .await
            .unwrap();
    }

    /// Joins, and reads the relay's `peer`.
    pub async fn join(&mut self) {
        let join = Message::Join {
            sender_id: self.peer.clone(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec!["1".into()],
        };
        self.send(join.encode()).await;
        assert!(matches!(self.message().await, Message::Peer { .. }));
    }

    pub async fn sync(&mut self, document_id: DocumentId, data: Vec<u8>) {
        let sync = Message::Sync {
            sender_id: self.peer.clone(),
            target_id: "relay".into(),
            document_id,
            data,
        };
        self.send(sync.encode()).await;
    }

    /// The next wire message from the relay.
    pub async fn message(&mut self) -> Message {
        loop {
            let frame = tokio::time::timeout(PROMPTLY, self.stream.next())
                .await
                .expect("the relay said nothing in time")
                .expect("the socket ended")
                .expect("the socket failed");
            if let WsMessage::Binary(bytes) = frame {
                return Message::decode(&bytes).unwrap();
            }
        }
    }

    /// The close code the relay ends the socket with, reading past anything before it; `None` if the
    /// socket ends without a close frame.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.stream.next().await? {
                Ok(WsMessage::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Syncs a document of `changes` changes to the relay until the relay has acknowledged it all.
    pub async fn store(&mut self, document_id: DocumentId, changes: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        for i in 0..changes {
            doc.put(ROOT, format!("key{i}"), i as i64).unwrap();
            doc.commit();
        }
        let mut session = DocSession::new();
        for _ in 0..20 {
            while let Some(data) = session.poll_message(&mut doc, 0) {
                self.sync(document_id, data).await;
            }
            match self.message().await {
                Message::Sync { data, .. } => session.receive(&mut doc, &data).unwrap(),
                other => panic!("unexpected {other:?}"),
            }
            let heads = doc.get_heads();
            if session.has_acknowledged(&mut doc, &heads) {
                return doc;
            }
        }
        panic!("the relay never acknowledged the document");
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
        // Read to the end, so the relay's side has seen the close.
        while let Some(Ok(_)) = self.stream.next().await {}
    }
}

/// A fresh document id from `n`.
pub fn document_id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}
