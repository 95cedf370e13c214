//! The PostgreSQL the tests use: `CHATSYNC_TEST_DATABASE_URL` (scripts/test-postgres.sh starts a
//! private cluster and sets it), a fresh database per test, and a TCP proxy in front of it that a test
//! can cut and restore to play a database outage without disturbing the other tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The server's URL, or `None` (with a message) when the tests are to be skipped. In CI (`CI` set)
/// or under scripts/test.sh (`CHATSYNC_REQUIRE_POSTGRES` set) a missing URL fails the test instead:
/// there the PostgreSQL tests must run.
pub fn server_url() -> Option<String> {
    match std::env::var("CHATSYNC_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some()
            || std::env::var_os("CHATSYNC_REQUIRE_POSTGRES").is_some() =>
        {
            panic!(
                "CHATSYNC_TEST_DATABASE_URL is not set, and the PostgreSQL tests must run here: \
                 run them through scripts/test.sh (it sources scripts/test-postgres.sh)"
            )
        }
        _ => {
            eprintln!(
                "skipped: CHATSYNC_TEST_DATABASE_URL is not set (`source scripts/test-postgres.sh` starts a private PostgreSQL and sets it)"
            );
            None
        }
    }
}

/// A new, empty database on the test server; its URL. `None` when the tests are skipped.
pub async fn fresh_database() -> Option<String> {
    let server = server_url()?;
    let name = format!(
        "chatsync_test_{}",
        automerge::ActorId::random().to_hex_string()
    );
    let admin = sqlx::PgPool::connect(&server)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create a test database");
    admin.close().await;
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    Some(format!("{base}/{name}"))
}

/// `url` with its host and port replaced by `addr` (to go through a [`Proxy`]).
pub fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').expect("a URL with a database");
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{addr}/{path}")
}

/// A TCP proxy to the database that can be cut (every connection dropped, new ones refused at once)
/// and restored.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    accept: JoinHandle<()>,
}

struct ProxyState {
    up: bool,
    connections: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy to the server of `url`.
    pub async fn start(url: &str) -> Self {
        let (_, rest) = url.split_once("://").unwrap();
        let authority = rest.split_once('/').unwrap().0;
        let target = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host)
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ProxyState {
            up: true,
            connections: Vec::new(),
        }));
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    let mut s = state.lock().unwrap();
                    if !s.up {
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    s.connections.push(tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }));
                }
            }
        });
        Self {
            addr,
            state,
            accept,
        }
    }

    /// The database becomes unreachable: open connections drop, new ones are closed at once.
    pub fn cut(&self) {
        let mut s = self.state.lock().unwrap();
        s.up = false;
        for connection in s.connections.drain(..) {
            connection.abort();
        }
    }

    /// The database is reachable again.
    pub fn restore(&self) {
        self.state.lock().unwrap().up = true;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
