//! A `200` means stored: `kill -9` right after it, and the write is there after a restart. Runs the
//! real binary.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Api, SECRET};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data_dir: &std::path::Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_chatsync-relay"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("CHATSYNC_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay binary");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the relay did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[tokio::test]
async fn writes_answered_200_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut relay = start(dir.path(), port);
    let token = chatsync_relay::auth::Auth::jwt(SECRET).issue(
        "alice",
        Duration::from_secs(600),
        std::time::SystemTime::now(),
    );
    let api = Api {
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        token: Some(token),
    };
    let t = crate::mutations::new_thread(&api, "Durable").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "q", "role": "user", "content": "Keep me" }),
    )
    .await
    .value();
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    stream.line(json!({ "delta": "Kept " }));
    stream.line(json!({ "delta": "too." }));
    stream.line(json!({ "finish": { "status": "complete" } }));
    stream.end().await.value();
    api.mutation(
        "threads:setTitle",
        json!({ "threadId": t, "title": "Durable, renamed" }),
    )
    .await
    .value();
    // No shutdown, no compaction: SIGKILL right after the last 200.
    relay.kill().unwrap();
    relay.wait().unwrap();

    let mut relay = start(dir.path(), port);
    let view = api.query("threads:get", json!({ "threadId": t })).await;
    let view = view.value();
    assert_eq!(view["title"], "Durable, renamed");
    assert_eq!(view["messages"][0]["content"], "Keep me");
    assert_eq!(view["messages"][1]["content"], "Kept too.");
    assert_eq!(view["messages"][1]["status"], "complete");
    let list = api.query("threads:list", json!({})).await;
    assert_eq!(list.value()[0]["title"], "Durable, renamed");
    relay.kill().unwrap();
    relay.wait().unwrap();
}
