//! Relays in this process on PostgreSQL, and the native clients the tests drive them with.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT};
use chatsync_client::{Client, ClientConfig};
use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Identity, Limits, Relay};
use chatsync_relay::storage::{PostgresOptions, PostgresStorage, relay_identity};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SECRET: &[u8] = b"several-relays-test-secret-0123456789";
pub const WAIT: Duration = Duration::from_secs(15);

/// A relay in this process, on PostgreSQL.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub relay: Arc<Relay<PostgresStorage>>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl TestRelay {
    pub async fn start(options: &PostgresOptions) -> Self {
        let storage = PostgresStorage::open(options).await.expect("storage");
        let (storage_id, index_secret) = relay_identity(&storage).await.expect("identity");
        let identity = Identity {
            storage_id,
            index_secret,
        };
        let relay = Arc::new(Relay::new(
            storage,
            Auth::jwt(SECRET),
            Limits::default(),
            identity,
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let (relay, shutdown) = (relay.clone(), shutdown.clone());
            async move {
                chatsync_relay::server::run(listener, relay, shutdown)
                    .await
                    .expect("relay");
            }
        });
        Self {
            addr,
            relay,
            shutdown,
            task,
        }
    }

    pub async fn client(&self, user: &str, peer: &str) -> Client {
        client_at(&format!("ws://{}/sync", self.addr), &token(user), peer).await
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

pub fn token(user: &str) -> String {
    Auth::jwt(SECRET).issue(user, Duration::from_secs(3600), SystemTime::now())
}

pub async fn client_at(url: &str, token: &str, peer: &str) -> Client {
    let mut config = ClientConfig::new(url, token, peer);
    config.min_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_millis(200);
    Client::connect(config).await.expect("connect")
}

/// `n` relays on one fresh database; `None` when the PostgreSQL tests are skipped.
pub async fn relays(n: usize) -> Option<Vec<TestRelay>> {
    let url = super::support::fresh_database().await?;
    let options = PostgresOptions::new(url);
    let mut relays = Vec::new();
    for _ in 0..n {
        relays.push(TestRelay::start(&options).await);
    }
    Some(relays)
}

pub fn new_id() -> DocumentId {
    DocumentId::new_v4(
        automerge::ActorId::random()
            .to_bytes()
            .try_into()
            .expect("16 bytes"),
    )
}

pub async fn put(client: &Client, id: DocumentId, key: &str) -> Vec<ChangeHash> {
    let key = key.to_owned();
    client
        .change(id, move |doc| {
            doc.put(ROOT, key.as_str(), true).unwrap();
        })
        .await
        .unwrap()
}

/// `alice` creates a document through `client` and waits until the relay stored it.
pub async fn create(client: &Client) -> DocumentId {
    let id = new_id();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "created", true).unwrap();
    let heads = doc.get_heads();
    client.insert(id, doc).await.unwrap();
    client.acknowledged(id, heads, WAIT).await.unwrap();
    id
}
