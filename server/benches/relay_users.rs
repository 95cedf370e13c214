//! Many users on one relay over real WebSockets: figures for the concurrency work, not a timed test.
//!
//! - `users`: `BENCH_USERS` (200) users with `BENCH_THREADS` (5) threads each; `BENCH_STREAMING` (50)
//!   of them stream into a thread (one change per 100 ms, as the batched token deltas) followed live
//!   by a second device, for `BENCH_SECS` (20) seconds. Device-to-device latency p50 / p99 / max,
//!   changes/s, relay RSS and CPU.
//! - `heavy`: the same, with one document of `BENCH_HEAVY_CHANGES` (40,000) changes cold-loaded by
//!   two devices a third of the way in. The other users' p99 should stay within 2× the `users` run.
//! - `idle`: `BENCH_IDLE` (1,000) joined idle WebSocket connections: relay RSS per connection, and
//!   how fast an idle connection and a new one are answered.
//!
//! `BENCH_MODE=users,heavy,idle` picks runs; `RELAY_BIN` runs another relay binary (e.g. an older
//! build, for before/after figures). Every run is bounded (a few minutes at most).
//!
//! `cargo bench -p chatsync-relay --bench relay_users`

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chatsync_client::{Client, ClientConfig};
use chatsync_model::automerge::transaction::Transactable;
use chatsync_model::automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use chatsync_protocol::{DocumentId, Message, PeerMetadata};
use chatsync_relay::auth::Auth;
use chatsync_relay::storage::{SqliteStorage, Storage};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SECRET: &str = "benchmark-secret-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(60);
const STREAM_EVERY: Duration = Duration::from_millis(100);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

impl Relay {
    fn start(data: &Path) -> Self {
        let port = free_port();
        let bin = std::env::var("RELAY_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_chatsync-relay").to_owned());
        let log = std::fs::File::create(data.join("relay.log")).unwrap();
        let child = Command::new(bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .args(["--max-tcp-connections", "20000"])
            .env("CHATSYNC_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn,chatsync_relay::open_files=info")
            .stdin(Stdio::null())
            // The relay logs to stdout.
            .stdout(log.try_clone().unwrap())
            .stderr(log)
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

    /// CPU time used so far (user + system), from /proc (clock ticks of 10 ms).
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
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

/// A document of `changes` changes, as a long streamed reply makes: text spliced in, one change each.
fn heavy_document(changes: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    let text = doc.put_object(ROOT, "content", ObjType::Text).unwrap();
    for n in 0..changes {
        doc.splice_text(&text, n * 6, 0, "token ").unwrap();
        doc.commit();
    }
    doc
}

struct Heavy {
    id: DocumentId,
    changes: usize,
}

/// Stores the heavy document straight into the relay's database, compacted, before the relay starts.
async fn seed_heavy(data: &Path, changes: usize) -> Heavy {
    let started = Instant::now();
    let mut doc = heavy_document(changes);
    let storage = SqliteStorage::open(data).await.unwrap();
    let id = new_id();
    let bytes = doc.save();
    storage
        .append(&id, "heavy", &bytes, &doc.get_heads())
        .await
        .unwrap();
    storage.compact(&id, &bytes).await.unwrap();
    storage.close().await;
    println!(
        "  heavy document: {changes} changes, {} compacted (made in {})",
        mb(bytes.len() as u64),
        ms(started.elapsed())
    );
    Heavy { id, changes }
}

async fn users_run(heavy_changes: Option<usize>) {
    let (users, threads) = (knob("BENCH_USERS", 200), knob("BENCH_THREADS", 5));
    let streaming = knob("BENCH_STREAMING", 50).min(users);
    let secs = knob("BENCH_SECS", 20) as u64;
    let data = tempfile::tempdir().unwrap();
    let heavy = match heavy_changes {
        Some(changes) => Some(seed_heavy(data.path(), changes).await),
        None => None,
    };
    let relay = Relay::start(data.path());
    let url = relay.url();

    // Every user opens a device and makes their threads; the streaming ones also a second device
    // that follows the streamed thread.
    let setup = Instant::now();
    let mut writers = Vec::new();
    for u in 0..users {
        let (url, user) = (url.clone(), format!("user{u}"));
        writers.push(tokio::spawn(async move {
            let a = connect(&url, &user, &format!("{user}-a")).await;
            let mut ids = Vec::new();
            for t in 0..threads {
                let id = new_id();
                let mut doc = AutoCommit::new();
                doc.put_object(ROOT, "content", ObjType::Text).unwrap();
                doc.put(ROOT, "title", format!("thread {t}")).unwrap();
                let heads = doc.get_heads();
                a.insert(id, doc).await.unwrap();
                a.acknowledged(id, heads, WAIT).await.unwrap();
                ids.push(id);
            }
            (user, a, ids)
        }));
    }
    let mut devices = Vec::new();
    for w in writers {
        devices.push(w.await.unwrap());
    }
    let mut pairs = Vec::new();
    for (user, a, ids) in devices.iter().take(streaming) {
        let b = connect(&url, user, &format!("{user}-b")).await;
        b.find(ids[0], WAIT).await.unwrap();
        pairs.push((a.clone(), b, ids[0]));
    }
    println!(
        "  {users} users × {threads} threads, {streaming} streaming for {secs} s (set up in {})",
        ms(setup.elapsed())
    );

    let samples = Arc::new(Mutex::new(Vec::new()));
    let (rss_before, cpu_before) = (relay.rss(), relay.cpu());
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for (s, (a, b, id)) in pairs.into_iter().enumerate() {
        let samples = samples.clone();
        tasks.push(tokio::spawn(async move {
            // Spread the streams over the 100 ms tick.
            tokio::time::sleep(STREAM_EVERY * s as u32 / streaming as u32).await;
            let mut tick = tokio::time::interval(STREAM_EVERY);
            let mut n = 0;
            while Instant::now() < until {
                tick.tick().await;
                let sent = Instant::now();
                let heads = a
                    .change(id, move |doc| {
                        let text = match doc.get(ROOT, "content").unwrap() {
                            Some((_, obj)) => obj,
                            None => unreachable!("made with content"),
                        };
                        doc.splice_text(&text, n * 24, 0, " token token token token")
                            .unwrap();
                    })
                    .await
                    .unwrap();
                n += 1;
                b.holds(id, heads, WAIT).await.unwrap();
                samples.lock().unwrap().push(sent.elapsed());
            }
        }));
    }
    let mut cold_loads = Vec::new();
    if let Some(heavy) = &heavy {
        tokio::time::sleep(Duration::from_secs(secs) / 3).await;
        let rss = relay.rss();
        let started = Instant::now();
        let mut loads = Vec::new();
        for device in ["heavy-1", "heavy-2"] {
            let (url, id) = (url.clone(), heavy.id);
            loads.push(tokio::spawn(async move {
                let c = connect(&url, "heavy", device).await;
                c.find(id, WAIT).await.unwrap();
                // Its next message starts a normal session: the relay loads the document then.
                c.change(id, |doc| doc.put(ROOT, "opened", 1).unwrap())
                    .await
                    .unwrap();
                let heads = c.get(id).await.unwrap().get_heads();
                c.acknowledged(id, heads, WAIT).await.unwrap();
                (started.elapsed(), c)
            }));
        }
        for load in loads {
            cold_loads.push(load.await.unwrap());
        }
        println!(
            "  heavy document ({} changes) cold-loaded and written by two devices: {} and {}; relay RSS {} before, {} after",
            heavy.changes,
            ms(cold_loads[0].0),
            ms(cold_loads[1].0),
            mb(rss),
            mb(relay.rss())
        );
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let cpu = relay.cpu() - cpu_before;
    let mut samples = std::mem::take(&mut *samples.lock().unwrap());
    samples.sort();
    println!(
        "  device-to-device latency: p50 {}  p99 {}  max {}  ({} changes, {:.0} changes/s)",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  relay RSS {} before streaming, {} after; relay CPU {:.0}% of one core",
        mb(rss_before),
        mb(relay.rss()),
        cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0
    );
    drop(devices);
    relay.stop();
}

/// One raw joined WebSocket, kept read (so pings are answered) by a task of its own. Returns a
/// sender of frames and a receiver of the relay's binary messages.
async fn idle_socket(
    url: &str,
    user: &str,
) -> (
    tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let (ws, _) = tokio_tungstenite::connect_async(format!("{url}?token={}", token(user)))
        .await
        .expect("connect");
    let (mut sink, mut stream) = ws.split();
    let (to_relay, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let (incoming, from_relay) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = outgoing.recv() => match frame {
                    Some(bytes) => { if sink.send(WsMessage::Binary(bytes.into())).await.is_err() { break } }
                    None => break,
                },
                frame = stream.next() => match frame {
                    Some(Ok(WsMessage::Binary(bytes))) => { let _ = incoming.send(bytes.to_vec()); }
                    Some(Ok(_)) => {}
                    _ => break,
                },
            }
        }
    });
    to_relay
        .send(
            Message::Join {
                sender_id: user.to_owned(),
                peer_metadata: PeerMetadata::default(),
                supported_protocol_versions: vec!["1".into()],
            }
            .encode(),
        )
        .unwrap();
    (to_relay, from_relay)
}

async fn idle_run() {
    let count = knob("BENCH_IDLE", 1_000);
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(data.path());
    let url = relay.url();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = relay.rss();
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(count);
    for i in 0..count {
        let (tx, mut rx) = idle_socket(&url, &format!("idle{i}")).await;
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("a peer message")
            .expect("open");
        sockets.push((tx, rx));
    }
    let joined = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = relay.rss();
    // Every 1 in 100 idle connections asks for a document it does not have: how fast is it answered?
    let mut answers = Vec::new();
    for (i, (tx, rx)) in sockets.iter_mut().enumerate().step_by(100) {
        let asked = Instant::now();
        tx.send(
            Message::Request {
                sender_id: format!("idle{i}"),
                target_id: "relay".into(),
                document_id: new_id(),
                data: chatsync_protocol::DocSession::new()
                    .poll_message(&mut AutoCommit::new(), 0)
                    .unwrap(),
            }
            .encode(),
        )
        .unwrap();
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("an answer")
            .expect("open");
        answers.push(asked.elapsed());
    }
    answers.sort();
    let fresh = Instant::now();
    let (_tx, mut rx) = idle_socket(&url, "late").await;
    rx.recv().await.expect("a peer message");
    let late = fresh.elapsed();
    println!(
        "  {count} joined idle connections (joined in {}): relay RSS {} → {}, {:.1} KB each",
        ms(joined),
        mb(rss_before),
        mb(rss_after),
        (rss_after.saturating_sub(rss_before)) as f64 / count as f64 / 1e3
    );
    println!(
        "  an idle connection answered in p50 {} max {} ({} asked); a new connection joined in {}",
        ms(percentile(&answers, 0.5)),
        ms(answers.last().copied().unwrap_or_default()),
        answers.len(),
        ms(late)
    );
    let log = std::fs::read_to_string(data.path().join("relay.log"));
    match log
        .as_deref()
        .map(|log| log.lines().find(|l| l.contains("open-files")))
    {
        Ok(Some(line)) => println!("  relay log: {}", line.trim()),
        other => println!("  relay log: no open-files line ({other:?})"),
    }
    drop(sockets);
    relay.stop();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let modes = std::env::var("BENCH_MODE").unwrap_or_else(|_| "users,heavy,idle".into());
    println!("relay multi-user benchmark: 2 cores shared with the clients, loopback\n");
    for mode in modes.split(',') {
        match mode.trim() {
            "users" => {
                println!("users:");
                users_run(None).await;
            }
            "heavy" => {
                println!("heavy:");
                users_run(Some(knob("BENCH_HEAVY_CHANGES", 40_000))).await;
            }
            "idle" => {
                println!("idle:");
                idle_run().await;
            }
            other => panic!("unknown BENCH_MODE {other}: users, heavy or idle"),
        }
        println!();
    }
}
