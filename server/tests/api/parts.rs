//! `/api/mutation` paths of ordered parts: a caller's message id and parts on `messages:append`,
//! `messages:appendPart`, deltas into a part, finish reason and error, metadata updates, tool calls
//! whose input streams, approvals of a tool call.

use serde_json::{Value, json};

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
async fn parts_stream_into_a_message_with_the_callers_id() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let m = |path: &'static str, args: Value| {
        let api = api.clone();
        async move { api.mutation(path, args).await }
    };
    let user = json!({ "threadId": t, "id": "ui-1", "role": "user",
        "parts": [{ "type": "text", "text": "See" }, { "type": "file", "mediaType": "image/png", "url": "https://x/cat.png" }] });
    let first = m("messages:append", user.clone()).await;
    assert_eq!(first.value()["parts"][1]["url"], "https://x/cat.png");
    // A retry is answered alike; the same id with other content is a conflict; a bad id is refused.
    assert_eq!(m("messages:append", user).await.value(), first.value());
    let other = json!({ "threadId": t, "id": "ui-1", "role": "user", "content": "x" });
    assert_eq!(
        m("messages:append", other).await.error(409),
        "already_exists"
    );
    let bad = json!({ "threadId": t, "id": "not ok", "role": "user", "content": "x" });
    assert_eq!(m("messages:append", bad).await.error(400), "invalid_input");

    m(
        "messages:append",
        json!({ "threadId": t, "id": "a", "role": "assistant" }),
    )
    .await
    .value();
    let part = json!({ "type": "reasoning", "id": "r" });
    m(
        "messages:appendPart",
        json!({ "threadId": t, "messageId": "a", "part": part }),
    )
    .await
    .value();
    m(
        "messages:appendDelta",
        json!({ "threadId": t, "messageId": "a", "text": "hmm", "part": "r" }),
    )
    .await
    .value();
    m(
        "messages:appendDelta",
        json!({ "threadId": t, "messageId": "a", "text": "Hi" }),
    )
    .await
    .value();
    let missing = json!({ "threadId": t, "messageId": "a", "text": "x", "part": "nope" });
    assert_eq!(
        m("messages:appendDelta", missing).await.error(404),
        "not_found"
    );
    let call = json!({ "threadId": t, "id": "c1", "messageId": "a", "toolName": "search",
        "dynamic": true, "inputStreaming": true });
    m("toolCalls:start", call).await.value();
    assert_eq!(
        message(&api, &t, "a").await["parts"][2]["state"],
        "input-streaming"
    );
    m(
        "toolCalls:setInput",
        json!({ "threadId": t, "callId": "c1", "input": { "q": 1 } }),
    )
    .await
    .value();
    let approval = json!({ "threadId": t, "id": "ap", "kind": "tool-call", "subject": "c1",
        "messageId": "a", "toolCallId": "c1" });
    m("approvals:request", approval).await.value();
    let tool = &message(&api, &t, "a").await["parts"][2];
    assert_eq!(
        (
            &tool["type"],
            &tool["toolName"],
            &tool["state"],
            &tool["input"],
            &tool["approval"]
        ),
        (
            &json!("dynamic-tool"),
            &json!("search"),
            &json!("approval-requested"),
            &json!({ "q": 1 }),
            &json!({ "id": "ap" })
        )
    );
    let finish = json!({ "threadId": t, "messageId": "a", "status": "error",
        "finishReason": "error", "error": "overloaded" });
    m("messages:finish", finish).await.value();
    let a = message(&api, &t, "a").await;
    assert_eq!(
        (&a["finishReason"], &a["error"], &a["content"]),
        (&json!("error"), &json!("overloaded"), &json!("Hi"))
    );

    let meta = |metadata: Value, merge: bool| json!({ "threadId": t, "messageId": "a", "metadata": metadata, "merge": merge });
    m(
        "messages:updateMetadata",
        meta(json!({ "a": 1, "n": { "x": 1 } }), false),
    )
    .await
    .value();
    let merged = m(
        "messages:updateMetadata",
        meta(json!({ "n": { "y": 2 } }), true),
    )
    .await;
    assert_eq!(
        merged.value()["metadata"],
        json!({ "a": 1, "n": { "x": 1, "y": 2 } })
    );
    let replaced = m("messages:updateMetadata", meta(json!({ "b": 2 }), false)).await;
    assert_eq!(replaced.value()["metadata"], json!({ "b": 2 }));
    assert_eq!(
        m("messages:updateMetadata", meta(json!([1]), false))
            .await
            .error(400),
        "invalid_input"
    );
    relay.stop().await;
}
