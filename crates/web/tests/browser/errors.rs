//! Refusals reach JavaScript as `Error`s with a stable `code`.

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
    let unknown = thread.append_delta("nope".into(), "x".into());
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
