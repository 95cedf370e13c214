//! A purged thread is gone for the app: `openThread` rejects with `not_found`, exactly as for an id
//! that never existed — on this device, after a reload, and on every device the purge reached.

use chatsync_web::ChatStore;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::{synced_store, unique_user};

/// The `not_found` error's message for `id`, asserting its code.
async fn not_found(store: &ChatStore, id: &str) -> String {
    let error = open_thread(store, id)
        .await
        .err()
        .unwrap_or_else(|| panic!("thread {id} opened"));
    assert_eq!(code(&error), "not_found", "{}", describe(&error));
    describe(&error)
}

#[wasm_bindgen_test]
async fn a_purged_thread_is_not_found_like_an_unknown_one() {
    let db = unique_db("deleted");
    let store = open_store(&db).await;
    let id = create_thread(&store, Some("to delete")).await;
    let open = open_thread(&store, &id).await.unwrap();
    append(&open, "user", "soon gone");
    ok(store.purge_thread(id.clone())).await;

    let unknown = "2Nf4zVZb2xtf4zWbGkqWmDLBMVNv";
    let shape = |message: String, id: &str| message.replace(id, "<id>");
    assert_eq!(
        shape(not_found(&store, &id).await, &id),
        shape(not_found(&store, unknown).await, unknown)
    );
    // An object opened before the deletion refuses writes the same way; reading it still works.
    let refused = open.append_message(js(serde_json::json!({ "role": "user", "content": "late" })));
    assert_eq!(code(&refused.unwrap_err()), "not_found");
    assert_eq!(json(&open.view().unwrap())["status"], "deleted");
    // Archiving it is refused as for an unknown id; purging it again is done already.
    let error = call(store.archive_thread(id.clone())).await.unwrap_err();
    assert_eq!(code(&error), "not_found");
    ok(store.purge_thread(id.clone())).await;
    ok(store.close()).await;

    // After a reload: from the stored view, and from the document when there is no view.
    let store = open_store(&db).await;
    not_found(&store, &id).await;
    ok(store.close()).await;
    let raw_db = raw::open(&db).await;
    raw::delete(&raw_db, "views", &id).await;
    raw_db.close();
    let store = open_store(&db).await;
    not_found(&store, &id).await;
}

#[wasm_bindgen_test]
async fn a_thread_purged_on_one_device_is_not_found_on_the_others() {
    let user = unique_user("deleter");
    let a = synced_store(&unique_db("delete-a"), &user).await;
    let b = synced_store(&unique_db("delete-b"), &user).await;
    let id = create_thread(&a, Some("shared")).await;
    append(&open_thread(&a, &id).await.unwrap(), "user", "hello");
    ok(a.sync()).await;
    // B holds it open when the deletion arrives.
    let mut on_b = None;
    eventually("B opens the thread", async || {
        on_b = open_thread(&b, &id).await.ok();
        on_b.is_some()
    })
    .await;
    let on_b = on_b.unwrap();

    ok(a.purge_thread(id.clone())).await;
    ok(a.sync()).await;
    eventually(
        "B no longer opens it",
        async || matches!(open_thread(&b, &id).await, Err(e) if code(&e) == "not_found"),
    )
    .await;
    let refused = on_b.append_message(js(serde_json::json!({ "role": "user", "content": "x" })));
    assert_eq!(code(&refused.unwrap_err()), "not_found");
    // A device that never held it learns the deletion from the thread list.
    let c = synced_store(&unique_db("delete-c"), &user).await;
    eventually(
        "C's list has synced",
        async || matches!(open_thread(&c, &id).await, Err(e) if code(&e) == "not_found"),
    )
    .await;
}
