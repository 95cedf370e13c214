//! Local-only threads never leave the device: the relay never receives them, and `sync()` does not
//! wait for them.

use chatsync_web::ChatStore;
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
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

/// The index document a database syncs, as stored (snapshot and chunks): what the relay and the
/// user's other devices receive of the thread list.
async fn stored_index(db: &str) -> automerge::AutoCommit {
    let database = raw::open(db).await;
    let id = raw::get(&database, "meta", "indexId")
        .await
        .and_then(|v| v.as_string())
        .expect("the database has an index");
    database.close();
    stored_doc(db, &id).await
}

/// A document as stored: its snapshot and chunks.
async fn stored_doc(db: &str, id: &str) -> automerge::AutoCommit {
    let database = raw::open(db).await;
    let bytes = |record: JsValue| {
        js_sys::Reflect::get(&record, &"bytes".into())
            .unwrap()
            .unchecked_into::<js_sys::Uint8Array>()
            .to_vec()
    };
    let mut doc = match raw::get(&database, "snapshots", id).await {
        Some(snapshot) => automerge::AutoCommit::load(&bytes(snapshot)).unwrap(),
        None => automerge::AutoCommit::new(),
    };
    for key in raw::keys(&database, "chunks").await {
        if key.starts_with(&format!("{id}/")) {
            let chunk = raw::get(&database, "chunks", &key).await.unwrap();
            doc.load_incremental(&bytes(chunk)).unwrap();
        }
    }
    database.close();
    doc
}

/// Every root key and text value of a stored index that mentions `needle`.
async fn traces_in_stored_index(db: &str, needle: &str) -> Vec<String> {
    use automerge::ReadDoc;
    let doc = stored_index(db).await;
    doc.map_range(automerge::ROOT, ..)
        .map(|item| format!("{}={:?}", item.key, item.value))
        .filter(|entry| entry.contains(needle))
        .collect()
}

async fn listed_ids(store: &ChatStore, options: serde_json::Value) -> Vec<String> {
    json(&ok(store.list_threads(Some(js(options)))).await)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn local_thread(store: &ChatStore, title: &str) -> String {
    let init = json!({ "title": title, "localOnly": true });
    let created = json(&ok(store.create_thread(Some(js(init)))).await);
    created["id"].as_str().unwrap().to_owned()
}

#[wasm_bindgen_test]
async fn a_local_only_threads_summary_stays_out_of_the_synced_index() {
    let user = unique_user("local-index");
    let a_db = unique_db("local-index-a");
    let a = synced_store(&a_db, &user).await;
    let private = local_thread(&a, "secret plans").await;
    append(
        &open_thread(&a, &private).await.unwrap(),
        "user",
        "a private preview",
    );
    // Created with the preference off, then switched back on: still never uploaded.
    ok(a.set_preferences(js(json!({ "saveConversationHistory": false })))).await;
    let by_preference = json(&ok(a.create_thread(None)).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    append(
        &open_thread(&a, &by_preference).await.unwrap(),
        "user",
        "also private",
    );
    ok(a.set_preferences(js(json!({ "saveConversationHistory": true })))).await;
    let shared = create_thread(&a, Some("shared")).await;
    append(&open_thread(&a, &shared).await.unwrap(), "user", "goes out");
    ok(a.sync()).await;

    // Listed (what `search` reads), counted, on this device.
    let listed = listed_ids(&a, json!({})).await;
    for id in [&private, &by_preference, &shared] {
        assert!(listed.contains(id), "{id} in {listed:?}");
    }
    let list = json(&ok(a.list_threads(None)).await);
    let summary = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == private.as_str())
        .unwrap();
    assert_eq!(summary["title"], "secret plans");
    assert_eq!(summary["preview"], "a private preview");
    assert_eq!(summary["localOnly"], true);
    assert_eq!(json(&a.usage().unwrap())["messagesToday"], 3);
    // Nothing of them in the index document this device syncs.
    for needle in [
        private.as_str(),
        by_preference.as_str(),
        "secret",
        "private",
    ] {
        assert_eq!(
            traces_in_stored_index(&a_db, needle).await,
            Vec::<String>::new()
        );
    }

    // Another device gets the index from the relay: the shared thread only.
    let b_db = unique_db("local-index-b");
    let b = synced_store(&b_db, &user).await;
    eventually("B lists the shared thread", async || {
        listed_ids(&b, json!({})).await.contains(&shared)
    })
    .await;
    ok(b.flush()).await;
    assert_eq!(listed_ids(&b, json!({})).await, [shared.as_str()]);
    assert_eq!(json(&b.usage().unwrap())["messagesToday"], 1);
    for needle in [
        private.as_str(),
        by_preference.as_str(),
        "secret",
        "private",
    ] {
        assert_eq!(
            traces_in_stored_index(&b_db, needle).await,
            Vec::<String>::new(),
            "the relay's index mentions {needle}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_local_only_thread_is_trashed_restored_and_purged_on_this_device() {
    let db = unique_db("local-trash");
    let store = open_store(&db).await;
    let project = json(&ok(store.create_project(js(json!({ "name": "p" })))).await);
    let project = project["id"].as_str().unwrap().to_owned();
    let init = json!({ "title": "secret", "localOnly": true, "projectId": project });
    let id = json(&ok(store.create_thread(Some(js(init)))).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "private words");
    ok(store.flush()).await;
    let projects = json(&store.list_projects(None).unwrap());
    assert_eq!(projects[0]["threadCount"], 1, "{projects}");

    ok(store.delete_thread(id.clone())).await;
    assert!(listed_ids(&store, json!({})).await.is_empty());
    assert_eq!(
        listed_ids(&store, json!({ "trashed": true })).await,
        [id.as_str()]
    );
    // Kept across a reload, and restored.
    ok(store.close()).await;
    let store = open_store(&db).await;
    assert_eq!(
        listed_ids(&store, json!({ "trashed": true })).await,
        [id.as_str()]
    );
    ok(store.restore_thread(id.clone())).await;
    assert_eq!(listed_ids(&store, json!({})).await, [id.as_str()]);
    assert_eq!(traces_in_stored_index(&db, &id).await, Vec::<String>::new());

    ok(store.purge_thread(id.clone())).await;
    assert!(
        listed_ids(&store, json!({ "includeArchived": true }))
            .await
            .is_empty()
    );
    assert_eq!(stored_keys_of(&db, &id).await, Vec::<String>::new());
    let error = call(store.restore_thread(id.clone())).await.unwrap_err();
    assert_eq!(code(&error), "purged", "{}", describe(&error));
    // Even its tombstone stays off the synced index.
    assert_eq!(traces_in_stored_index(&db, &id).await, Vec::<String>::new());
    ok(store.close()).await;
    let store = open_store(&db).await;
    assert!(open_thread(&store, &id).await.is_err());
}

#[wasm_bindgen_test]
async fn local_only_summaries_an_older_store_synced_move_out_on_open() {
    use chatsync_model::{Index, ThreadId};
    let db = unique_db("local-move");
    let store = open_store(&db).await;
    let id = local_thread(&store, "old secret").await;
    append(
        &open_thread(&store, &id).await.unwrap(),
        "user",
        "old words",
    );
    let shared = create_thread(&store, Some("shared")).await;
    ok(store.flush()).await;
    ok(store.close()).await;

    // As an older version left it: the summary in the synced index, and no local part.
    let database = raw::open(&db).await;
    let local_id = raw::get(&database, "meta", "localIndexId")
        .await
        .and_then(|v| v.as_string())
        .unwrap();
    database.close();
    let local = Index::from_automerge(stored_doc(&db, &local_id).await);
    let moved = local.get(&ThreadId::new(id.as_str()).unwrap()).unwrap();
    assert!(moved.local_only);
    let mut synced = Index::from_automerge(stored_index(&db).await);
    synced.upsert(&moved, 1).unwrap();
    let database = raw::open(&db).await;
    for key in raw::keys(&database, "chunks").await {
        if key.starts_with(&format!("{local_id}/")) {
            raw::delete(&database, "chunks", &key).await;
        }
    }
    raw::delete(&database, "snapshots", &local_id).await;
    raw::delete(&database, "meta", "localIndexId").await;
    let index_id = raw::get(&database, "meta", "indexId")
        .await
        .and_then(|v| v.as_string())
        .unwrap();
    let bytes = synced.save_incremental();
    let record = js_sys::Object::new();
    js_sys::Reflect::set(
        &record,
        &"bytes".into(),
        &js_sys::Uint8Array::from(&bytes[..]),
    )
    .unwrap();
    let sum = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)[..8]);
    js_sys::Reflect::set(&record, &"sum".into(), &sum.into()).unwrap();
    raw::put(
        &database,
        "chunks",
        &format!("{index_id}/older-{:012}", 1),
        record.into(),
    )
    .await;
    database.close();
    assert!(!traces_in_stored_index(&db, "old secret").await.is_empty());

    let store = open_store(&db).await;
    let mut listed = listed_ids(&store, json!({})).await;
    listed.sort();
    let mut expected = vec![id.clone(), shared];
    expected.sort();
    assert_eq!(listed, expected);
    let list = json(&ok(store.list_threads(None)).await);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["title"] == "old secret")
    );
    // Gone from the synced index's current state (its history still holds it).
    assert_eq!(traces_in_stored_index(&db, &id).await, Vec::<String>::new());
    assert_eq!(
        traces_in_stored_index(&db, "old secret").await,
        Vec::<String>::new()
    );
    // And it stays listed after another open, from the local part alone.
    ok(store.close()).await;
    let store = open_store(&db).await;
    assert!(listed_ids(&store, json!({})).await.contains(&id));
}

/// Two tabs on one database share its local part: each sees the other's local-only writes.
#[wasm_bindgen_test]
async fn another_tab_sees_local_only_threads_and_their_trash() {
    let db = unique_db("local-tabs");
    let first = open_store(&db).await;
    let second = open_store(&db).await;
    let id = local_thread(&first, "private in one tab").await;
    ok(first.flush()).await;
    eventually("the second tab lists it", async || {
        listed_ids(&second, json!({})).await == [id.clone()]
    })
    .await;
    ok(second.delete_thread(id.clone())).await;
    eventually("the first tab sees it trashed", async || {
        listed_ids(&first, json!({ "trashed": true })).await == [id.clone()]
    })
    .await;
    ok(first.close()).await;
    ok(second.close()).await;
    let store = open_store(&db).await;
    assert_eq!(
        listed_ids(&store, json!({ "trashed": true })).await,
        [id.as_str()]
    );
    assert_eq!(traces_in_stored_index(&db, &id).await, Vec::<String>::new());
}
