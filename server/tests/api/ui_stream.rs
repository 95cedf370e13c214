//! `/api/stream` with the AI SDK's UI message stream (`Content-Type: text/event-stream`): a body the
//! real `ai` package made (`fixtures/ui-message-stream.sse`, written by
//! `fixtures/ui-message-stream.mjs`) becomes the message's parts; malformed events and cut bodies
//! leave the message `interrupted` with what came before.

use std::time::Duration;

use serde_json::{Value, json};

use crate::eventually;
use crate::mutations::new_thread;
use crate::support::{Api, TestRelay};

const FIXTURE: &str = include_str!("fixtures/ui-message-stream.sse");
const SSE: &str = "text/event-stream";

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

fn event(chunk: Value) -> Vec<u8> {
    format!("data: {chunk}\n\n").into_bytes()
}

#[tokio::test]
async fn a_stream_made_by_the_ai_package_becomes_the_messages_parts() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "q", "role": "user", "content": "Weather in Paris?" }),
    )
    .await
    .value();
    let path = format!("/api/stream?threadId={t}&model=stand-in");
    let answer = api
        .post_typed(&path, SSE, FIXTURE.as_bytes().to_vec())
        .await;
    let m = answer.value().clone();
    assert_eq!(m["id"], "reply-1", "the `start` chunk's messageId");
    assert_eq!(m["status"], "complete");
    assert_eq!(m["finishReason"], "stop");
    assert_eq!(m["parentId"], "q");
    assert_eq!(m["model"], "stand-in");
    assert_eq!(m["content"], "Let me check. It is 21°C in Paris.");
    assert_eq!(
        m["metadata"],
        json!({ "model": "stand-in", "n": { "a": 1, "b": 2 }, "done": true })
    );
    let mut parts = m["parts"].as_array().unwrap().clone();
    // Part ids are the thread's own, fresh per part.
    for part in &mut parts {
        if part["type"] == "text" || part["type"] == "reasoning" {
            assert!(
                part["id"].as_str().is_some_and(|id| id.len() == 32),
                "{part}"
            );
            part.as_object_mut().unwrap().remove("id");
        }
    }
    assert_eq!(
        Value::Array(parts),
        json!([
            { "type": "step-start" },
            { "type": "reasoning", "text": "The user wants the weather.", "state": "done" },
            { "type": "text", "text": "Let me check.", "state": "done" },
            { "type": "tool-weather", "toolCallId": "call_1", "state": "output-available",
              "input": { "city": "Paris" }, "output": { "temp": 21 } },
            { "type": "data-forecast", "id": "f1", "data": { "status": "done", "days": 3 } },
            { "type": "step-start" },
            { "type": "text", "text": " It is 21°C in Paris.", "state": "done" },
            { "type": "source-url", "sourceId": "s1", "url": "https://weather.example/paris", "title": "Paris weather" },
            { "type": "source-document", "sourceId": "s2", "mediaType": "application/pdf", "title": "Forecast", "filename": "f.pdf" },
            { "type": "file", "mediaType": "image/png", "url": "data:image/png;base64,iVBORw0KGgo=" },
        ])
    );
    assert_eq!(&message(&api, &t, "reply-1").await, &m);
    let view = api.query("threads:get", json!({ "threadId": t })).await;
    let calls = view.value()["toolCalls"].as_array().unwrap().clone();
    assert_eq!(calls[0]["id"], "call_1");
    assert_eq!(calls[0]["status"], "completed");
    relay.stop().await;
}

#[tokio::test]
async fn a_malformed_event_is_refused_and_keeps_only_what_came_before() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    for (i, (bad, needle)) in [
        (
            b"data: {\"type\":\"text-delta\"\n\n".to_vec(),
            "not a JSON chunk",
        ),
        (
            event(json!({ "type": "teleport" })),
            "unknown UI message chunk type",
        ),
        (
            event(json!({ "type": "text-delta", "id": "other", "delta": "x" })),
            "no `text-start`",
        ),
        (
            b"nonsense line\n\n".to_vec(),
            "not a server-sent event field",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("r{i}");
        let path = format!("/api/stream?threadId={t}&messageId={id}");
        let mut body = event(json!({ "type": "start" }));
        body.extend(event(json!({ "type": "text-start", "id": "0" })));
        body.extend(event(
            json!({ "type": "text-delta", "id": "0", "delta": "Hel" }),
        ));
        body.extend(bad);
        body.extend(event(
            json!({ "type": "text-delta", "id": "0", "delta": "lo" }),
        ));
        body.extend(event(json!({ "type": "finish" })));
        let answer = api.post_typed(&path, SSE, body).await;
        assert_eq!(answer.error(400), "invalid_input");
        let text = answer.body["message"].as_str().unwrap();
        assert!(text.contains(needle), "{text} lacks {needle}");
        let m = message(&api, &t, &id).await;
        assert_eq!(m["status"], "interrupted", "{m}");
        assert_eq!(m["content"], "Hel", "nothing after the bad event is stored");
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_cut_mid_body_leaves_the_message_interrupted_with_every_chunk() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let stream = api
        .stream_typed(&format!("/api/stream?threadId={t}"), SSE)
        .await;
    stream.raw(event(json!({ "type": "start", "messageId": "cut" })));
    stream.raw(event(json!({ "type": "text-start", "id": "0" })));
    stream.raw(event(
        json!({ "type": "text-delta", "id": "0", "delta": "one " }),
    ));
    tokio::time::sleep(Duration::from_millis(150)).await;
    stream.raw(event(
        json!({ "type": "text-delta", "id": "0", "delta": "two" }),
    ));
    stream.raw(b"data: {\"type\":\"text-delta\",\"id\":\"0\",\"del".to_vec());
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.cut();
    let interrupted = eventually(Duration::from_secs(10), || async {
        message(&api, &t, "cut").await["status"] == "interrupted"
    })
    .await;
    assert!(interrupted, "{}", message(&api, &t, "cut").await);
    assert_eq!(message(&api, &t, "cut").await["content"], "one two");
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_that_ends_before_finish_is_interrupted_and_one_with_an_error_is_error() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let mut body = event(json!({ "type": "start", "messageId": "early" }));
    body.extend(event(json!({ "type": "text-start", "id": "0" })));
    body.extend(event(
        json!({ "type": "text-delta", "id": "0", "delta": "par" }),
    ));
    let answer = api
        .post_typed(&format!("/api/stream?threadId={t}"), SSE, body)
        .await;
    assert_eq!(answer.error(400), "invalid_input");
    assert_eq!(message(&api, &t, "early").await["status"], "interrupted");

    let mut body = event(json!({ "type": "start", "messageId": "failed" }));
    body.extend(event(
        json!({ "type": "error", "errorText": "provider overloaded" }),
    ));
    let answer = api
        .post_typed(&format!("/api/stream?threadId={t}"), SSE, body)
        .await;
    let m = answer.value();
    assert_eq!(
        (&m["status"], &m["error"]),
        (&json!("error"), &json!("provider overloaded"))
    );
    relay.stop().await;
}

#[tokio::test]
async fn the_query_must_name_the_thread_and_nothing_else() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let body = event(json!({ "type": "start" }));
    let answer = api.post_typed("/api/stream", SSE, body.clone()).await;
    assert_eq!(answer.error(400), "invalid_input");
    let answer = api
        .post_typed(
            &format!("/api/stream?threadId={t}&colour=red"),
            SSE,
            body.clone(),
        )
        .await;
    assert_eq!(answer.error(400), "invalid_input");
    let answer = api
        .post_typed(
            &format!("/api/stream?threadId={t}&messageId=bad%20id"),
            SSE,
            body,
        )
        .await;
    assert_eq!(answer.error(400), "invalid_input");
    relay.stop().await;
}

#[tokio::test]
async fn a_reset_step_drops_the_steps_parts_as_use_chat_does() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    let mut body = Vec::new();
    for chunk in [
        json!({ "type": "start", "messageId": "retried" }),
        json!({ "type": "start-step" }),
        json!({ "type": "text-start", "id": "0" }),
        json!({ "type": "text-delta", "id": "0", "delta": "first try" }),
        json!({ "type": "reset-step" }),
        json!({ "type": "text-start", "id": "0" }),
        json!({ "type": "text-delta", "id": "0", "delta": "second try" }),
        json!({ "type": "text-end", "id": "0" }),
        json!({ "type": "finish" }),
    ] {
        body.extend(event(chunk));
    }
    body.extend(b"data: [DONE]\n\n");
    let answer = api
        .post_typed(&format!("/api/stream?threadId={t}"), SSE, body)
        .await;
    let m = answer.value();
    assert_eq!(m["content"], "second try");
    let types: Vec<&str> = m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["step-start", "text"]);
    relay.stop().await;
}
