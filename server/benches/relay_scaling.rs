//! One relay vs several on one PostgreSQL database: figures for `docs/scaling.md`, not a timed test.
//!
//! For each relay count in `BENCH_RELAYS` (`1,2`): that many relay binaries on a fresh database,
//! `BENCH_USERS` (100) users with a device each spread over the relays, `BENCH_STREAMING` (40) of
//! them also with a second device following one thread — on the same relay for half of them, on
//! another relay for the rest (when there is one).
//!
//! - latency: each streaming device writes one change per 100 ms (the batched token deltas) for
//!   `BENCH_SECS` (10) s; device-to-device p50 / p99, same relay vs across relays.
//! - throughput: every streaming device writes back to back, each change waiting for its
//!   acknowledgement, for `BENCH_SECS` s: acknowledged changes/s in all.
//! - RSS per relay and the database's size at the end.
//!
//! `BENCH_RELAYS=sqlite,1,2` also measures one relay on SQLite (the embedded default) first.
//!
//! Needs `CHATSYNC_TEST_DATABASE_URL` (`source scripts/test-postgres.sh`).
//! `cargo bench -p chatsync-relay --bench relay_scaling`

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chatsync_client::{Client, ClientConfig};
use chatsync_model::automerge::transaction::Transactable;
use chatsync_model::automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;

const SECRET: &str = "benchmark-secret-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(60);
const STREAM_EVERY: Duration = Duration::from_millis(100);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn token(user: &str) -> String {
    Auth::jwt(SECRET.as_bytes()).issue(user, Duration::from_secs(3600), SystemTime::now())
}

fn new_id() -> DocumentId {
    DocumentId::new_v4(ActorId::random().to_bytes().try_into().unwrap())
}

struct Relay {
    child: Child,
    port: u16,
}

/// Where the relays store.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Setup {
    /// One relay on its own SQLite file (the embedded default), for comparison.
    Sqlite,
    /// This many relays on one PostgreSQL database.
    Postgres(usize),
}

impl Relay {
    /// A relay on `database_url`, or on SQLite in `data_dir` when there is no URL.
    fn start(database_url: Option<&str>, data_dir: &std::path::Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatsync-relay"));
        command.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
        match database_url {
            Some(url) => command.env("CHATSYNC_DATABASE_URL", url),
            None => command.arg("--data-dir").arg(data_dir),
        };
        let child = command
            .env("CHATSYNC_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relay binary");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "relay did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/sync", self.port)
    }

    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(url: &str, user: &str, peer: &str) -> Client {
    Client::connect(ClientConfig::new(url, token(user), peer))
        .await
        .expect("connect")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// A fresh database on the server `CHATSYNC_TEST_DATABASE_URL` names.
async fn fresh_database(server: &str) -> String {
    let name = format!("chatsync_bench_{}", ActorId::random().to_hex_string());
    let admin = sqlx::PgPool::connect(server).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    format!("{}/{name}", server.rsplit_once('/').unwrap().0)
}

async fn database_size(url: &str) -> u64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    size.max(0) as u64
}

/// One streaming user: the writing device, the following one, the thread, and whether they are on
/// different relays.
struct Pair {
    a: Client,
    b: Client,
    id: DocumentId,
    across: bool,
}

/// Appends a few tokens to the thread's text through `device`; the heads after.
async fn write(device: &Client, id: DocumentId, n: usize) -> Vec<automerge::ChangeHash> {
    device
        .change(id, move |doc| {
            let Some((_, text)) = doc.get(ROOT, "content").unwrap() else {
                unreachable!("made with content")
            };
            doc.splice_text(&text, n * 24, 0, " token token token token")
                .unwrap();
        })
        .await
        .unwrap()
}

async fn run(server: &str, setup: Setup) {
    let (users, streaming) = (knob("BENCH_USERS", 100), knob("BENCH_STREAMING", 40));
    let secs = knob("BENCH_SECS", 10) as u64;
    let data_dir = tempfile::tempdir().unwrap();
    let (database, relay_count) = match setup {
        Setup::Sqlite => (None, 1),
        Setup::Postgres(n) => (Some(fresh_database(server).await), n),
    };
    let relays: Vec<Relay> = (0..relay_count)
        .map(|_| Relay::start(database.as_deref(), data_dir.path()))
        .collect();
    let urls: Vec<String> = relays.iter().map(Relay::url).collect();
    match setup {
        Setup::Sqlite => print!("1 relay on SQLite"),
        Setup::Postgres(n) => print!("{n} relay(s) on one PostgreSQL database"),
    }
    println!(": {users} users, {streaming} streaming, {secs} s a phase");

    let mut pairs = Vec::new();
    let mut idle = Vec::new();
    for u in 0..users {
        let user = format!("user{u}");
        let home = u % relay_count;
        let a = connect(&urls[home], &user, &format!("{user}-a")).await;
        let id = new_id();
        let mut doc = AutoCommit::new();
        doc.put_object(ROOT, "content", ObjType::Text).unwrap();
        let heads = doc.get_heads();
        a.insert(id, doc).await.unwrap();
        a.acknowledged(id, heads, WAIT).await.unwrap();
        if u < streaming {
            // Every other streaming user follows on another relay, when there is one.
            let across = relay_count > 1 && u % 2 == 1;
            let other = if across {
                (home + 1) % relay_count
            } else {
                home
            };
            let b = connect(&urls[other], &user, &format!("{user}-b")).await;
            b.find(id, WAIT).await.unwrap();
            pairs.push(Pair { a, b, id, across });
        } else {
            idle.push(a);
        }
    }

    // Latency: one change per 100 ms per stream.
    let samples = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    let pairs = Arc::new(pairs);
    for s in 0..pairs.len() {
        let (samples, pairs) = (samples.clone(), pairs.clone());
        tasks.push(tokio::spawn(async move {
            let Pair { a, b, id, across } = &pairs[s];
            tokio::time::sleep(STREAM_EVERY * s as u32 / pairs.len().max(1) as u32).await;
            let mut tick = tokio::time::interval(STREAM_EVERY);
            let mut n = 0;
            while Instant::now() < until {
                tick.tick().await;
                let sent = Instant::now();
                let heads = write(a, *id, n).await;
                n += 1;
                b.holds(*id, heads, WAIT).await.unwrap();
                let mut s = samples.lock().unwrap();
                if *across { &mut s.1 } else { &mut s.0 }.push(sent.elapsed());
            }
            n
        }));
    }
    let mut written = Vec::new();
    for t in tasks {
        written.push(t.await.unwrap());
    }
    let (mut same, mut across) = std::mem::take(&mut *samples.lock().unwrap());
    same.sort();
    across.sort();
    println!(
        "  latency, same relay:    p50 {}  p99 {}  ({} changes)",
        ms(percentile(&same, 0.5)),
        ms(percentile(&same, 0.99)),
        same.len()
    );
    if !across.is_empty() {
        println!(
            "  latency, across relays: p50 {}  p99 {}  ({} changes)",
            ms(percentile(&across, 0.5)),
            ms(percentile(&across, 0.99)),
            across.len()
        );
    }

    // Throughput: back to back, each change acknowledged before the next.
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for s in 0..pairs.len() {
        let (pairs, mut n) = (pairs.clone(), written[s]);
        tasks.push(tokio::spawn(async move {
            let Pair { a, id, .. } = &pairs[s];
            let mut acknowledged = 0u64;
            while Instant::now() < until {
                let heads = write(a, *id, n).await;
                n += 1;
                a.acknowledged(*id, heads, WAIT).await.unwrap();
                acknowledged += 1;
            }
            acknowledged
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        acknowledged += t.await.unwrap();
    }
    println!(
        "  throughput: {:.0} acknowledged changes/s ({acknowledged} in {:.1} s)",
        acknowledged as f64 / started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let rss: Vec<String> = relays.iter().map(|r| mb(r.rss())).collect();
    println!("  RSS per relay: {}", rss.join(", "));
    drop(idle);
    for pair in pairs.iter() {
        pair.a.close();
        pair.b.close();
    }
    for relay in relays {
        relay.stop();
    }
    let size = match &database {
        Some(url) => database_size(url).await,
        None => std::fs::metadata(data_dir.path().join("chatsync.sqlite3")).map_or(0, |m| m.len()),
    };
    println!("  database size after: {}", mb(size));
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a plain `cargo test --benches` would too.
    let Ok(server) = std::env::var("CHATSYNC_TEST_DATABASE_URL") else {
        println!(
            "skipped: CHATSYNC_TEST_DATABASE_URL is not set (`source scripts/test-postgres.sh`)"
        );
        return;
    };
    let setups = std::env::var("BENCH_RELAYS").unwrap_or_else(|_| "1,2".into());
    for setup in setups.split(',').map(str::trim) {
        match setup {
            "sqlite" => run(&server, Setup::Sqlite).await,
            n => match n.parse() {
                Ok(n) => run(&server, Setup::Postgres(n)).await,
                Err(_) => panic!("BENCH_RELAYS: {n:?} is neither a relay count nor `sqlite`"),
            },
        }
    }
}
