//! The HTTP API benchmark, against the relay binary on 127.0.0.1 with a native client as the user's
//! device:
//!
//! - backend delta → device seen: p50/p95 over `STREAM_DELTAS` deltas of one `/api/stream` reply
//!   sent every 20 ms (batched by the relay at most every 100 ms), and over `MUTATION_SAMPLES`
//!   `messages:appendDelta` mutations (one change each, sent one after the other);
//! - mutations per second: `messages:appendDelta` and `messages:append` one request at a time (the
//!   latter into one thread growing to `SEQUENTIAL_MUTATIONS` messages: each write walks the thread's
//!   message tree, so the rate falls as it grows), then 8 backends at once on threads of their own;
//! - the relay's CPU time (utime + stime from /proc) for one streamed reply of `CPU_DELTAS` deltas
//!   at 10 ms, less an idle spell as long.
//!
//! `cargo bench -p chatsync-relay --bench api`

#[path = "../tests/api/support.rs"]
mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatsync_client::{Client, ClientConfig};
use chatsync_model::{Limits, MessageId, ReadAt, Thread, ThreadId};
use chatsync_protocol::DocumentId;
use serde_json::json;
use support::{Api, SECRET};

const STREAM_DELTAS: usize = 300;
const MUTATION_SAMPLES: usize = 200;
const SEQUENTIAL_MUTATIONS: usize = 1_000;
const CONCURRENT_BACKENDS: usize = 8;
const CONCURRENT_MUTATIONS: usize = 250;
const CPU_DELTAS: usize = 500;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &std::path::Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_chatsync-relay"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .env("CHATSYNC_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("CHATSYNC_MAX_API_REQUESTS_PER_SECOND", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the relay did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// The relay's CPU time so far (user + system), from /proc/<pid>/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second: u64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap_or(100);
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} samples)",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
        samples.len()
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The content of message `message` as the device holds it.
async fn device_content(device: &Client, id: DocumentId, message: &MessageId) -> String {
    let doc = device.get(id).await.unwrap();
    let thread = Thread::from_automerge(
        ThreadId::new(id.to_string()).unwrap(),
        doc,
        Limits::default(),
    )
    .unwrap();
    thread
        .message(message, ReadAt::new(now_ms()))
        .map(|m| m.content)
        .unwrap_or_default()
}

/// Watches the device until `count` markers (`|`) are in the message; when each was first seen.
fn watch(
    device: Arc<Client>,
    id: DocumentId,
    message: MessageId,
    count: usize,
) -> tokio::task::JoinHandle<Vec<Instant>> {
    tokio::spawn(async move {
        let mut seen = Vec::with_capacity(count);
        while seen.len() < count {
            let markers = device_content(&device, id, &message)
                .await
                .matches('|')
                .count();
            let now = Instant::now();
            while seen.len() < markers.min(count) {
                seen.push(now);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        seen
    })
}

async fn new_thread(api: &Api) -> (String, DocumentId) {
    let created = api
        .mutation("threads:create", json!({ "title": "bench" }))
        .await;
    let t = created.value()["id"].as_str().unwrap().to_owned();
    let id = t.parse().unwrap();
    (t, id)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut relay = start(dir.path(), port);
    let token = chatsync_relay::auth::Auth::jwt(SECRET).issue(
        "alice",
        Duration::from_secs(3600),
        std::time::SystemTime::now(),
    );
    let api = Api {
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        token: Some(token.clone()),
    };
    let device = Arc::new(
        Client::connect(ClientConfig::new(
            format!("ws://127.0.0.1:{port}/sync"),
            token,
            "device",
        ))
        .await
        .unwrap(),
    );

    // 1. A streamed reply: delta sent → device holds it.
    let (t, id) = new_thread(&api).await;
    device.find(id, Duration::from_secs(5)).await.unwrap();
    let reply = MessageId::new("r").unwrap();
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = watch(device.clone(), id, reply.clone(), STREAM_DELTAS);
    let mut sent = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..STREAM_DELTAS {
        tick.tick().await;
        sent.push(Instant::now());
        stream.line(json!({ "delta": "tok|" }));
    }
    stream.line(json!({ "finish": { "status": "complete" } }));
    stream.end().await.value();
    let seen = seen.await.unwrap();
    report(
        "/api/stream delta → device seen (a delta every 20 ms)",
        seen.iter()
            .zip(&sent)
            .map(|(s, t)| s.saturating_duration_since(*t))
            .collect(),
    );

    // 2. messages:appendDelta mutations, one at a time.
    let (t, id) = new_thread(&api).await;
    device.find(id, Duration::from_secs(5)).await.unwrap();
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "r", "role": "assistant" }),
    )
    .await
    .value();
    let mut samples = Vec::new();
    let mut answered = Vec::new();
    for i in 1..=MUTATION_SAMPLES {
        let started = Instant::now();
        api.mutation(
            "messages:appendDelta",
            json!({ "threadId": t, "messageId": "r", "text": "tok|" }),
        )
        .await
        .value();
        answered.push(started.elapsed());
        loop {
            if device_content(&device, id, &reply)
                .await
                .matches('|')
                .count()
                >= i
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        samples.push(started.elapsed());
    }
    let total: Duration = answered.iter().sum();
    println!(
        "messages:appendDelta, one request at a time: {:.0} mutations/s",
        answered.len() as f64 / total.as_secs_f64()
    );
    report("messages:appendDelta request → 200 (stored)", answered);
    report("messages:appendDelta request → device seen", samples);

    // 3. Mutations per second.
    let (t, _) = new_thread(&api).await;
    let started = Instant::now();
    for _ in 0..SEQUENTIAL_MUTATIONS {
        api.mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "hello there" }),
        )
        .await
        .value();
    }
    let rate = SEQUENTIAL_MUTATIONS as f64 / started.elapsed().as_secs_f64();
    println!(
        "messages:append, one request at a time, one thread growing to {SEQUENTIAL_MUTATIONS} messages: {rate:.0} mutations/s"
    );
    let mut threads = Vec::new();
    for _ in 0..CONCURRENT_BACKENDS {
        threads.push(new_thread(&api).await.0);
    }
    let started = Instant::now();
    let tasks: Vec<_> = threads
        .into_iter()
        .map(|t| {
            let api = api.clone();
            tokio::spawn(async move {
                for _ in 0..CONCURRENT_MUTATIONS {
                    api.mutation(
                        "messages:append",
                        json!({ "threadId": t, "role": "user", "content": "hello there" }),
                    )
                    .await
                    .value();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let total = CONCURRENT_BACKENDS * CONCURRENT_MUTATIONS;
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "messages:append, {CONCURRENT_BACKENDS} backends at once on their own threads: {rate:.0} mutations/s"
    );

    // 4. The relay's CPU for one streamed reply (with one device following it).
    let (t, id) = new_thread(&api).await;
    device.find(id, Duration::from_secs(5)).await.unwrap();
    let spell = Duration::from_millis(10) * CPU_DELTAS as u32;
    let idle_start = cpu_time(relay.id());
    tokio::time::sleep(spell).await;
    let idle = cpu_time(relay.id()).saturating_sub(idle_start);
    let busy_start = cpu_time(relay.id());
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..CPU_DELTAS {
        tick.tick().await;
        stream.line(json!({ "delta": "token " }));
    }
    stream.line(json!({ "finish": { "status": "complete" } }));
    stream.end().await.value();
    let busy = cpu_time(relay.id()).saturating_sub(busy_start);
    println!(
        "relay CPU for one streamed reply ({CPU_DELTAS} deltas over {:.1} s, one device following): {:.0} ms (idle over as long: {:.0} ms)",
        spell.as_secs_f64(),
        busy.saturating_sub(idle).as_secs_f64() * 1e3,
        idle.as_secs_f64() * 1e3
    );
    device.close();
    relay.kill().unwrap();
    relay.wait().unwrap();
}
