//! What the API cases share: a relay on 127.0.0.1 with a free port (JWT auth, SQLite in a temporary
//! directory), an HTTP client over hyper, and a native sync client.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chatsync_client::{Client, ClientConfig};
use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Identity, Limits, Relay};
use chatsync_relay::storage::{SqliteStorage, relay_identity};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SECRET: &[u8] = b"api-test-secret-0123456789abcdef";

/// Every request of the suite is bounded by this.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestRelay {
    pub addr: SocketAddr,
    pub relay: Arc<Relay<SqliteStorage>>,
    pub auth: Auth,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl TestRelay {
    pub async fn start() -> Self {
        Self::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let mut relay = Self::start_in(&path, limits).await;
        relay._dir = Some(dir);
        relay
    }

    pub async fn start_in(data_dir: &Path, limits: Limits) -> Self {
        let auth = Auth::jwt(SECRET);
        let storage = SqliteStorage::open(data_dir).await.unwrap();
        let (storage_id, index_secret) = relay_identity(&storage).await.unwrap();
        let identity = Identity {
            storage_id,
            index_secret,
        };
        let relay = Arc::new(Relay::new(storage, auth.clone(), limits, identity));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
            auth,
            data_dir: data_dir.to_owned(),
            _dir: None,
            shutdown,
            task,
        }
    }

    pub fn token(&self, user: &str) -> String {
        self.auth
            .issue(user, Duration::from_secs(3600), SystemTime::now())
    }

    /// A user's API client.
    pub fn api(&self, user: &str) -> Api {
        Api {
            addr: self.addr,
            token: Some(self.token(user)),
        }
    }

    /// A connected native client of `user`.
    pub async fn client(&self, user: &str, peer: &str) -> Client {
        let mut config =
            ClientConfig::new(format!("ws://{}/sync", self.addr), self.token(user), peer);
        config.min_backoff = Duration::from_millis(20);
        config.max_backoff = Duration::from_millis(200);
        Client::connect(config).await.unwrap()
    }

    pub fn index_of(&self, user: &str) -> DocumentId {
        self.relay.index_document_id(user)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(DEADLINE, self.task).await;
    }
}

/// A thread id nobody has used.
pub fn fresh_id() -> String {
    let bytes: [u8; 16] = chatsync_protocol::automerge::ActorId::random()
        .to_bytes()
        .try_into()
        .unwrap();
    DocumentId::new_v4(bytes).to_string()
}

/// An answer: the status and the JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The `value` of a 200, or a panic naming what came instead.
    pub fn value(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        &self.body["value"]
    }

    /// The error code (asserting the status too).
    pub fn error(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.body["message"].is_string(), "{}", self.body);
        self.body["code"].as_str().unwrap()
    }
}

/// One user's HTTP API client.
#[derive(Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub token: Option<String>,
}

impl Api {
    pub async fn mutation(&self, path: &str, args: Value) -> Answer {
        self.post(
            "/api/mutation",
            json!({ "path": path, "args": args })
                .to_string()
                .into_bytes(),
        )
        .await
    }

    pub async fn query(&self, path: &str, args: Value) -> Answer {
        self.post(
            "/api/query",
            json!({ "path": path, "args": args })
                .to_string()
                .into_bytes(),
        )
        .await
    }

    /// A whole body, as given.
    pub async fn post(&self, path: &str, body: Vec<u8>) -> Answer {
        let request = self
            .request(path)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        send(self.addr, request).await
    }

    fn request(&self, path: &str) -> hyper::http::request::Builder {
        let mut builder = hyper::Request::post(path).header("host", self.addr.to_string());
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder
    }

    /// A streamed body: lines go out as they are sent on the returned sender; dropping it ends the
    /// body cleanly, and `StreamingRequest::cut` closes the connection mid-body.
    pub async fn stream(&self) -> StreamingRequest {
        self.stream_to("/api/stream").await
    }

    /// A streamed body to any path.
    pub async fn stream_to(&self, path: &str) -> StreamingRequest {
        let (lines, rx) = mpsc::unbounded_channel::<Bytes>();
        let body = StreamBody::new(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), rx))
        }));
        let request = self
            .request(path)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .unwrap();
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util_io(tcp))
            .await
            .unwrap();
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = tokio::spawn(async move {
            let response = sender.send_request(request).await.ok()?;
            Some(read_answer(response).await)
        });
        StreamingRequest {
            lines: Some(lines),
            connection,
            response,
        }
    }
}

pub struct StreamingRequest {
    lines: Option<mpsc::UnboundedSender<Bytes>>,
    connection: JoinHandle<()>,
    response: JoinHandle<Option<Answer>>,
}

impl StreamingRequest {
    /// Sends one NDJSON line.
    pub fn line(&self, value: Value) {
        let mut text = value.to_string();
        text.push('\n');
        self.raw(text.into_bytes());
    }

    pub fn raw(&self, bytes: Vec<u8>) {
        let _ = self.lines.as_ref().unwrap().send(Bytes::from(bytes));
    }

    /// Ends the body cleanly and waits for the answer.
    pub async fn end(mut self) -> Answer {
        self.lines = None;
        tokio::time::timeout(DEADLINE, self.response)
            .await
            .expect("an answer in time")
            .unwrap()
            .expect("an answer")
    }

    /// Closes the connection mid-body, as a backend that crashed.
    pub fn cut(self) {
        self.connection.abort();
        self.response.abort();
    }
}

async fn send<B>(addr: SocketAddr, request: hyper::Request<B>) -> Answer
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util_io(tcp))
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = sender.send_request(request).await.unwrap();
        read_answer(response).await
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("an answer in time")
}

async fn read_answer(response: hyper::Response<hyper::body::Incoming>) -> Answer {
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "a {status} answer that is not JSON: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer { status, body }
}

fn hyper_util_io(tcp: TcpStream) -> hyper_util::rt::TokioIo<TcpStream> {
    hyper_util::rt::TokioIo::new(tcp)
}
