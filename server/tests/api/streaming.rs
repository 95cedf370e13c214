//! `/api/stream`: a reply streamed as NDJSON — whole, ended early, cut, stalled, or into a message
//! that cannot take it.

use std::time::Duration;

use chatsync_relay::relay::Limits;
use serde_json::{Value, json};

use crate::eventually;
use crate::mutations::new_thread;
use crate::support::{Api, TestRelay};

async fn message(api: &Api, thread: &str, id: &str) -> Value {
    let view = api
        .query("threads:get", json!({ "threadId": thread }))
        .await;
    let messages = view.value()["messages"].as_array().unwrap().clone();
    messages
        .into_iter()
        .find(|m| m["id"] == id)
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_streamed_reply_is_answered_once_finished_and_stored() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "q", "role": "user", "content": "Hi" }),
    )
    .await
    .value();
    let stream = api.stream().await;
    stream
        .line(json!({ "threadId": t, "messageId": "r", "provider": "openai", "model": "gpt-4o" }));
    for word in ["Hello", ", ", "world", "."] {
        stream.line(json!({ "delta": word }));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    stream.line(json!({ "finish": { "status": "complete", "usage": { "inputTokens": 3, "outputTokens": 4 } } }));
    let answer = stream.end().await;
    let m = answer.value();
    assert_eq!(m["id"], "r");
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["content"], "Hello, world.");
    assert_eq!(m["status"], "complete");
    assert_eq!(m["parentId"], "q");
    assert_eq!(m["model"], "gpt-4o");
    assert_eq!(m["usage"], json!({ "inputTokens": 3, "outputTokens": 4 }));
    assert_eq!(&message(&api, &t, "r").await, m);
    let list = api.query("threads:list", json!({})).await;
    assert_eq!(list.value()[0]["preview"], "Hello, world.");
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_continues_an_open_message_and_refuses_a_finished_one() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "r", "role": "assistant", "content": "" }),
    )
    .await
    .value();
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    stream.line(json!({ "delta": "done" }));
    stream.line(json!({ "finish": { "status": "complete" } }));
    assert_eq!(stream.end().await.value()["content"], "done");
    let again = api.stream().await;
    again.line(json!({ "threadId": t, "messageId": "r" }));
    again.line(json!({ "delta": "more" }));
    assert_eq!(again.end().await.error(409), "invalid_transition");
    assert_eq!(message(&api, &t, "r").await["content"], "done");
    relay.stop().await;
}

#[tokio::test]
async fn a_body_that_ends_before_finish_leaves_the_message_interrupted_with_every_delta() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    for i in 0..20 {
        stream.line(json!({ "delta": format!("{i} ") }));
    }
    let answer = stream.end().await;
    assert_eq!(answer.error(400), "invalid_input");
    let m = message(&api, &t, "r").await;
    assert_eq!(m["status"], "interrupted");
    let expected: String = (0..20).map(|i| format!("{i} ")).collect();
    assert_eq!(m["content"], expected);
    relay.stop().await;
}

#[tokio::test]
async fn a_body_cut_mid_stream_leaves_the_message_interrupted_with_every_delta() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    stream.line(json!({ "delta": "one " }));
    tokio::time::sleep(Duration::from_millis(150)).await;
    stream.line(json!({ "delta": "two" }));
    // Half a line, then the connection drops (a backend that crashed).
    stream.raw(b"{\"delta\": \"thr".to_vec());
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.cut();
    let interrupted = eventually(Duration::from_secs(10), || async {
        message(&api, &t, "r").await["status"] == "interrupted"
    })
    .await;
    assert!(interrupted, "{}", message(&api, &t, "r").await);
    assert_eq!(message(&api, &t, "r").await["content"], "one two");
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_that_stalls_is_cut_after_the_idle_timeout_and_interrupted() {
    let relay = TestRelay::with_limits(Limits {
        http_request_timeout: Duration::from_millis(400),
        ..Limits::default()
    })
    .await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    stream.line(json!({ "delta": "partial" }));
    // Nothing more, and the body stays open.
    let m = eventually(Duration::from_secs(5), || async {
        message(&api, &t, "r").await["status"] == "interrupted"
    })
    .await;
    assert!(m);
    assert_eq!(message(&api, &t, "r").await["content"], "partial");
    stream.cut();
    relay.stop().await;
}

#[tokio::test]
async fn bad_lines_refuse_the_stream_and_keep_what_came_before() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    for (i, bad) in [
        json!({ "delta": 5 }),
        json!({ "finish": { "status": "streaming" } }),
        json!({ "finish": { "status": "complete", "extra": 1 } }),
        json!({ "token": "x" }),
        json!([1]),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("r{i}");
        let stream = api.stream().await;
        stream.line(json!({ "threadId": t, "messageId": id }));
        stream.line(json!({ "delta": "kept" }));
        stream.line(bad.clone());
        let answer = stream.end().await;
        assert!(
            (400..500).contains(&answer.status),
            "{bad} → {}",
            answer.body
        );
        let m = message(&api, &t, &id).await;
        assert_eq!(
            (m["status"].as_str(), m["content"].as_str()),
            (Some("interrupted"), Some("kept")),
            "{bad}"
        );
    }
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t }));
    assert_eq!(stream.end().await.error(400), "invalid_input");
    let stream = api.stream().await;
    assert_eq!(stream.end().await.error(400), "invalid_input");
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_cuts_a_running_stream_and_keeps_it_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(dir.path(), Limits::default()).await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    stream.line(json!({ "delta": "before shutdown" }));
    let seen = eventually(Duration::from_secs(5), || async {
        message(&api, &t, "r").await["content"] == "before shutdown"
    })
    .await;
    assert!(seen);
    let started = std::time::Instant::now();
    relay.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waited for the stream"
    );
    drop(stream);
    let relay = TestRelay::start_in(dir.path(), Limits::default()).await;
    let m = message(&relay.api("alice"), &t, "r").await;
    assert_eq!(
        (m["status"].as_str(), m["content"].as_str()),
        (Some("interrupted"), Some("before shutdown"))
    );
    relay.stop().await;
}

/// Review of issue 11: a token that expired mid-stream went on being taken for every later line
/// (`/sync` closes a socket at its token's expiry). Now the stream stops at the expiry with the
/// answer an expired token gets anywhere on the API (401 `unauthorized`), keeping what came before
/// as an interrupted message.
#[tokio::test]
async fn a_token_that_expires_mid_stream_takes_no_further_line() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let short = Api {
        addr: api.addr,
        token: Some(relay.auth.issue(
            "alice",
            Duration::from_secs(2),
            std::time::SystemTime::now(),
        )),
    };
    let stream = short.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    stream.line(json!({ "delta": "before " }));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    stream.line(json!({ "delta": "after" }));
    stream.line(json!({ "finish": { "status": "complete" } }));
    let answer = stream.end().await;
    assert_eq!(answer.error(401), "unauthorized");
    let m = message(&api, &t, "r").await;
    assert_eq!(m["status"], "interrupted");
    assert_eq!(m["content"], "before ");
    relay.stop().await;
}
