//! The backend examples of `examples/` (Node with fetch, Python with the standard library), run
//! against a relay of this test's: each streams a reply into a user's thread, which a native client
//! of the user sees arrive live.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use chatsync_model::{MessageStatus, ReadAt, Role};
use chatsync_protocol::DocumentId;
use serde_json::{Value, json};

use crate::support::TestRelay;

fn example(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path)
}

/// Runs one example answering the question in a fresh thread, and checks what the device saw.
async fn streams_a_reply_seen_live(program: &'static str, script: &'static str) {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let thread = crate::mutations::new_thread(&api, "Ask the backend").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": thread, "role": "user", "content": "What is a CRDT?" }),
    )
    .await
    .value();
    let device = relay.client("alice", "laptop").await;
    let id: DocumentId = thread.parse().unwrap();
    device.find(id, Duration::from_secs(5)).await.unwrap();

    let mut command = Command::new(program);
    command
        .arg(example(script))
        .env("CHATSYNC_URL", format!("http://{}", relay.addr))
        .env("CHATSYNC_TOKEN", relay.token("alice"))
        .env("THREAD_ID", &thread)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = tokio::task::spawn_blocking(move || command.output());
    // While it runs, the device sees the reply grow.
    let mut seen_streaming = false;
    while !run.is_finished() {
        let view = device.thread(id).await.unwrap().view(ReadAt::new(now_ms()));
        seen_streaming |= view
            .messages
            .iter()
            .any(|m| m.role == Role::Assistant && m.status.is_open() && !m.content.is_empty());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the example finished in time")
        .unwrap()
        .unwrap_or_else(|e| panic!("{program} could not run: {e}"));
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("the example prints JSON");
    assert_eq!(printed["threadId"], thread);
    let message = &printed["message"];
    assert_eq!(message["status"], "complete");
    assert!(
        message["content"]
            .as_str()
            .unwrap()
            .contains("What is a CRDT?"),
        "{message}"
    );
    assert!(
        seen_streaming,
        "{script}: the device never saw the reply while it streamed"
    );
    let done = crate::eventually(Duration::from_secs(5), || async {
        let view = device.thread(id).await.unwrap().view(ReadAt::new(now_ms()));
        view.messages.last().is_some_and(|m| {
            m.status == MessageStatus::Complete && m.content == message["content"].as_str().unwrap()
        })
    })
    .await;
    assert!(done, "the finished reply did not reach the device");
    device.close();
    relay.stop().await;
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn the_node_example_streams_a_reply_into_a_users_thread() {
    streams_a_reply_seen_live("node", "backend-node/stream-reply.mjs").await;
}

#[tokio::test]
async fn the_python_example_streams_a_reply_into_a_users_thread() {
    streams_a_reply_seen_live("python3", "backend-python/stream_reply.py").await;
}
