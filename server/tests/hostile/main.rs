//! Hostile input against the relay, each case bounded so the suite runs in CI.
//!
//! - `frames`: hostile wire frames against a relay served on 127.0.0.1: each must be refused with its
//!   close code at once, while other users keep syncing, `/healthz` answers, and the connection's
//!   cleanup runs.
//! - `limits` and `sockets`: deadlines, caps and budgets; timing cases run on tokio's paused clock over
//!   the channel-driven connection loop, socket cases take a few seconds at most.

mod cases;
mod frames;
mod limits;
mod sockets;
mod support;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Identity, Limits, Relay};
use chatsync_relay::storage::SqliteStorage;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub use ws::{Outcome, PROMPTLY, Ws};

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
        ws::connect(self.addr, user).await
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

/// A fresh document id from `n`.
pub fn document_id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}
