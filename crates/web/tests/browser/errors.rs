//! Refusals reach JavaScript as `Error`s with a stable `code`.

use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

#[wasm_bindgen_test]
async fn unknown_threads_are_not_found() {
    let store = open_store(&unique_db("errors")).await;
    let error = open_thread(&store, "2Nf4zVZb2xtf4zWbGkqWmDLBMVNv")
        .await
        .err()
        .unwrap();
    assert_eq!(code(&error), "not_found");
    let error = open_thread(&store, "").await.err().unwrap();
    assert_eq!(code(&error), "not_found");
}

#[wasm_bindgen_test]
async fn bad_input_is_invalid_input() {
    let store = open_store(&unique_db("errors")).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let bad_role = thread.append_message(js(serde_json::json!({ "role": "robot" })));
    assert_eq!(code(&bad_role.unwrap_err()), "invalid_input");
    let typo = thread.append_message(js(serde_json::json!({ "role": "user", "contnet": "x" })));
    assert_eq!(code(&typo.unwrap_err()), "invalid_input");
    let unknown = thread.append_delta("nope".into(), "x".into(), None);
    assert_eq!(code(&unknown.unwrap_err()), "not_found");
    let rating = append(&thread, "assistant", "hi");
    let bad = thread.set_feedback(
        rating["id"].as_str().unwrap().into(),
        js(serde_json::json!({ "rating": 9 })),
    );
    assert_eq!(code(&bad.unwrap_err()), "invalid_input");
    // Nothing refused was written.
    assert_eq!(messages(&thread).len(), 1);
}

#[wasm_bindgen_test]
async fn a_closed_store_refuses_calls() {
    let store = open_store(&unique_db("closed")).await;
    ok(store.close()).await;
    let error = call(store.list_threads(None)).await.unwrap_err();
    assert_eq!(code(&error), "closed");
}

/// What JavaScript passes in is read strictly: wrong types, misspelt fields (also in nested objects),
/// and shapes that are not objects are refused with a message naming the field; JSON values
/// (metadata, tool input and output) arrive intact.
#[wasm_bindgen_test]
async fn arguments_are_read_strictly_and_json_values_kept() {
    let store = open_store(&unique_db("input")).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let refusal = |result: Result<JsValue, chatsync_web::StoreError>| {
        let error = result.expect_err("refused");
        assert_eq!(code(&error), "invalid_input", "{}", describe(&error));
        describe(&error)
    };
    let message = |value: serde_json::Value| thread.append_message(js(value));
    assert!(refusal(message(serde_json::json!({ "role": 3 }))).contains("`role` must be a string"));
    assert!(
        refusal(message(serde_json::json!({ "content": "x" }))).contains("missing field `role`")
    );
    assert!(
        refusal(message(
            serde_json::json!({ "role": "user", "contnet": "x" })
        ))
        .contains("unknown field `contnet`")
    );
    refusal(message(serde_json::json!(["user"])));
    refusal(thread.append_message(JsValue::from_str("user")));
    refusal(thread.append_message(JsValue::NULL));

    let settings =
        |value: serde_json::Value| thread.set_settings(js(value)).map(|()| JsValue::UNDEFINED);
    refusal(settings(serde_json::json!({ "contextWindow": 1.5 })));
    refusal(settings(serde_json::json!({ "contextWindow": -1 })));
    refusal(settings(serde_json::json!({ "temperature": "hot" })));
    settings(serde_json::json!({ "temperature": 0.7, "contextWindow": 8000 })).unwrap();
    let created = store.create_thread(Some(js(serde_json::json!({
        "title": "t", "settings": { "modle": "x" }
    }))));
    let error = call(created).await.expect_err("refused");
    assert_eq!(code(&error), "invalid_input");
    assert!(describe(&error).contains("`settings`: unknown field `modle`"));

    let metadata =
        serde_json::json!({ "n": [1, 2.5, null, "x"], "deep": { "big": 9007199254740991u64 } });
    let reply = json(
        &message(
            serde_json::json!({ "role": "assistant", "status": "pending", "metadata": metadata }),
        )
        .unwrap(),
    );
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    let end = |value: serde_json::Value| {
        thread
            .finish_message(reply_id.clone(), js(value))
            .map(|()| JsValue::UNDEFINED)
    };
    assert!(
        refusal(end(
            serde_json::json!({ "status": "complete", "usage": { "inputTokens": 1 } })
        ))
        .contains("`usage`: missing field `outputTokens`")
    );
    end(serde_json::json!({ "status": "complete", "usage": { "inputTokens": 1, "outputTokens": 2 } }))
        .unwrap();

    let call_id = thread
        .start_tool_call(js(serde_json::json!({
            "messageId": reply_id, "toolName": "search", "input": { "q": "flights", "max": 3 }
        })))
        .unwrap();
    let finish = |value: serde_json::Value| {
        thread
            .finish_tool_call(call_id.clone(), js(value))
            .map(|()| JsValue::UNDEFINED)
    };
    refusal(finish(serde_json::json!({ "status": "running" })));
    refusal(finish(serde_json::json!({ "status": "failed" })));
    refusal(finish(
        serde_json::json!({ "status": "completed", "error": "x" }),
    ));
    finish(serde_json::json!({ "status": "completed", "output": [{ "price": 120.5 }] })).unwrap();

    let view = json(&thread.view().unwrap());
    let stored = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply_id.as_str())
        .unwrap();
    assert_eq!(stored["metadata"], metadata);
    assert_eq!(
        stored["usage"],
        serde_json::json!({ "inputTokens": 1, "outputTokens": 2 })
    );
    assert_eq!(view["settings"]["temperature"], 0.7);
    assert_eq!(
        view["toolCalls"][0]["input"],
        serde_json::json!({ "q": "flights", "max": 3 })
    );
    assert_eq!(
        view["toolCalls"][0]["output"],
        serde_json::json!([{ "price": 120.5 }])
    );
}
