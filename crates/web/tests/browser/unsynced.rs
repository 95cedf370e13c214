//! The marks of threads the relay may lack: one `meta` key per thread, and the single list an
//! earlier build kept is still honoured after an upgrade.

use chatsync_web::ChatStore;
use wasm_bindgen::JsValue;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::{synced_store, unique_user};

#[wasm_bindgen_test]
async fn unsynced_threads_marked_by_an_earlier_build_are_sent_after_an_upgrade() {
    let user = unique_user("ivy");
    let db = unique_db("legacy-unsynced");
    // Written while the relay is unreachable (nothing listens on port 9): the thread is marked.
    let dead = js(serde_json::json!({
        "dbName": db, "relayUrl": "ws://127.0.0.1:9/sync", "token": user,
    }));
    let offline = ChatStore::try_from_js_value(ok(ChatStore::open(Some(dead))).await).unwrap();
    let id = create_thread(&offline, Some("marked by an earlier build")).await;
    append(
        &open_thread(&offline, &id).await.unwrap(),
        "user",
        "before the upgrade",
    );
    ok(offline.close()).await;
    // As an earlier build stored the marks: one list under `unsynced`.
    let raw_db = raw::open(&db).await;
    let key = format!("unsynced/{id}");
    assert!(
        raw::get(&raw_db, "meta", &key).await.is_some(),
        "not marked"
    );
    raw::delete(&raw_db, "meta", &key).await;
    let list: js_sys::Array = std::iter::once(JsValue::from(id.as_str())).collect();
    raw::put(&raw_db, "meta", "unsynced", list.into()).await;
    raw_db.close();

    let upgraded = synced_store(&db, &user).await;
    eventually("the upgraded store has nothing pending", async || {
        json(&upgraded.status().unwrap())["pendingThreads"] == 0
    })
    .await;
    let other = synced_store(&unique_db("legacy-unsynced-other"), &user).await;
    // A few tries, not `eventually`: each miss waits for the relay's answer.
    let mut thread = None;
    for _ in 0..5 {
        thread = open_thread(&other, &id).await.ok();
        if thread.is_some() {
            break;
        }
        sleep(500).await;
    }
    let thread = thread.expect("the thread reached the relay");
    assert_eq!(messages(&thread)[0].1, "before the upgrade");
}

#[wasm_bindgen_test]
async fn a_thread_written_again_after_its_acknowledgement_stays_marked_by_the_next_flush() {
    let user = unique_user("jon");
    let db = unique_db("reacked");
    let store = synced_store(&db, &user).await;
    let id = create_thread(&store, Some("acked, then written")).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "first");
    ok(store.sync()).await;
    // Acknowledged: the mark is taken off at the next flush. Written again before that flush (and
    // offline, so no acknowledgement comes), the thread must stay marked — the flush both adds and
    // removes it, and a tab closing right after has no later flush to put the mark back.
    store.set_online(false);
    append(&thread, "user", "second, unsent");
    ok(store.flush()).await;
    let raw_db = raw::open(&db).await;
    let marked = raw::get(&raw_db, "meta", &format!("unsynced/{id}")).await;
    raw_db.close();
    assert!(
        marked.is_some(),
        "the thread's new change is not marked unsynced"
    );
}

#[wasm_bindgen_test]
async fn a_thread_changed_only_on_another_device_is_not_left_marked_unsynced() {
    let user = unique_user("kim");
    let db = unique_db("remote-only");
    let writer = synced_store(&unique_db("remote-writer"), &user).await;
    let reader = synced_store(&db, &user).await;
    let id = create_thread(&writer, Some("written elsewhere")).await;
    let on_writer = open_thread(&writer, &id).await.unwrap();
    append(&on_writer, "user", "first");
    ok(writer.sync()).await;
    let on_reader = open_thread(&reader, &id).await.unwrap();
    append(&on_writer, "user", "second");
    ok(writer.sync()).await;
    eventually("the reader shows the second message", async || {
        messages(&on_reader).len() == 2
    })
    .await;
    // The reader stores what arrived (a flush marks what it writes), and the relay already holds
    // it: the mark comes off without any `sync()` or further frame, and closing writes that.
    sleep(600).await;
    ok(reader.close()).await;
    let raw_db = raw::open(&db).await;
    let marked = raw::get(&raw_db, "meta", &format!("unsynced/{id}")).await;
    raw_db.close();
    assert!(
        marked.is_none(),
        "a thread the relay holds is marked unsynced"
    );
}
