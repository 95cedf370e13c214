//! Test support: a relay on 127.0.0.1 with a free port and its own data directory, and clients for it.
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chatsync_client::{Client, ClientConfig};
use chatsync_model::automerge::ActorId;
use chatsync_model::{Limits, Thread, ThreadId, ThreadInit};
use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Identity, Limits as RelayLimits, Relay};
use chatsync_relay::storage::{SqliteStorage, relay_identity};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The secret test relays sign tokens with.
pub const SECRET: &[u8] = b"integration-test-secret-0123456789";

/// A relay running in this process.
pub struct TestRelay {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory (kept across restarts).
    pub data_dir: PathBuf,
    /// Its auth, to issue tokens.
    pub auth: Auth,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl TestRelay {
    /// Starts a relay on a free port, storing into `data_dir`.
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_on(data_dir, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts a relay on `addr` (to restart one where its clients expect it).
    pub async fn start_on(data_dir: &Path, addr: SocketAddr) -> Self {
        let auth = Auth::jwt(SECRET);
        let storage = SqliteStorage::open(data_dir).await.expect("storage");
        let (storage_id, index_secret) = relay_identity(&storage).await.expect("identity");
        let identity = Identity {
            storage_id,
            index_secret,
        };
        let relay = Arc::new(Relay::new(
            storage,
            auth.clone(),
            RelayLimits::default(),
            identity,
        ));
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                chatsync_relay::server::run(listener, relay, shutdown)
                    .await
                    .expect("relay");
            }
        });
        Self {
            addr,
            data_dir: data_dir.to_owned(),
            auth,
            shutdown,
            task,
        }
    }

    /// The sync URL.
    pub fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// A token for `user`, valid for an hour.
    pub fn token(&self, user: &str) -> String {
        self.auth
            .issue(user, Duration::from_secs(3600), SystemTime::now())
    }

    /// A connected client for `user` named `peer`.
    pub async fn client(&self, user: &str, peer: &str) -> Client {
        let mut config = ClientConfig::new(self.url(), self.token(user), peer);
        config.min_backoff = Duration::from_millis(20);
        config.max_backoff = Duration::from_millis(200);
        Client::connect(config).await.expect("connect")
    }

    /// Stops the relay gracefully and waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// A fresh, random document id.
pub fn new_document_id() -> DocumentId {
    DocumentId::new_v4(ActorId::random().to_bytes().try_into().expect("16 bytes"))
}

/// A fresh thread id / document id pair.
pub fn new_thread_id() -> (DocumentId, ThreadId) {
    let bytes: [u8; 16] = ActorId::random().to_bytes().try_into().expect("16 bytes");
    let id = DocumentId::new_v4(bytes);
    (id, ThreadId::new(id.to_string()).unwrap())
}

/// A new empty thread written by `device`.
pub fn new_thread(id: ThreadId, device: &str, now_ms: u64) -> Thread {
    let actor = ActorId::from(device.as_bytes().to_vec());
    Thread::create(ThreadInit::new(id, actor, now_ms), Limits::default()).unwrap()
}

/// Polls `check` every 10 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Logs to the test output when `RUST_LOG` is set (e.g. `RUST_LOG=debug,sqlx=warn`).
pub fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// A plain HTTP/1.1 GET (no client library needed for a few checks): the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
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
