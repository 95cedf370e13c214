//! A thread's summary and context entries, written from JS.

use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

#[wasm_bindgen_test]
async fn a_summary_is_set_shown_in_the_list_and_cleared() {
    let store = open_store(&unique_db("summary")).await;
    let id = create_thread(&store, Some("long talk")).await;
    let thread = open_thread(&store, &id).await.unwrap();
    thread
        .set_summary(Some("Planning the trip to Lisbon".into()))
        .unwrap();
    assert_eq!(
        json(&thread.view().unwrap())["summary"],
        "Planning the trip to Lisbon"
    );
    ok(store.flush()).await;
    let listed = json(&ok(store.list_threads(None)).await)[0].clone();
    assert_eq!(listed["summary"], "Planning the trip to Lisbon");

    thread.set_summary(None).unwrap();
    ok(store.flush()).await;
    assert!(json(&thread.view().unwrap()).get("summary").is_none());
    assert!(
        json(&ok(store.list_threads(None)).await)[0]
            .get("summary")
            .is_none()
    );
    let error = thread.set_summary(Some("x".repeat(100_000))).unwrap_err();
    assert_eq!(code(&error), "invalid_input");
}

#[wasm_bindgen_test]
async fn context_entries_are_set_by_priority_hidden_once_expired_and_removed() {
    let db = unique_db("context");
    let store = open_store(&db).await;
    let id = create_thread(&store, Some("ctx")).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let now = js_sys::Date::now() as u64;
    let set = |entry: serde_json::Value| thread.set_context(js(entry)).unwrap();
    set(json!({ "type": "memory", "key": "name", "value": "Ada" }));
    set(json!({ "type": "file", "key": "a.rs", "value": { "lines": 3 }, "priority": 5 }));
    set(json!({ "type": "memory", "key": "gone", "value": 1, "expiresAt": now - 1 }));
    set(
        json!({ "type": "memory", "key": "later", "value": 2, "priority": -1, "expiresAt": now + 3_600_000 }),
    );
    let context = json(&thread.view().unwrap())["context"].clone();
    let keys: Vec<&str> = context
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec!["a.rs", "name", "later"],
        "by priority, expired hidden: {context}"
    );
    assert_eq!(context[0]["value"], json!({ "lines": 3 }));
    assert_eq!(context[0]["type"], "file");
    assert_eq!(context[2]["expiresAt"], now + 3_600_000);

    // Replacing by type and key, then removing.
    set(json!({ "type": "memory", "key": "name", "value": "Ada L." }));
    thread.remove_context("file".into(), "a.rs".into()).unwrap();
    ok(store.flush()).await;
    ok(store.close()).await;
    let store = open_store(&db).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let context = json(&thread.view().unwrap())["context"].clone();
    assert_eq!(context[0]["value"], "Ada L.");
    assert_eq!(context.as_array().unwrap().len(), 2);

    let error = thread
        .remove_context("file".into(), "a.rs".into())
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    for bad in [
        json!({ "type": "memory", "key": "k" }),
        json!({ "type": "", "key": "k", "value": 1 }),
        json!({ "type": "memory", "key": "k", "value": 1, "priority": 1.5 }),
        json!({ "type": "memory", "key": "k", "value": 1, "ttl": 5 }),
    ] {
        let error = thread.set_context(js(bad.clone())).unwrap_err();
        assert_eq!(code(&error), "invalid_input", "{bad}");
    }
}
