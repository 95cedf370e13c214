//! Measures relay binaries against the hostile inputs of `tests/hostile/cases.rs`: for each case, a
//! fresh relay process on a free port, the input sent over a WebSocket, and then how it answered,
//! how long that took, its CPU time and peak RSS (from /proc), and how long a `/healthz` sent right
//! after the input waited. Linux only.
//!
//! ```text
//! cargo run --release -p chatsync-relay --example hostile_probe -- BINARY... [--only TEXT] [--give-up SECONDS]
//! ```

#[path = "../tests/hostile/cases.rs"]
mod cases;
#[path = "../tests/hostile/ws.rs"]
mod ws;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatsync_protocol::automerge::AutoCommit;
use chatsync_protocol::{DocSession, DocumentId, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use cases::{Case, Input};
use ws::Outcome;

/// How long a relay may take over one input before the probe gives up on it, unless `--give-up`
/// says otherwise.
const GIVE_UP: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() {
    let mut binaries: Vec<PathBuf> = Vec::new();
    let mut only: Option<String> = None;
    let mut give_up = GIVE_UP;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => only = args.next(),
            "--give-up" => {
                let secs = args.next().and_then(|s| s.parse().ok());
                give_up = Duration::from_secs(secs.expect("--give-up SECONDS"));
            }
            _ => binaries.push(arg.into()),
        }
    }
    if binaries.is_empty() {
        eprintln!("usage: hostile_probe BINARY... [--only TEXT] [--give-up SECONDS]");
        std::process::exit(2);
    }
    println!(
        "| relay | case | answer | after | CPU s (setup + case) | peak RSS MB (setup → end) | /healthz waited | connections after |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for case in cases::all() {
        if only
            .as_ref()
            .is_some_and(|o| !case.name.contains(o.as_str()))
        {
            continue;
        }
        for binary in &binaries {
            let row = probe(binary, &case, give_up).await;
            println!(
                "| {} | {} | {} | {:.2} s | {:.2} + {:.2} | {:.0} → {:.0} | {} | {} |",
                binary.display(),
                case.name,
                row.answer,
                row.after.as_secs_f64(),
                row.setup.cpu_seconds,
                row.end.cpu_seconds - row.setup.cpu_seconds,
                row.setup.peak_rss_mb,
                row.end.peak_rss_mb,
                row.healthz
                    .map_or("no answer".into(), |d| format!("{} ms", d.as_millis())),
                row.gauge.map_or("no answer".into(), |n| n.to_string()),
            );
        }
    }
}

struct Row {
    answer: String,
    after: Duration,
    setup: Stats,
    end: Stats,
    healthz: Option<Duration>,
    gauge: Option<u64>,
}

async fn probe(binary: &Path, case: &Case, give_up: Duration) -> Row {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let addr: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().unwrap()
    };
    let mut child = Command::new(binary)
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--insecure-dev-auth")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay");
    let pid = child.id();
    let started = Instant::now();
    while healthz(addr).await.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the relay did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut mallory = ws::connect(addr, "mallory").await;
    let document_id = DocumentId::from_bytes([1; 16]);
    let frame = match &case.input {
        Input::FirstFrame(frame) => frame.clone(),
        Input::SyncPayload(payload) => {
            mallory.join().await;
            let mut doc = mallory.store(document_id, 20).await;
            Message::Sync {
                sender_id: mallory.peer.clone(),
                target_id: "relay".into(),
                document_id,
                data: payload(&doc.get_heads()),
            }
            .encode()
        }
    };
    let setup = Stats::read(pid).expect("the relay's /proc entry");
    let sent = Instant::now();
    mallory.send(frame).await;
    if matches!(case.input, Input::SyncPayload(_)) {
        // A relay that accepts the payload may have nothing to answer: a `request` for a document
        // nobody has is always answered, once the payload before it is dealt with.
        let mut empty = AutoCommit::new();
        let request = Message::Request {
            sender_id: mallory.peer.clone(),
            target_id: "relay".into(),
            document_id: DocumentId::from_bytes([2; 16]),
            data: DocSession::new().poll_message(&mut empty, 0).unwrap(),
        };
        mallory.send(request.encode()).await;
    }
    let health = tokio::spawn(async move {
        let asked = Instant::now();
        tokio::time::timeout(give_up, healthz(addr))
            .await
            .ok()
            .flatten()
            .map(|()| asked.elapsed())
    });
    // Watch /proc while waiting: a process that aborts takes its figures with it.
    let mut end = setup;
    let answer = {
        let outcome = mallory.outcome();
        tokio::pin!(outcome);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                outcome = &mut outcome => break describe(&outcome),
                _ = tick.tick() => {
                    if let Some(stats) = Stats::read(pid) {
                        end = stats;
                    }
                    if let Ok(Some(status)) = child.try_wait() {
                        break format!("process died ({status})");
                    }
                    if sent.elapsed() > give_up {
                        break format!("nothing in {} s", give_up.as_secs());
                    }
                }
            }
        }
    };
    let after = sent.elapsed();
    if let Some(stats) = Stats::read(pid) {
        end = stats;
    }
    let alive = |child: &mut std::process::Child| child.try_wait().ok().flatten().is_none();
    let healthz = if alive(&mut child) {
        health.await.ok().flatten()
    } else {
        None
    };
    // The relay's count of open connections once this one is closed: its cleanup ran if it is 0.
    let _ = tokio::time::timeout(Duration::from_secs(5), mallory.close()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gauge = if alive(&mut child) {
        tokio::time::timeout(Duration::from_secs(5), connections_gauge(addr))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let answer = match child.try_wait().ok().flatten() {
        Some(status) if !answer.starts_with("process died") => {
            format!("{answer}; process died ({status})")
        }
        _ => answer,
    };
    let _ = child.kill();
    let _ = child.wait();
    Row {
        answer,
        after,
        setup,
        end,
        healthz,
        gauge,
    }
}

/// The `chatsync_connections` gauge of `/metrics`.
async fn connections_gauge(addr: SocketAddr) -> Option<u64> {
    let body = get(addr, "/metrics").await?;
    body.lines()
        .find_map(|l| l.strip_prefix("chatsync_connections "))
        .and_then(|v| v.trim().parse().ok())
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Closed(Some(code)) => format!("closed {code}"),
        Outcome::Closed(None) => "closed, no code".into(),
        // Only the `request` sent after the payload is answered so: the payload was taken.
        Outcome::Answered("doc-unavailable") => "accepted".into(),
        Outcome::Answered(kind) => format!("accepted, answered `{kind}`"),
        Outcome::Ended => "socket dropped, no close".into(),
    }
}

/// A `/healthz` that answers `ok`.
async fn healthz(addr: SocketAddr) -> Option<()> {
    (get(addr, "/healthz").await? == "ok").then_some(())
}

/// A plain HTTP/1.1 GET's body, if it answers 200.
async fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// A process's CPU time and peak resident set so far.
#[derive(Clone, Copy)]
struct Stats {
    cpu_seconds: f64,
    peak_rss_mb: f64,
}

impl Stats {
    fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces), from field 3: utime and stime are
        // fields 14 and 15, in clock ticks.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let hwm_kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(Self {
            cpu_seconds: ticks / clock_ticks_per_second(),
            peak_rss_mb: hwm_kb / 1024.0,
        })
    }
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
