//! `kill -9` during a write burst loses no change the relay had acknowledged. Runs the real binary.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatsync_client::{Client, ClientConfig};
use chatsync_model::automerge::ActorId;
use chatsync_model::{Limits, MessageId, NewMessage, ReadAt, Role, Thread, ThreadId, ThreadInit};
use chatsync_protocol::DocumentId;
use chatsync_relay::auth::Auth;

const SECRET: &str = "durability-test-secret-0123456789";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_relay(data_dir: &std::path::Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_chatsync-relay"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("CHATSYNC_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay binary");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the relay did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

async fn client(port: u16, peer: &str) -> Client {
    let token = Auth::jwt(SECRET.as_bytes()).issue(
        "alice",
        Duration::from_secs(600),
        std::time::SystemTime::now(),
    );
    Client::connect(ClientConfig::new(
        format!("ws://127.0.0.1:{port}/sync"),
        token,
        peer,
    ))
    .await
    .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_write_burst_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut relay = start_relay(dir.path(), port);
    let writer = client(port, "writer").await;
    let doc_id = DocumentId::from_bytes(*b"durability-doc-1");
    let thread_id = ThreadId::new(doc_id.to_string()).unwrap();
    let thread = Thread::create(
        ThreadInit::new(thread_id, ActorId::from(b"writer".to_vec()), 1),
        Limits::default(),
    )
    .unwrap();
    writer.create_thread(doc_id, thread).await.unwrap();

    // Write as fast as acknowledgements come back; kill the relay mid-burst.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let burst = tokio::spawn({
        let (writer, acknowledged) = (writer.clone(), acknowledged.clone());
        async move {
            for i in 0..10_000u64 {
                let id = format!("m{i}");
                let message = NewMessage::new(
                    MessageId::new(id.clone()).unwrap(),
                    Role::User,
                    "x".repeat(200),
                );
                let Ok((_, heads)) = writer
                    .change_thread(doc_id, move |t| t.append_message(message, 10 + i))
                    .await
                else {
                    return;
                };
                match writer
                    .acknowledged(doc_id, heads, Duration::from_secs(1))
                    .await
                {
                    Ok(()) => acknowledged.lock().unwrap().push(id),
                    Err(_) => return, // the relay is gone
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    relay.kill().expect("kill -9");
    relay.wait().unwrap();
    burst.await.unwrap();
    writer.close();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 10,
        "too few writes before the kill to mean anything: {}",
        acknowledged.len()
    );

    let mut relay = start_relay(dir.path(), port);
    let reader = client(port, "reader").await;
    let doc = reader
        .find(doc_id, Duration::from_secs(10))
        .await
        .expect("the thread survives");
    let thread = Thread::from_automerge(
        ThreadId::new(doc_id.to_string()).unwrap(),
        doc,
        Limits::default(),
    )
    .unwrap();
    let stored: std::collections::HashSet<String> = thread
        .messages(ReadAt::new(0))
        .into_iter()
        .map(|m| m.id.to_string())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "{} acknowledged writes before kill -9; all {} present after restart",
        acknowledged.len(),
        stored.len()
    );
    reader.close();
    relay.kill().unwrap();
    relay.wait().unwrap();
}
