//! The trash: `deleteThread` moves a thread there, `restoreThread` brings it back, `purgeThread`
//! (or the end of the trash period, applied on open) erases its bytes from IndexedDB, here and on
//! the user's other devices; `unarchiveThread`.

use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::{synced_store, unique_user};

const DAY_MS: f64 = 86_400_000.0;

async fn list(
    store: &chatsync_web::ChatStore,
    options: serde_json::Value,
) -> Vec<serde_json::Value> {
    json(&ok(store.list_threads(Some(js(options)))).await)
        .as_array()
        .unwrap()
        .clone()
}

fn ids(list: &[serde_json::Value]) -> Vec<String> {
    list.iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs `Date.now` `days` ahead (the store reads the time through it), until `reset_clock`.
fn shift_clock(days: f64) {
    let shift = js_sys::Function::new_no_args(&format!(
        "if (!globalThis.__realNow) globalThis.__realNow = Date.now; \
         Date.now = () => globalThis.__realNow() + {};",
        days * DAY_MS
    ));
    shift.call0(&wasm_bindgen::JsValue::NULL).unwrap();
}

fn reset_clock() {
    let reset = js_sys::Function::new_no_args(
        "if (globalThis.__realNow) { Date.now = globalThis.__realNow; delete globalThis.__realNow; }",
    );
    reset.call0(&wasm_bindgen::JsValue::NULL).unwrap();
}

#[wasm_bindgen_test]
async fn a_deleted_thread_goes_to_the_trash_and_is_restored_as_it_was() {
    let db = unique_db("trash");
    let store = open_store(&db).await;
    let kept = create_thread(&store, Some("kept")).await;
    let binned = create_thread(&store, Some("binned")).await;
    let archived = create_thread(&store, Some("archived")).await;
    append(
        &open_thread(&store, &binned).await.unwrap(),
        "user",
        "still here",
    );
    ok(store.archive_thread(archived.clone())).await;

    ok(store.delete_thread(binned.clone())).await;
    ok(store.delete_thread(archived.clone())).await;
    assert_eq!(ids(&list(&store, json!({})).await), vec![kept.clone()]);
    assert_eq!(
        ids(&list(&store, json!({ "includeArchived": true })).await),
        vec![kept.clone()]
    );
    let trash = list(&store, json!({ "trashed": true })).await;
    assert_eq!(ids(&trash).len(), 2);
    assert!(ids(&trash).contains(&binned) && ids(&trash).contains(&archived));
    assert!(
        trash.iter().all(|s| s["trashedAt"].as_u64().is_some()),
        "{trash:?}"
    );
    // A trashed thread still opens (a trash view can show it), and says so.
    let open = open_thread(&store, &binned).await.unwrap();
    assert!(json(&open.view().unwrap())["trashedAt"].as_u64().is_some());
    // Deleting again keeps it in the trash.
    ok(store.delete_thread(binned.clone())).await;

    // Kept across a reload, then restored: archived stays archived.
    ok(store.close()).await;
    let store = open_store(&db).await;
    assert_eq!(list(&store, json!({ "trashed": true })).await.len(), 2);
    ok(store.restore_thread(binned.clone())).await;
    ok(store.restore_thread(archived.clone())).await;
    assert!(list(&store, json!({ "trashed": true })).await.is_empty());
    let active = ids(&list(&store, json!({})).await);
    assert!(active.contains(&binned) && !active.contains(&archived));
    let with_archived = ids(&list(&store, json!({ "includeArchived": true })).await);
    assert!(with_archived.contains(&archived));
    let open = open_thread(&store, &binned).await.unwrap();
    assert!(json(&open.view().unwrap()).get("trashedAt").is_none());
    assert_eq!(messages(&open)[0].1, "still here");

    // Restoring what is not in the trash is refused.
    let error = call(store.restore_thread(kept.clone())).await.unwrap_err();
    assert_eq!(code(&error), "invalid_transition", "{}", describe(&error));
    let error = call(store.delete_thread("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
}

#[wasm_bindgen_test]
async fn an_archived_thread_is_unarchived() {
    let store = open_store(&unique_db("unarchive")).await;
    let id = create_thread(&store, Some("back")).await;
    ok(store.archive_thread(id.clone())).await;
    assert!(list(&store, json!({})).await.is_empty());
    ok(store.unarchive_thread(id.clone())).await;
    let listed = list(&store, json!({})).await;
    assert_eq!(ids(&listed), vec![id.clone()]);
    assert_eq!(listed[0]["status"], "active");
    let error = call(store.unarchive_thread("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
}

#[wasm_bindgen_test]
async fn a_purged_threads_records_are_gone_from_indexeddb() {
    let db = unique_db("purge");
    let store = open_store(&db).await;
    let other = create_thread(&store, Some("other")).await;
    let id = create_thread(&store, Some("secret")).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "the launch code is 0000");
    ok(store.flush()).await;
    assert!(
        !stored_keys_of(&db, &id).await.is_empty(),
        "written before the purge"
    );

    ok(store.delete_thread(id.clone())).await;
    ok(store.purge_thread(id.clone())).await;
    assert_eq!(stored_keys_of(&db, &id).await, Vec::<String>::new());
    assert!(list(&store, json!({ "trashed": true })).await.is_empty());
    assert!(
        !stored_keys_of(&db, &other).await.is_empty(),
        "other threads are untouched"
    );
    // Writes through an object opened before are refused; the id stays purged.
    let refused = thread.append_message(js(json!({ "role": "user", "content": "again" })));
    assert_eq!(code(&refused.unwrap_err()), "not_found");
    let error = call(store.restore_thread(id.clone())).await.unwrap_err();
    assert_eq!(code(&error), "purged", "{}", describe(&error));
    let error = call(store.purge_thread("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");

    // Nothing comes back after a reload, and the text is in no record of the database.
    ok(store.close()).await;
    let store = open_store(&db).await;
    assert_eq!(stored_keys_of(&db, &id).await, Vec::<String>::new());
    let error = open_thread(&store, &id).await.err().unwrap();
    assert_eq!(code(&error), "not_found");
}

#[wasm_bindgen_test]
async fn a_thread_purged_on_one_device_leaves_the_others_indexeddb() {
    let user = unique_user("purger");
    let (db_a, db_b) = (unique_db("purge-a"), unique_db("purge-b"));
    let a = synced_store(&db_a, &user).await;
    let b = synced_store(&db_b, &user).await;
    let id = create_thread(&a, Some("shared")).await;
    append(&open_thread(&a, &id).await.unwrap(), "user", "hello");
    ok(a.sync()).await;
    eventually("B stores the thread", async || {
        open_thread(&b, &id).await.is_ok() && !stored_keys_of(&db_b, &id).await.is_empty()
    })
    .await;
    ok(b.flush()).await;

    ok(a.purge_thread(id.clone())).await;
    ok(a.sync()).await;
    let mut left = Vec::new();
    for _ in 0..200 {
        left = stored_keys_of(&db_b, &id).await;
        if left.is_empty() {
            break;
        }
        sleep(50).await;
    }
    assert_eq!(left, Vec::<String>::new(), "B erased its records");
    assert_eq!(stored_keys_of(&db_a, &id).await, Vec::<String>::new());
}

#[wasm_bindgen_test]
async fn trash_past_its_period_is_purged_on_open() {
    let db = unique_db("trash-expiry");
    let store = open_store(&db).await;
    ok(store.set_preferences(js(json!({ "trashRetentionDays": 2 })))).await;
    let old = create_thread(&store, Some("old")).await;
    let recent = create_thread(&store, Some("recent")).await;
    append(&open_thread(&store, &old).await.unwrap(), "user", "bytes");
    ok(store.delete_thread(old.clone())).await;
    ok(store.close()).await;

    // A day later: still restorable. Then three days on: the first is past its two days.
    shift_clock(1.0);
    let store = open_store(&db).await;
    ok(store.delete_thread(recent.clone())).await;
    assert_eq!(list(&store, json!({ "trashed": true })).await.len(), 2);
    ok(store.close()).await;
    shift_clock(2.5);
    let store = open_store(&db).await;
    let trash = ids(&list(&store, json!({ "trashed": true })).await);
    let old_keys = stored_keys_of(&db, &old).await;
    let restored = call(store.restore_thread(old.clone())).await;
    reset_clock();
    assert_eq!(trash, vec![recent.clone()]);
    assert_eq!(old_keys, Vec::<String>::new());
    assert_eq!(code(&restored.unwrap_err()), "purged");
}

#[wasm_bindgen_test]
async fn the_users_retention_purges_on_open_beyond_the_newest_threads() {
    let db = unique_db("retention");
    let store = open_store(&db).await;
    let oldest = create_thread(&store, Some("oldest")).await;
    append(
        &open_thread(&store, &oldest).await.unwrap(),
        "user",
        "old words",
    );
    sleep(5).await;
    let newer = create_thread(&store, Some("newer")).await;
    sleep(5).await;
    let newest = create_thread(&store, Some("newest")).await;
    ok(store.set_preferences(js(json!({ "keepNewestThreads": 2 })))).await;
    ok(store.close()).await;

    let store = open_store(&db).await;
    let listed = ids(&list(&store, json!({})).await);
    assert_eq!(listed, vec![newest, newer]);
    assert_eq!(stored_keys_of(&db, &oldest).await, Vec::<String>::new());
    let error = open_thread(&store, &oldest).await.err().unwrap();
    assert_eq!(code(&error), "not_found");
}
