//! One thread list per database, whatever the order of opens, and threads stored here are never
//! missing from it: concurrent opens of a new database share one index, and an open lists again any
//! stored thread its index lacks.

use chatsync_web::ChatStore;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

/// The ids `listThreads` returns, sorted (archived ones too, with `archived`).
async fn listed(store: &ChatStore, archived: bool) -> Vec<String> {
    let options = js(serde_json::json!({ "includeArchived": archived }));
    let list = json(&ok(store.list_threads(Some(options))).await);
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// `Promise.all([ChatStore.open({ dbName }), ChatStore.open({ dbName })])` on a database that does
/// not exist yet, as React StrictMode's double mount or two tabs on a first visit do.
#[wasm_bindgen_test]
async fn concurrent_opens_of_a_new_database_share_one_index() {
    let db = unique_db("concurrent-open");
    let options = || Some(js(serde_json::json!({ "dbName": db })));
    let (a, b) = futures_util::join!(
        call(ChatStore::open(options())),
        call(ChatStore::open(options()))
    );
    let a = ChatStore::try_from_js_value(a.unwrap()).unwrap();
    let b = ChatStore::try_from_js_value(b.unwrap()).unwrap();
    let mut created = Vec::new();
    for (store, title) in [(&a, "from a"), (&b, "from b"), (&a, "a again")] {
        let id = create_thread(store, Some(title)).await;
        append(&open_thread(store, &id).await.unwrap(), "user", title);
        created.push(id);
    }
    let created = sorted(created);
    for store in [&a, &b] {
        eventually("each store lists every thread", async || {
            listed(store, false).await == created
        })
        .await;
    }
    ok(a.close()).await;
    ok(b.close()).await;

    let reopened = open_store(&db).await;
    assert_eq!(listed(&reopened, false).await, created);
}

/// Reads the id of the index document a database uses.
async fn index_id(db: &str) -> String {
    let raw_db = raw::open(db).await;
    let id = raw::get(&raw_db, "meta", "indexId").await.unwrap();
    raw_db.close();
    id.as_string().unwrap()
}

/// Deletes everything stored of a document (`views` too, with `views`).
async fn forget(db: &str, doc: &str, views: bool) {
    let raw_db = raw::open(db).await;
    raw::delete(&raw_db, "snapshots", doc).await;
    for key in raw::keys(&raw_db, "chunks").await {
        if key.starts_with(&format!("{doc}/")) {
            raw::delete(&raw_db, "chunks", &key).await;
        }
    }
    if views {
        raw::delete(&raw_db, "views", doc).await;
    }
    raw_db.close();
}

/// A store with an active thread (two messages), an archived one and a purged one; closed.
async fn three_threads(db: &str) -> (String, String, String) {
    let store = open_store(db).await;
    let active = create_thread(&store, Some("active")).await;
    let thread = open_thread(&store, &active).await.unwrap();
    append(&thread, "user", "first");
    append(&thread, "assistant", "the last word");
    let archived = create_thread(&store, Some("archived")).await;
    ok(store.archive_thread(archived.clone())).await;
    let deleted = create_thread(&store, Some("deleted")).await;
    ok(store.purge_thread(deleted.clone())).await;
    ok(store.close()).await;
    (active, archived, deleted)
}

#[wasm_bindgen_test]
async fn a_stored_thread_missing_from_the_index_is_listed_again_on_open() {
    let db = unique_db("repair");
    let (active, archived, deleted) = three_threads(&db).await;
    // The index loses everything; the active thread loses its stored view too, so its summary must
    // come from its document, the archived one's from its view.
    forget(&db, &index_id(&db).await, true).await;
    let raw_db = raw::open(&db).await;
    raw::delete(&raw_db, "views", &active).await;
    raw_db.close();

    let store = open_store(&db).await;
    assert_eq!(listed(&store, false).await, vec![active.clone()]);
    assert_eq!(
        listed(&store, true).await,
        sorted(vec![active.clone(), archived.clone()])
    );
    let list = json(&ok(store.list_threads(None)).await);
    assert_eq!(list[0]["title"], "active");
    assert_eq!(list[0]["messageCount"], 2);
    assert_eq!(list[0]["preview"], "the last word");
    // Deleted stays deleted.
    let error = open_thread(&store, &deleted).await.err().unwrap();
    assert_eq!(code(&error), "not_found");
    ok(store.close()).await;

    // Repaired in storage: the next open finds nothing to repair and lists the same.
    let again = open_store(&db).await;
    assert_eq!(listed(&again, true).await, sorted(vec![active, archived]));
}

/// A database where two opens each made an index and one lost `meta.indexId` (before opens agreed on
/// one): the lost index's threads are merged back.
#[wasm_bindgen_test]
async fn an_index_a_concurrent_open_lost_is_merged_on_open() {
    let db = unique_db("lost-index");
    let (active, archived, deleted) = three_threads(&db).await;
    let winner = chatsync_protocol::DocumentId::new_v4([9; 16]).to_string();
    let raw_db = raw::open(&db).await;
    raw::put(&raw_db, "meta", "indexId", winner.as_str().into()).await;
    raw_db.close();

    let store = open_store(&db).await;
    assert_eq!(listed(&store, true).await, sorted(vec![active, archived]));
    assert_eq!(index_id(&db).await, winner);
    let error = open_thread(&store, &deleted).await.err().unwrap();
    assert_eq!(code(&error), "not_found");
}
