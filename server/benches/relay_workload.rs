//! The relay benchmark, side by side with the JS automerge-repo sync server in the same run.
//!
//! Workload (as in shared/reference/automerge-repo-wire.md): one thread of `BENCH_MESSAGES` (default
//! 1,000) messages, each streamed as 50 token deltas, written by device A (one change per 4 deltas, as
//! 100 ms batches at 40 tokens/s), followed live by device B, then cold-loaded by a third device, warm
//! and after a server restart. Reported: changes per second (A writing as fast as acknowledgements
//! allow), device-to-device latency (A's change until B holds it; p50/p95 over 200 single changes),
//! server RSS, bytes on disk, cold-load time.
//! Targets: p50 ≤ 10 ms; cold load ≤ 300 ms; relay RSS ≤ a third of the JS server's.
//!
//! `cargo bench -p chatsync-relay --bench relay_workload` (needs `npm install` in tests/js, which
//! scripts/setup.sh does).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use chatsync_client::{Client, ClientConfig};
use chatsync_model::automerge::ActorId;
use chatsync_model::{
    Limits, MessageEnd, MessageId, MessageStatus, NewMessage, Role, Thread, ThreadId, ThreadInit,
};
use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;

const SECRET: &str = "benchmark-secret-0123456789abcdef";
const DELTAS: usize = 50;
const DELTAS_PER_CHANGE: usize = 4;
const LATENCY_SAMPLES: usize = 200;
const WAIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Chatsync,
    JsReference,
}

struct Running {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js")
}

fn start(server: Server, data: &Path, port: u16) -> Running {
    let mut child = match server {
        Server::Chatsync => Command::new(env!("CARGO_BIN_EXE_chatsync-relay"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .env("CHATSYNC_JWT_SECRET", SECRET)
            .env(
                "RUST_LOG",
                std::env::var("RELAY_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relay binary"),
        Server::JsReference => Command::new("node")
            .args(["peer.mjs", "server", &port.to_string()])
            .arg(data)
            .current_dir(js_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node and tests/js installed"),
    };
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            if line == "ready" {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Running { child, port }
}

impl Running {
    fn url(&self, server: Server) -> String {
        match server {
            Server::Chatsync => format!("ws://127.0.0.1:{}/sync", self.port),
            Server::JsReference => format!("ws://127.0.0.1:{}", self.port),
        }
    }

    /// (current RSS, peak RSS) in bytes, from /proc.
    fn rss(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGTERM, so each server shuts down as it would in production, then waits.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
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

async fn connect(url: &str, peer: &str) -> Client {
    let token =
        Auth::jwt(SECRET.as_bytes()).issue("bench", Duration::from_secs(3600), SystemTime::now());
    Client::connect(ClientConfig::new(url, token, peer))
        .await
        .expect("connect")
}

async fn find(client: &Client, id: DocumentId) -> Duration {
    let started = Instant::now();
    loop {
        match client.find(id, WAIT).await {
            Ok(_) => return started.elapsed(),
            Err(_) if started.elapsed() < WAIT => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("cold load failed: {e}"),
        }
    }
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

struct Report {
    changes: usize,
    write_time: Duration,
    latency: Vec<Duration>,
    /// The local part of each latency sample: A's write through the model, before any network.
    local: Vec<Duration>,
    rss: (u64, u64),
    /// RSS after a restart and one cold load: the document loaded, none of the streaming's garbage.
    rss_restarted: u64,
    disk: u64,
    cold_warm: Duration,
    cold_restarted: Duration,
}

async fn run(server: Server, messages: usize) -> Report {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let running = start(server, data.path(), port);
    let url = running.url(server);
    let a = connect(&url, "device-a").await;
    let b = connect(&url, "device-b").await;

    let id = DocumentId::new_v4(ActorId::random().to_bytes().try_into().unwrap());
    let thread_id = ThreadId::new(id.to_string()).unwrap();
    let thread = Thread::create(
        ThreadInit::new(thread_id, ActorId::from(b"device-a".to_vec()), 1),
        Limits::default(),
    )
    .unwrap();
    a.create_thread(id, thread).await.unwrap();
    let heads = a.get(id).await.unwrap().get_heads();
    a.acknowledged(id, heads, WAIT).await.unwrap();
    find(&b, id).await;

    // Throughput: A streams every message, a change per 4 deltas, without waiting between changes.
    let started = Instant::now();
    let mut changes = 0;
    let mut now = 10;
    let mut last = Vec::new();
    for m in 0..messages {
        let message_id = MessageId::new(format!("m{m}")).unwrap();
        let start = NewMessage::new(message_id.clone(), Role::Assistant, "");
        now += 1;
        let at = now;
        a.change_thread(id, move |t| t.append_message(start, at))
            .await
            .unwrap();
        changes += 1;
        for batch in 0..DELTAS / DELTAS_PER_CHANGE + 1 {
            let message_id = message_id.clone();
            now += 100;
            let at = now;
            let tokens: String = (0..DELTAS_PER_CHANGE)
                .filter(|d| batch * DELTAS_PER_CHANGE + d < DELTAS)
                .map(|d| format!(" token{}", batch * DELTAS_PER_CHANGE + d))
                .collect();
            if tokens.is_empty() {
                continue;
            }
            a.change_thread(id, move |t| t.append_delta(&message_id, &tokens, at))
                .await
                .unwrap();
            changes += 1;
        }
        let end = MessageEnd {
            status: MessageStatus::Complete,
            usage: None,
        };
        (_, last) = a
            .change_thread(id, move |t| t.finish_message(&message_id, end, now + 1))
            .await
            .unwrap();
        changes += 1;
    }
    a.acknowledged(id, last.clone(), WAIT)
        .await
        .expect("the server acknowledges the stream");
    let write_time = started.elapsed();
    b.holds(id, last, WAIT).await.expect("B follows the stream");

    // Latency: single changes, each timed until B holds it.
    let mut latency = Vec::with_capacity(LATENCY_SAMPLES);
    let mut local = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let message = NewMessage::new(MessageId::new(format!("l{i}")).unwrap(), Role::User, "ping");
        now += 1;
        let at = now;
        let started = Instant::now();
        let (_, heads) = a
            .change_thread(id, move |t| t.append_message(message, at))
            .await
            .unwrap();
        local.push(started.elapsed());
        b.holds(id, heads, WAIT)
            .await
            .expect("B receives the change");
        latency.push(started.elapsed());
    }
    latency.sort();
    local.sort();
    let rss = running.rss();
    a.close();
    b.close();

    let c = connect(&url, "device-c").await;
    let cold_warm = find(&c, id).await;
    c.close();
    running.stop();
    let disk = dir_bytes(data.path());
    let running = start(server, data.path(), port);
    let d = connect(&running.url(server), "device-d").await;
    let cold_restarted = find(&d, id).await;
    let rss_restarted = running.rss().0;
    d.close();
    running.stop();
    Report {
        changes,
        write_time,
        latency,
        local,
        rss,
        rss_restarted,
        disk,
        cold_warm,
        cold_restarted,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let messages: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(1_000);
    println!(
        "relay workload: {messages} messages × {DELTAS} deltas, a change per {DELTAS_PER_CHANGE} deltas; 2 cores, loopback\n"
    );
    let mut reports = Vec::new();
    // BENCH_SERVERS=chatsync (or js) runs one side only, e.g. for profiling.
    let only = std::env::var("BENCH_SERVERS").unwrap_or_default();
    let servers = [
        (Server::Chatsync, "chatsync-relay", "chatsync"),
        (
            Server::JsReference,
            "JS automerge-repo-sync-server 0.2.8",
            "js",
        ),
    ];
    for (server, name, _) in servers
        .into_iter()
        .filter(|(_, _, key)| only.is_empty() || only == *key)
    {
        let r = run(server, messages).await;
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
        println!("{name}:");
        println!(
            "  changes/s (A streaming, until acknowledged): {:.0} ({} changes in {})",
            r.changes as f64 / r.write_time.as_secs_f64(),
            r.changes,
            ms(r.write_time)
        );
        println!(
            "  device-to-device latency: p50 {}  p95 {}  max {}  ({} samples)",
            ms(percentile(&r.latency, 0.5)),
            ms(percentile(&r.latency, 0.95)),
            ms(*r.latency.last().unwrap()),
            r.latency.len()
        );
        println!(
            "    of which A's local write through the model: p50 {}",
            ms(percentile(&r.local, 0.5))
        );
        println!(
            "  server RSS: {} now, {} peak; {} after a restart and one cold load",
            mb(r.rss.0),
            mb(r.rss.1),
            mb(r.rss_restarted)
        );
        println!("  bytes on disk: {} ({} bytes)", mb(r.disk), r.disk);
        println!(
            "  cold load by a third device: {} warm, {} after a server restart\n",
            ms(r.cold_warm),
            ms(r.cold_restarted)
        );
        reports.push(r);
    }
    let [ours, js] = &reports[..] else { return };
    println!(
        "chatsync vs JS: latency p50 {:.2}×, changes/s {:.2}×, peak RSS {:.2}×, disk {:.2}×, cold load (restarted) {:.2}×",
        percentile(&ours.latency, 0.5).as_secs_f64() / percentile(&js.latency, 0.5).as_secs_f64(),
        (ours.changes as f64 / ours.write_time.as_secs_f64())
            / (js.changes as f64 / js.write_time.as_secs_f64()),
        ours.rss.1 as f64 / js.rss.1 as f64,
        ours.disk as f64 / js.disk as f64,
        ours.cold_restarted.as_secs_f64() / js.cold_restarted.as_secs_f64(),
    );
}
