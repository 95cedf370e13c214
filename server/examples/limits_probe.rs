//! Runs one hostile case against a relay binary and prints the relay's CPU time and peak RSS.
//!
//! ```text
//! cargo run --release -p chatsync-relay --example limits_probe -- <relay-binary> <case>
//! ```
//!
//! Cases: `text12mb` (12 MB of text in one sync frame), `docs20k` (20,000 documents opened on one
//! socket), `silent1100` (1,100 TCP sockets that never send a byte, with the relay's `ulimit -n` at
//! 1024), `metrics20` (one user's write→ack latency while 20 loops scrape `/metrics`).
//!
//! The relay runs as a child process (`serve --insecure-dev-auth` in a fresh data directory); CPU time
//! is its utime + stime from `/proc/<pid>/stat`, peak RSS its `VmHWM` from `/proc/<pid>/status`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ObjType, ROOT};
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, binary, case] = args.as_slice() else {
        anyhow::bail!("usage: limits_probe <relay-binary> text12mb|docs20k|silent1100|metrics20");
    };
    let dir = tempfile::tempdir()?;
    let port = free_port();
    let relay = start(binary, dir.path(), port, case == "silent1100")?;
    let pid = relay.id();
    let cpu_before = cpu_ms(pid);
    let started = Instant::now();
    let outcome = match case.as_str() {
        "text12mb" => text_frame(port).await?,
        "docs20k" => many_documents(port).await?,
        "silent1100" => silent_sockets(port).await?,
        "metrics20" => metrics_scrapers(port).await?,
        other => anyhow::bail!("unknown case {other}"),
    };
    let cpu = cpu_ms(pid) - cpu_before;
    let hwm = peak_rss_kb(pid);
    println!(
        "{case}: relay cpu {cpu} ms, peak RSS {} MB, wall {:.1} s — {outcome}",
        hwm / 1024,
        started.elapsed().as_secs_f64()
    );
    stop(relay);
    Ok(())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The relay as a child; with `low_fd_limit`, under `ulimit -n 1024` as on many hosts.
fn start(
    binary: &str,
    data_dir: &std::path::Path,
    port: u16,
    low_fd_limit: bool,
) -> anyhow::Result<Child> {
    let mut command = Command::new("sh");
    let script = if low_fd_limit {
        "ulimit -n 1024 && exec \"$0\" \"$@\""
    } else {
        "exec \"$0\" \"$@\""
    };
    command
        .arg("-c")
        .arg(script)
        .arg(binary)
        .args(["serve", "--insecure-dev-auth", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = command.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "the relay did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// utime + stime of `pid`, in milliseconds (clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) * 10
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn connect(port: u16, peer: &str) -> anyhow::Result<Socket> {
    let url = format!("ws://127.0.0.1:{port}/sync?token=alice");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    send(
        &mut socket,
        Message::Join {
            sender_id: peer.into(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec!["1".into()],
        },
    )
    .await?;
    match next(&mut socket).await {
        Incoming::Message(Message::Peer { .. }) => Ok(socket),
        other => anyhow::bail!("join answered with {other:?}"),
    }
}

async fn send(socket: &mut Socket, message: Message) -> anyhow::Result<()> {
    socket.send(Ws::Binary(message.encode().into())).await?;
    Ok(())
}

#[derive(Debug)]
enum Incoming {
    Message(Message),
    Closed(Option<u16>, String),
}

async fn next(socket: &mut Socket) -> Incoming {
    loop {
        match socket.next().await {
            Some(Ok(Ws::Binary(bytes))) => match Message::decode(&bytes) {
                Ok(message) => return Incoming::Message(message),
                Err(e) => return Incoming::Closed(None, format!("undecodable: {e}")),
            },
            Some(Ok(Ws::Close(frame))) => {
                return Incoming::Closed(
                    frame.as_ref().map(|f| u16::from(f.code)),
                    frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                );
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Incoming::Closed(None, e.to_string()),
            None => return Incoming::Closed(None, "ended".into()),
        }
    }
}

fn sync(peer: &str, document_id: DocumentId, data: Vec<u8>) -> Message {
    Message::Sync {
        sender_id: peer.into(),
        target_id: "relay".into(),
        document_id,
        data,
    }
}

/// Syncs `doc` until the relay acknowledges its heads; the time that took, or how it was refused.
async fn write_until_acked(
    socket: &mut Socket,
    session: &mut DocSession,
    doc: &mut AutoCommit,
    id: DocumentId,
) -> Result<Duration, String> {
    let started = Instant::now();
    let heads = doc.get_heads();
    loop {
        while let Some(data) = session.poll_message(doc, 0) {
            send(socket, sync("probe", id, data))
                .await
                .map_err(|e| e.to_string())?;
        }
        if session.has_acknowledged(doc, &heads) {
            return Ok(started.elapsed());
        }
        match tokio::time::timeout(Duration::from_secs(60), next(socket)).await {
            Ok(Incoming::Message(Message::Sync { data, .. })) => {
                session.receive(doc, &data).map_err(|e| e.to_string())?;
            }
            Ok(Incoming::Message(Message::Error { message, .. })) => return Err(message),
            Ok(Incoming::Message(_)) => {}
            Ok(Incoming::Closed(code, reason)) => {
                return Err(format!("closed {code:?} {reason}"));
            }
            Err(_) => return Err("no answer in 60 s".into()),
        }
    }
}

/// Text that deflate cannot shrink much (Automerge compresses large columns).
fn noise(len: usize) -> String {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + ((seed >> 33) % 26) as u8)
        })
        .collect()
}

async fn text_frame(port: u16) -> anyhow::Result<String> {
    let mut socket = connect(port, "probe").await?;
    let mut doc = AutoCommit::new();
    let text = doc.put_object(ROOT, "content", ObjType::Text)?;
    doc.splice_text(&text, 0, 0, &noise(12_000_000))?;
    doc.commit();
    let id = DocumentId::from_bytes(*b"probe-text-frame");
    let mut session = DocSession::new();
    Ok(
        match write_until_acked(&mut socket, &mut session, &mut doc, id).await {
            Ok(took) => format!("stored and acknowledged in {} ms", took.as_millis()),
            Err(refused) => format!("refused: {refused}"),
        },
    )
}

async fn many_documents(port: u16) -> anyhow::Result<String> {
    let socket = connect(port, "probe").await?;
    let (mut sink, mut stream) = socket.split();
    let reader = tokio::spawn(async move {
        let mut answers = 0u32;
        let mut end = String::from("still open");
        while let Some(frame) = stream.next().await {
            match frame {
                Ok(Ws::Binary(_)) => answers += 1,
                Ok(Ws::Close(frame)) => {
                    end = format!(
                        "closed {:?}",
                        frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                    );
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    end = e.to_string();
                    break;
                }
            }
        }
        (answers, end)
    });
    let empty = DocSession::new()
        .poll_message(&mut AutoCommit::new(), 0)
        .expect("a first message");
    let mut sent = 0u32;
    // 1,500 a second: under the relay's flood limit of 2,000 frames per second.
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    'send: for batch in 0..(20_000 / 15) + 1 {
        tick.tick().await;
        for i in 0..15u32 {
            let n = batch * 15 + i;
            if n >= 20_000 {
                break 'send;
            }
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&n.to_be_bytes());
            let message = sync("probe", DocumentId::from_bytes(bytes), empty.clone());
            if sink
                .send(Ws::Binary(message.encode().into()))
                .await
                .is_err()
            {
                break 'send;
            }
            sent += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = sink.close().await;
    let (answers, end) = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .map_err(|_| anyhow::anyhow!("the reader never ended"))??;
    Ok(format!("sent {sent} documents, {answers} answers, {end}"))
}

async fn http_get(port: u16, path: &str) -> Option<u16> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        String::from_utf8_lossy(&response)
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
}

async fn silent_sockets(port: u16) -> anyhow::Result<String> {
    let mut sockets = Vec::new();
    for _ in 0..1_100 {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => sockets.push(s),
            Err(_) => break,
        }
    }
    let opened = sockets.len();
    let started = Instant::now();
    let mut first_ok = None;
    while started.elapsed() < Duration::from_secs(25) {
        if http_get(port, "/healthz").await == Some(200) {
            first_ok = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // How many of the silent sockets has the relay closed?
    let mut closed = 0;
    for socket in &mut sockets {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), socket.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    Ok(format!(
        "{opened} silent sockets; /healthz first answered {}; {closed} silent sockets closed by the relay",
        first_ok.map_or("never in 25 s".into(), |t| format!(
            "after {:.1} s",
            t.as_secs_f64()
        ))
    ))
}

async fn metrics_scrapers(port: u16) -> anyhow::Result<String> {
    let mut socket = connect(port, "probe").await?;
    // Something to sum: 2,000 stored documents, 500 per connection (under the relay's cap of
    // documents per connection).
    for n in 0..2_000u32 {
        if n % 500 == 0 {
            socket = connect(port, "probe").await?;
        }
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", u64::from(n))?;
        doc.commit();
        let mut bytes = [1u8; 16];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        write_until_acked(
            &mut socket,
            &mut DocSession::new(),
            &mut doc,
            DocumentId::from_bytes(bytes),
        )
        .await
        .map_err(|e| anyhow::anyhow!("populating: {e}"))?;
        // Paced under the relay's limit of 2,000 messages per second.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let id = DocumentId::from_bytes(*b"probe-metrics-lt");
    let mut doc = AutoCommit::new();
    let mut session = DocSession::new();
    let mut quiet: Vec<Duration> = Vec::new();
    for n in 0..200u64 {
        doc.put(ROOT, "n", n)?;
        doc.commit();
        quiet.push(
            write_until_acked(&mut socket, &mut session, &mut doc, id)
                .await
                .map_err(|e| anyhow::anyhow!(e))?,
        );
    }
    let running = Arc::new(AtomicBool::new(true));
    let mut scrapes = Vec::new();
    for _ in 0..20 {
        let running = running.clone();
        scrapes.push(tokio::spawn(async move {
            let mut count = 0u32;
            while running.load(Ordering::Relaxed) {
                if http_get(port, "/metrics").await == Some(200) {
                    count += 1;
                }
            }
            count
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut busy: Vec<Duration> = Vec::new();
    let started = Instant::now();
    for n in 200..400u64 {
        doc.put(ROOT, "n", n)?;
        doc.commit();
        busy.push(
            write_until_acked(&mut socket, &mut session, &mut doc, id)
                .await
                .map_err(|e| anyhow::anyhow!(e))?,
        );
    }
    let elapsed = started.elapsed();
    running.store(false, Ordering::Relaxed);
    let mut total = 0;
    for scrape in scrapes {
        total += scrape.await?;
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e3
    };
    let p99 = |v: &Vec<Duration>| v[v.len() * 99 / 100].as_secs_f64() * 1e3;
    let (q50, b50) = (median(&mut quiet), median(&mut busy));
    Ok(format!(
        "write→ack median {q50:.1} ms (p99 {:.1}) alone, {b50:.1} ms (p99 {:.1}) under 20 scrapers \
         ({:.0} scrapes/s)",
        p99(&quiet),
        p99(&busy),
        f64::from(total) / elapsed.as_secs_f64()
    ))
}
