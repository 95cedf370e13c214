//! Issue 15's ordered message parts through the JS API: `appendMessage({ id, parts })`,
//! `appendPart`, `appendDelta(id, text, { part })`, tool parts and their approvals,
//! `finishMessage`'s `finishReason` and `error`, `updateMessageMetadata`, `resetStep`.

use chatsync_web::Thread;
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

async fn fresh(name: &str) -> (String, chatsync_web::ChatStore, String, Thread) {
    let db = unique_db(name);
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    (db, store, id, thread)
}

/// Appends `message` (a JSON object); returns it.
fn append_json(thread: &Thread, message: Value) -> Value {
    let message = thread
        .append_message(js(message))
        .unwrap_or_else(|e| panic!("appendMessage: {}", describe(&e)));
    json(&message)
}

/// The view's message `id`.
fn message(thread: &Thread, id: &str) -> Value {
    let view = json(&thread.view().expect("a view"));
    view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no message {id} in {view}"))
}

fn part(thread: &Thread, message_id: &str, part: Value) {
    thread
        .append_part(message_id.into(), js(part))
        .unwrap_or_else(|e| panic!("appendPart: {}", describe(&e)));
}

fn delta(thread: &Thread, message_id: &str, text: &str, part: Option<&str>) {
    let options = part.map(|p| js(json!({ "part": p })));
    thread
        .append_delta(message_id.into(), text.into(), options)
        .unwrap_or_else(|e| panic!("appendDelta: {}", describe(&e)));
}

fn types(message: &Value) -> Vec<String> {
    message["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_owned())
        .collect()
}

fn finish(thread: &Thread, id: &str, end: Value) -> Result<(), chatsync_web::StoreError> {
    thread.finish_message(id.into(), js(end))
}

#[wasm_bindgen_test]
async fn append_with_parts_keeps_their_order() {
    let (_, _store, _, thread) = fresh("parts-append").await;
    let m = append_json(
        &thread,
        json!({ "role": "user", "parts": [
            { "type": "text", "text": "What is in " },
            { "type": "file", "mediaType": "image/png", "url": "https://example.com/a.png", "filename": "a.png" },
            { "type": "text", "text": "this picture?" },
            { "type": "source-url", "sourceId": "s1", "url": "https://example.com" },
        ] }),
    );
    let id = m["id"].as_str().unwrap();
    let m = message(&thread, id);
    assert_eq!(types(&m), ["text", "file", "text", "source-url"]);
    assert_eq!(m["content"], "What is in this picture?");
    assert_eq!(m["parts"][1]["filename"], "a.png");
    assert_eq!(m["parts"][3]["url"], "https://example.com");

    let both = thread.append_message(js(json!({
        "role": "user", "content": "x", "parts": [{ "type": "text", "text": "y" }]
    })));
    assert_eq!(
        code(&both.unwrap_err()),
        "invalid_input",
        "content and text parts"
    );
    let unknown = thread.append_message(js(json!({
        "role": "user", "parts": [{ "type": "picture" }]
    })));
    assert_eq!(code(&unknown.unwrap_err()), "invalid_input");
    let not_a_list = thread.append_message(js(json!({ "role": "user", "parts": "text" })));
    assert_eq!(code(&not_a_list.unwrap_err()), "invalid_input");
}

#[wasm_bindgen_test]
async fn deltas_stream_into_two_parts_by_id() {
    let (_, _store, _, thread) = fresh("parts-two").await;
    let id = append_json(&thread, json!({ "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    part(&thread, &id, json!({ "type": "text", "id": "a" }));
    part(&thread, &id, json!({ "type": "text", "id": "b" }));
    delta(&thread, &id, "one ", Some("a"));
    delta(&thread, &id, "two", Some("b"));
    delta(&thread, &id, "three", Some("a"));
    let m = message(&thread, &id);
    assert_eq!(m["parts"][0]["text"], "one three");
    assert_eq!(m["parts"][1]["text"], "two");
    assert_eq!(m["parts"][0]["state"], "streaming");
    assert_eq!(m["status"], "streaming");

    let unknown = thread.append_delta(id.clone(), "x".into(), Some(js(json!({ "part": "c" }))));
    assert_eq!(code(&unknown.unwrap_err()), "not_found");
    let misspelt = thread.append_delta(id.clone(), "x".into(), Some(js(json!({ "prat": "a" }))));
    assert_eq!(code(&misspelt.unwrap_err()), "invalid_input");
    let twice = thread.append_part(id.clone(), js(json!({ "type": "text", "id": "a" })));
    assert_eq!(code(&twice.unwrap_err()), "already_exists");

    finish(&thread, &id, json!({ "status": "complete" })).unwrap();
    let m = message(&thread, &id);
    assert_eq!(m["parts"][0]["state"], "done");
    let closed = thread.append_part(id.clone(), js(json!({ "type": "step-start" })));
    assert_eq!(code(&closed.unwrap_err()), "invalid_transition");
}

#[wasm_bindgen_test]
async fn reasoning_then_text() {
    let (_, _store, _, thread) = fresh("parts-reasoning").await;
    let id = append_json(&thread, json!({ "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    part(&thread, &id, json!({ "type": "reasoning", "id": "r" }));
    delta(&thread, &id, "Thinking it ", Some("r"));
    delta(&thread, &id, "over.", Some("r"));
    // The two-argument form: the last part is not text, so a text part follows.
    delta(&thread, &id, "The answer ", None);
    delta(&thread, &id, "is 4.", None);
    let m = message(&thread, &id);
    assert_eq!(types(&m), ["reasoning", "text"]);
    assert_eq!(m["parts"][0]["text"], "Thinking it over.");
    assert_eq!(m["parts"][1]["text"], "The answer is 4.");
    assert_eq!(
        m["content"], "The answer is 4.",
        "content is the text parts"
    );
}

#[wasm_bindgen_test]
async fn tool_parts_follow_their_call_and_its_approval() {
    let (_, _store, _, thread) = fresh("parts-tools").await;
    let id = append_json(&thread, json!({ "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    delta(&thread, &id, "Let me look.", None);
    let call = thread
        .start_tool_call(js(json!({
            "id": "call_1", "messageId": id, "toolName": "weather", "inputStreaming": true
        })))
        .unwrap();
    assert_eq!(call, "call_1");
    let tool = |thread: &Thread| message(thread, &id)["parts"][1].clone();
    assert_eq!(tool(&thread)["type"], "tool-weather");
    assert_eq!(tool(&thread)["toolCallId"], "call_1");
    assert_eq!(tool(&thread)["state"], "input-streaming");

    thread
        .set_tool_call_input(call.clone(), js(json!({ "city": "Lisbon" })))
        .unwrap();
    assert_eq!(tool(&thread)["state"], "input-available");
    assert_eq!(tool(&thread)["input"], json!({ "city": "Lisbon" }));

    let approval = thread
        .request_approval(js(json!({
            "kind": "tool-call", "subject": "weather in Lisbon", "messageId": id, "toolCallId": call
        })))
        .unwrap();
    assert_eq!(tool(&thread)["state"], "approval-requested");
    assert_eq!(tool(&thread)["approval"]["id"], approval.as_str());
    let view = json(&thread.view().unwrap());
    assert_eq!(view["pendingApprovals"][0]["toolCallId"], "call_1");

    thread
        .decide_approval(
            approval.clone(),
            js(json!({ "approve": true, "decidedBy": "me" })),
        )
        .unwrap();
    assert_eq!(tool(&thread)["state"], "approval-responded");
    assert_eq!(tool(&thread)["approval"]["approved"], true);
    thread
        .finish_tool_call(
            call.clone(),
            js(json!({ "status": "completed", "output": { "c": 21 } })),
        )
        .unwrap();
    assert_eq!(tool(&thread)["state"], "output-available");
    assert_eq!(tool(&thread)["output"], json!({ "c": 21 }));

    // A dynamic tool, and text after the calls goes below them.
    thread
        .start_tool_call(js(json!({
            "messageId": id, "toolName": "search", "input": { "q": "x" }, "dynamic": true
        })))
        .unwrap();
    delta(&thread, &id, "It is 21 °C.", None);
    let m = message(&thread, &id);
    assert_eq!(types(&m), ["text", "tool-weather", "dynamic-tool", "text"]);
    assert_eq!(m["parts"][2]["toolName"], "search");
    assert_eq!(m["parts"][2]["state"], "input-available");

    let unknown_call = thread.request_approval(js(json!({
        "kind": "tool-call", "subject": "s", "toolCallId": "nope"
    })));
    assert_eq!(code(&unknown_call.unwrap_err()), "not_found");
    let finished = thread.set_tool_call_input(call, js(json!({})));
    assert_eq!(code(&finished.unwrap_err()), "invalid_transition");
}

#[wasm_bindgen_test]
async fn a_data_part_with_a_known_id_replaces_its_data() {
    let (_, _store, _, thread) = fresh("parts-data").await;
    let id = append_json(&thread, json!({ "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    part(
        &thread,
        &id,
        json!({ "type": "data-weather", "id": "w", "data": { "status": "loading" } }),
    );
    part(&thread, &id, json!({ "type": "step-start" }));
    part(
        &thread,
        &id,
        json!({ "type": "data-weather", "id": "w", "data": { "status": "done", "c": 21 } }),
    );
    part(
        &thread,
        &id,
        json!({ "type": "data-weather", "id": "v", "data": [1, 2] }),
    );
    let m = message(&thread, &id);
    assert_eq!(types(&m), ["data-weather", "step-start", "data-weather"]);
    assert_eq!(m["parts"][0]["data"], json!({ "status": "done", "c": 21 }));
    assert_eq!(m["parts"][2]["data"], json!([1, 2]));
    let no_data = thread.append_part(id.clone(), js(json!({ "type": "data-x" })));
    assert_eq!(code(&no_data.unwrap_err()), "invalid_input");

    // resetStep drops what came after the last step-start.
    assert_eq!(thread.reset_step(id.clone()).unwrap(), 1);
    assert_eq!(
        types(&message(&thread, &id)),
        ["data-weather", "step-start"]
    );
}

#[wasm_bindgen_test]
async fn a_callers_id_is_kept_and_a_duplicate_refused() {
    let (_, _store, _, thread) = fresh("parts-ids").await;
    let m = append_json(
        &thread,
        json!({ "id": "ui-msg-1", "role": "user", "content": "hi" }),
    );
    assert_eq!(m["id"], "ui-msg-1");
    assert_eq!(message(&thread, "ui-msg-1")["content"], "hi");
    let again = thread.append_message(js(
        json!({ "id": "ui-msg-1", "role": "user", "content": "x" }),
    ));
    assert_eq!(code(&again.unwrap_err()), "already_exists");
    let malformed =
        thread.append_message(js(json!({ "id": "a b/c", "role": "user", "content": "x" })));
    assert_eq!(code(&malformed.unwrap_err()), "invalid_input");
    assert_eq!(messages(&thread).len(), 1);
}

#[wasm_bindgen_test]
async fn finish_reason_and_error_show_in_the_view() {
    let (_, _store, _, thread) = fresh("parts-finish").await;
    let ok_id = append_json(&thread, json!({ "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    delta(&thread, &ok_id, "done", None);
    let refused = finish(
        &thread,
        &ok_id,
        json!({ "status": "complete", "error": "no" }),
    );
    assert_eq!(
        code(&refused.unwrap_err()),
        "invalid_input",
        "error only with status error"
    );
    finish(
        &thread,
        &ok_id,
        json!({ "status": "complete", "finishReason": "stop" }),
    )
    .unwrap();
    let m = message(&thread, &ok_id);
    assert_eq!(m["finishReason"], "stop");
    assert!(m.get("error").is_none());

    let failed = append_json(&thread, json!({ "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    finish(
        &thread,
        &failed,
        json!({ "status": "error", "finishReason": "error", "error": "rate limited" }),
    )
    .unwrap();
    let m = message(&thread, &failed);
    assert_eq!(m["status"], "error");
    assert_eq!(m["error"], "rate limited");
    assert_eq!(m["finishReason"], "error");
}

#[wasm_bindgen_test]
async fn metadata_is_replaced_at_any_status() {
    let (_, _store, _, thread) = fresh("parts-metadata").await;
    let id = append_json(
        &thread,
        json!({ "role": "user", "content": "hi", "metadata": { "a": 1 } }),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    thread
        .update_message_metadata(id.clone(), js(json!({ "b": { "c": 2 } })))
        .unwrap();
    assert_eq!(
        message(&thread, &id)["metadata"],
        json!({ "b": { "c": 2 } })
    );
    let not_object = thread.update_message_metadata(id.clone(), js(json!([1])));
    assert_eq!(code(&not_object.unwrap_err()), "invalid_input");
    thread
        .update_message_metadata(id.clone(), JsValue::NULL)
        .unwrap();
    assert!(message(&thread, &id).get("metadata").is_none());
    let unknown = thread.update_message_metadata("nope".into(), js(json!({})));
    assert_eq!(code(&unknown.unwrap_err()), "not_found");
}

#[wasm_bindgen_test]
async fn a_reload_keeps_parts_and_their_details() {
    let (db, store, thread_id, thread) = fresh("parts-reload").await;
    append_json(
        &thread,
        json!({ "id": "q1", "role": "user", "content": "Weather?" }),
    );
    let id = append_json(&thread, json!({ "id": "a1", "role": "assistant" }))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    part(&thread, &id, json!({ "type": "step-start" }));
    part(&thread, &id, json!({ "type": "reasoning", "id": "r" }));
    delta(&thread, &id, "Look it up.", Some("r"));
    let call = thread
        .start_tool_call(js(
            json!({ "messageId": id, "toolName": "weather", "input": {} }),
        ))
        .unwrap();
    let approval = thread
        .request_approval(js(json!({
            "kind": "tool-call", "subject": "weather", "messageId": id, "toolCallId": call
        })))
        .unwrap();
    part(
        &thread,
        &id,
        json!({ "type": "data-card", "id": "c", "data": { "n": 1 } }),
    );
    delta(&thread, &id, "Sunny.", None);
    thread
        .update_message_metadata(id.clone(), js(json!({ "model": "m" })))
        .unwrap();
    finish(
        &thread,
        &id,
        json!({ "status": "complete", "finishReason": "stop" }),
    )
    .unwrap();
    let before = message(&thread, &id);
    ok(store.close()).await;

    let store = open_store(&db).await;
    let thread = open_thread(&store, &thread_id).await.unwrap();
    let after = message(&thread, &id);
    assert_eq!(after, before);
    assert_eq!(
        types(&after),
        [
            "step-start",
            "reasoning",
            "tool-weather",
            "data-card",
            "text"
        ]
    );
    assert_eq!(after["parts"][2]["approval"]["id"], approval.as_str());
    assert_eq!(after["finishReason"], "stop");
    assert_eq!(after["metadata"], json!({ "model": "m" }));
    assert_eq!(message(&thread, "q1")["content"], "Weather?");
}
