//! Local-only threads never leave the device: the relay never receives them, and `sync()` does not
//! wait for them.

use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::{synced_store, unique_user};

#[wasm_bindgen_test]
async fn a_local_only_thread_never_reaches_the_relay() {
    let user = unique_user("local-only");
    let a = synced_store(&unique_db("local-a"), &user).await;
    let init = json!({ "title": "private", "localOnly": true });
    let private = json(&ok(a.create_thread(Some(js(init)))).await);
    assert_eq!(private["localOnly"], true);
    let private = private["id"].as_str().unwrap().to_owned();
    let shared = create_thread(&a, Some("shared")).await;
    append(
        &open_thread(&a, &private).await.unwrap(),
        "user",
        "stays here",
    );
    append(&open_thread(&a, &shared).await.unwrap(), "user", "goes out");
    ok(a.sync()).await;
    assert_eq!(json(&a.status().unwrap())["pendingThreads"], 0);

    // Another device gets the shared thread, never the local-only one.
    let b = synced_store(&unique_db("local-b"), &user).await;
    eventually("B opens the shared thread", async || {
        open_thread(&b, &shared).await.is_ok()
    })
    .await;
    let error = open_thread(&b, &private)
        .await
        .err()
        .expect("the relay has no local-only thread");
    assert!(
        matches!(code(&error).as_str(), "not_found" | "offline"),
        "{}",
        describe(&error)
    );
}

#[wasm_bindgen_test]
async fn with_history_saving_off_new_threads_are_local_only() {
    let store = open_store(&unique_db("local-pref")).await;
    ok(store.set_preferences(js(json!({ "saveConversationHistory": false })))).await;
    let created = json(&ok(store.create_thread(None)).await);
    assert_eq!(created["localOnly"], true);
    let asked = json(&ok(store.create_thread(Some(js(json!({ "localOnly": false }))))).await);
    assert!(
        asked.get("localOnly").is_none(),
        "asked for a synced thread: {asked}"
    );
    // Switching it back on does not make the earlier thread synced.
    ok(store.set_preferences(js(json!({ "saveConversationHistory": true })))).await;
    let id = created["id"].as_str().unwrap();
    let view = json(&open_thread(&store, id).await.unwrap().view().unwrap());
    assert_eq!(view["localOnly"], true);
}
