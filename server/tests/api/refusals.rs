//! Every refusal: its status, its code, a message naming what is wrong — and never a 500 for input.

use std::time::{Duration, Instant};

use chatsync_relay::relay::Limits;
use serde_json::json;

use crate::mutations::new_thread;
use crate::support::{Api, TestRelay};

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let relay = TestRelay::start().await;
    let forged = chatsync_relay::auth::Auth::jwt(b"another-secret-0123456789abcdef").issue(
        "alice",
        Duration::from_secs(60),
        std::time::SystemTime::now(),
    );
    for token in [None, Some("garbage".to_owned()), Some(forged)] {
        let api = Api {
            addr: relay.addr,
            token,
        };
        assert_eq!(
            api.mutation("threads:create", json!({})).await.error(401),
            "unauthorized"
        );
        assert_eq!(
            api.query("threads:list", json!({})).await.error(401),
            "unauthorized"
        );
        let stream = api.stream().await;
        stream.line(json!({ "threadId": "x", "messageId": "m" }));
        assert_eq!(stream.end().await.error(401), "unauthorized");
    }
    relay.stop().await;
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_nothing_is_written() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let cases = [
        (
            api.post("/api/mutation", b"{not json".to_vec()).await,
            "not valid JSON",
        ),
        (
            api.post("/api/mutation", b"[1]".to_vec()).await,
            "JSON object",
        ),
        (api.post("/api/query", b"".to_vec()).await, "not valid JSON"),
        (
            api.mutation("threads:explode", json!({})).await,
            "unknown mutation path",
        ),
        (
            api.query("threads:explode", json!({})).await,
            "unknown query path",
        ),
        (
            api.mutation("messages:append", json!({ "threadId": t }))
                .await,
            "missing field `role`",
        ),
        (
            api.mutation("messages:append", json!({ "role": "user" }))
                .await,
            "missing field `threadId`",
        ),
        (
            api.mutation(
                "messages:append",
                json!({ "threadId": t, "role": "user", "colour": 1 }),
            )
            .await,
            "unknown field `colour`",
        ),
        (
            api.mutation("messages:append", json!({ "threadId": t, "role": "robot" }))
                .await,
            "role",
        ),
        (
            api.mutation(
                "messages:append",
                json!({ "threadId": t, "role": "user", "content": 5 }),
            )
            .await,
            "`content` must be a string",
        ),
        (
            api.mutation("threads:create", json!({ "settings": { "temprature": 1 } }))
                .await,
            "`settings`: unknown field `temprature`",
        ),
        (
            api.mutation(
                "messages:setFeedback",
                json!({ "threadId": t, "messageId": "m", "rating": 1.5 }),
            )
            .await,
            "`rating`",
        ),
        (
            api.mutation("threads:create", json!({ "id": "not a document id" }))
                .await,
            "`id`",
        ),
        (
            api.mutation(
                "toolCalls:finish",
                json!({ "threadId": t, "callId": "c", "status": "failed" }),
            )
            .await,
            "`error`",
        ),
        (
            api.query("threads:list", json!({ "includeArchived": "yes" }))
                .await,
            "includeArchived",
        ),
    ];
    for (answer, needle) in cases {
        assert_eq!(answer.error(400), "invalid_input", "{needle}");
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{message:?} does not name {needle:?}"
        );
    }
    let v = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(v.value()["messages"], json!([]));
    relay.stop().await;
}

#[tokio::test]
async fn a_thread_or_message_that_does_not_exist_is_404() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let absent = crate::support::fresh_id();
    let absent = absent.as_str();
    for raw in [absent, "garbage", ""] {
        let answer = api.query("threads:get", json!({ "threadId": raw })).await;
        assert_eq!(answer.error(404), "not_found");
        let answer = api
            .mutation("threads:setTitle", json!({ "threadId": raw, "title": "x" }))
            .await;
        assert_eq!(answer.error(404), "not_found");
    }
    let t = new_thread(&api, "T").await;
    let delta = api
        .mutation(
            "messages:appendDelta",
            json!({ "threadId": t, "messageId": "nope", "text": "x" }),
        )
        .await;
    assert_eq!(delta.error(404), "not_found");
    // The user's index document is no thread.
    let index = relay.index_of("alice").to_string();
    let answer = api.query("threads:get", json!({ "threadId": index })).await;
    assert_eq!(answer.error(404), "not_found");
    relay.stop().await;
}

fn small_limits() -> Limits {
    Limits {
        max_request_body_bytes: 2_000,
        http_request_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_whether_declared_or_streamed() {
    let relay = TestRelay::with_limits(small_limits()).await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let big = json!({ "path": "messages:append", "args": { "threadId": t, "role": "user", "content": "x".repeat(5_000) } });
    let answer = api
        .post("/api/mutation", big.to_string().into_bytes())
        .await;
    assert_eq!(answer.error(413), "too_large");
    // The same without a Content-Length: it is counted as it arrives.
    let chunked = api.stream_to("/api/mutation").await;
    chunked.raw(big.to_string().into_bytes());
    assert_eq!(chunked.end().await.error(413), "too_large");
    // One line of a stream over the limit.
    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r1" }));
    stream.raw(format!("{{\"delta\":\"{}", "y".repeat(5_000)).into_bytes());
    assert_eq!(stream.end().await.error(413), "too_large");
    let v = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(v.value()["messages"][0]["status"], "interrupted");
    relay.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_in_times_out_with_408() {
    let relay = TestRelay::with_limits(small_limits()).await;
    let api = relay.api("alice");
    let slow = api.stream_to("/api/mutation").await;
    slow.raw(b"{\"path\":".to_vec());
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let answer = slow.end().await;
    assert_eq!(answer.error(408), "timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    relay.stop().await;
}

#[tokio::test]
async fn a_user_over_their_budget_is_429_and_others_are_not() {
    let relay = TestRelay::with_limits(Limits {
        max_api_requests_per_second: 5,
        ..Limits::default()
    })
    .await;
    let alice = relay.api("alice");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(alice.query("threads:list", json!({})).await);
    }
    let limited = statuses.iter().filter(|a| a.status == 429).count();
    assert!(
        limited >= 2,
        "{:?}",
        statuses.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let refused = statuses.iter().find(|a| a.status == 429).unwrap();
    assert_eq!(refused.error(429), "rate_limited");
    assert_eq!(
        relay
            .api("bob")
            .query("threads:list", json!({}))
            .await
            .status,
        200
    );
    // The budget comes back.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(alice.query("threads:list", json!({})).await.status, 200);
    relay.stop().await;
}

#[tokio::test]
async fn no_junk_body_is_ever_answered_500() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let junk: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"\"string\"".to_vec(),
        b"{\"path\":null}".to_vec(),
        b"{\"path\":\"messages:append\",\"args\":null}".to_vec(),
        format!("{{\"path\":\"messages:append\",\"args\":{{\"threadId\":\"{t}\",\"role\":\"user\",\"metadata\":[1]}}}}").into_bytes(),
        format!("{{\"path\":\"messages:append\",\"args\":{{\"threadId\":\"{t}\",\"role\":\"user\",\"id\":\"bad id!\"}}}}").into_bytes(),
        format!("{{\"path\":\"context:upsert\",\"args\":{{\"threadId\":\"{t}\",\"type\":\"\",\"key\":\"k\",\"value\":1}}}}").into_bytes(),
        format!("{{\"path\":\"threads:setTitle\",\"args\":{{\"threadId\":\"{t}\",\"title\":\"   \"}}}}").into_bytes(),
        vec![0xff, 0xfe, 0x00],
        b"{\"path\":\"threads:create\",\"args\":{\"settings\":{\"contextWindow\":-1}}}".to_vec(),
    ];
    for body in junk {
        let answer = api.post("/api/mutation", body.clone()).await;
        assert!(
            (400..500).contains(&answer.status),
            "{:?} → {} {}",
            String::from_utf8_lossy(&body),
            answer.status,
            answer.body
        );
        assert!(answer.body["code"].is_string());
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_write_storage_refuses_is_503_storage() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    chatsync_relay::storage::Storage::close(relay.relay.storage()).await;
    let answer = api
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "lost?" }),
        )
        .await;
    assert_eq!(answer.error(503), "storage");
    let answer = api.mutation("threads:create", json!({})).await;
    assert_eq!(answer.error(503), "storage");
    relay.stop().await;
}
