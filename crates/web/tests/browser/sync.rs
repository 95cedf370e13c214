//! Stores syncing through a real relay (scripts/test.sh starts one and sets `CHATSYNC_TEST_RELAY` at
//! build time).

use chatsync_web::ChatStore;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

pub fn relay_url() -> &'static str {
    match option_env!("CHATSYNC_TEST_RELAY") {
        Some(url) => url,
        None => {
            panic!("CHATSYNC_TEST_RELAY is not set: run the browser tests through scripts/test.sh")
        }
    }
}

/// A unique user, so tests sharing the relay never see each other's threads.
pub fn unique_user(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random().to_bits())
}

/// A store of `user` on database `db`, connected to the test relay.
pub async fn synced_store(db: &str, user: &str) -> ChatStore {
    let options = js(serde_json::json!({ "dbName": db, "relayUrl": relay_url(), "token": user }));
    let store = ok(ChatStore::open(Some(options))).await;
    let store = ChatStore::try_from_js_value(store).unwrap();
    eventually("the store connects", async || online(&store)).await;
    store
}

fn online(store: &ChatStore) -> bool {
    json(&store.status().unwrap())["online"] == true
}

async fn list(store: &ChatStore) -> Vec<serde_json::Value> {
    json(&ok(store.list_threads(None)).await)
        .as_array()
        .unwrap()
        .clone()
}

#[wasm_bindgen_test]
async fn two_devices_of_one_user_converge() {
    let user = unique_user("alice");
    let a = synced_store(&unique_db("device-a"), &user).await;
    let b = synced_store(&unique_db("device-b"), &user).await;

    let id = create_thread(&a, Some("Shared")).await;
    let thread = open_thread(&a, &id).await.unwrap();
    append(&thread, "user", "hello from A");
    ok(a.sync()).await;

    // B learns of the thread through the index, then fetches it from the relay.
    eventually("the thread is listed", async || !list(&b).await.is_empty()).await;
    let listed = list(&b).await;
    assert_eq!(listed.len(), 1, "B's list: {listed:?}");
    assert_eq!(listed[0]["title"], "Shared");
    let on_b = open_thread(&b, &id).await.unwrap();
    assert_eq!(messages(&on_b)[0].1, "hello from A");

    // And back: B's reply reaches A's open thread.
    append(&on_b, "assistant", "hello from B");
    ok(b.sync()).await;
    eventually("A shows B's reply", async || messages(&thread).len() == 2).await;
    assert_eq!(messages(&thread)[1].1, "hello from B");
}

#[wasm_bindgen_test]
async fn offline_edits_on_both_devices_merge() {
    let user = unique_user("carol");
    let a = synced_store(&unique_db("offline-a"), &user).await;
    let b = synced_store(&unique_db("offline-b"), &user).await;
    let id = create_thread(&a, None).await;
    let on_a = open_thread(&a, &id).await.unwrap();
    append(&on_a, "user", "before");
    ok(a.sync()).await;
    let on_b = open_thread(&b, &id).await.unwrap();

    a.set_online(false);
    eventually("A is offline", async || !online(&a)).await;
    append(&on_a, "user", "offline on A");
    let offline_thread = create_thread(&a, Some("made offline")).await;
    let refused = call(a.sync()).await.unwrap_err();
    assert_eq!(code(&refused), "offline");
    assert!(
        json(&a.status().unwrap())["pendingThreads"]
            .as_u64()
            .unwrap()
            >= 1
    );
    append(&on_b, "user", "online on B");
    ok(b.sync()).await;

    a.set_online(true);
    eventually("A reconnects", async || online(&a)).await;
    ok(a.sync()).await;
    ok(b.sync()).await;
    eventually("both see all three messages", async || {
        messages(&on_a).len() == 3 && messages(&on_b).len() == 3
    })
    .await;
    assert_eq!(messages(&on_a), messages(&on_b));
    assert_eq!(json(&a.status().unwrap())["pendingThreads"], 0);
    // The thread made offline is listed on B and opens there.
    eventually("both threads are listed", async || {
        list(&b).await.len() == 2
    })
    .await;
    assert_eq!(list(&b).await.len(), 2);
    assert!(open_thread(&b, &offline_thread).await.is_ok());
}

#[wasm_bindgen_test]
async fn another_user_sees_nothing() {
    let a = synced_store(&unique_db("owner"), &unique_user("dave")).await;
    let id = create_thread(&a, Some("private")).await;
    ok(a.sync()).await;

    let other = synced_store(&unique_db("stranger"), &unique_user("eve")).await;
    assert!(list(&other).await.is_empty());
    let error = open_thread(&other, &id).await.err().unwrap();
    assert_eq!(code(&error), "not_found");
}

#[wasm_bindgen_test]
async fn a_bad_relay_url_is_invalid_input() {
    let options = js(serde_json::json!({ "dbName": unique_db("bad-url"), "relayUrl": "http://x" }));
    let error = call(ChatStore::open(Some(options))).await.unwrap_err();
    assert_eq!(code(&error), "invalid_input");
}

#[wasm_bindgen_test]
async fn changes_made_before_a_reload_are_sent_after_it() {
    let user = unique_user("frank");
    let db = unique_db("reload");
    // First visit: the relay is unreachable (nothing listens on port 9).
    let dead = js(serde_json::json!({
        "dbName": db, "relayUrl": "ws://127.0.0.1:9/sync", "token": user,
    }));
    let offline = ChatStore::try_from_js_value(ok(ChatStore::open(Some(dead))).await).unwrap();
    let id = create_thread(&offline, Some("written offline")).await;
    let thread = open_thread(&offline, &id).await.unwrap();
    append(&thread, "user", "before the reload");
    assert!(!online(&offline));
    ok(offline.close()).await;

    // After the reload the relay is reachable: the thread is sent without being opened.
    let reloaded = synced_store(&db, &user).await;
    eventually("the reloaded store has nothing pending", async || {
        json(&reloaded.status().unwrap())["pendingThreads"] == 0
    })
    .await;
    // Acknowledged without any sync() call: the status says when.
    eventually("the status has a last sync time", async || {
        json(&reloaded.status().unwrap())["lastSyncedAt"].is_u64()
    })
    .await;
    ok(reloaded.sync()).await;

    let other = synced_store(&unique_db("reload-other"), &user).await;
    eventually("the thread is listed", async || {
        !list(&other).await.is_empty()
    })
    .await;
    assert_eq!(list(&other).await[0]["title"], "written offline");
    let there = open_thread(&other, &id).await.unwrap();
    assert_eq!(messages(&there)[0].1, "before the reload");
}

/// Two tabs on one database mark their own unsynced threads, one key per thread, so neither tab's
/// flush drops the other's: after a reload, both threads reach the relay unopened.
#[wasm_bindgen_test]
async fn two_tabs_unsynced_threads_are_all_sent_after_a_reload() {
    let user = unique_user("grace");
    let db = unique_db("reload-tabs");
    let dead = || {
        js(serde_json::json!({ "dbName": db, "relayUrl": "ws://127.0.0.1:9/sync", "token": user }))
    };
    let tab_a = ChatStore::try_from_js_value(ok(ChatStore::open(Some(dead()))).await).unwrap();
    let tab_b = ChatStore::try_from_js_value(ok(ChatStore::open(Some(dead()))).await).unwrap();
    let mut written = Vec::new();
    for (tab, text) in [(&tab_a, "from tab A"), (&tab_b, "from tab B")] {
        let id = create_thread(tab, Some(text)).await;
        append(&open_thread(tab, &id).await.unwrap(), "user", text);
        ok(tab.flush()).await;
        written.push((id, text));
    }
    ok(tab_a.close()).await;
    ok(tab_b.close()).await;
    // Both threads, and only threads (not the thread list's own document), are marked.
    let raw_db = raw::open(&db).await;
    let mut marked: Vec<String> = raw::keys(&raw_db, "meta")
        .await
        .into_iter()
        .filter_map(|key| key.strip_prefix("unsynced/").map(str::to_owned))
        .collect();
    raw_db.close();
    marked.sort();
    let mut expected: Vec<String> = written.iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    assert_eq!(marked, expected);

    let reloaded = synced_store(&db, &user).await;
    eventually("the reloaded store has nothing pending", async || {
        json(&reloaded.status().unwrap())["pendingThreads"] == 0
    })
    .await;
    let other = synced_store(&unique_db("reload-tabs-other"), &user).await;
    eventually("both threads are listed", async || {
        list(&other).await.len() == 2
    })
    .await;
    for (id, text) in written {
        let thread = open_thread(&other, &id).await.unwrap();
        assert_eq!(messages(&thread)[0].1, text);
    }
}

/// A thread's sync state with the relay is stored, and a later visit resumes from it: the next
/// change still reaches another device, and a damaged stored state only means a fresh start.
#[wasm_bindgen_test]
async fn a_reconnect_resumes_from_the_stored_sync_state() {
    let user = unique_user("heidi");
    let db = unique_db("resume");
    let first = synced_store(&db, &user).await;
    let id = create_thread(&first, Some("resumed")).await;
    append(
        &open_thread(&first, &id).await.unwrap(),
        "user",
        "first visit",
    );
    ok(first.sync()).await;
    ok(first.close()).await;
    let raw_db = raw::open(&db).await;
    let key = format!("sync/{id}");
    let stored = raw::get(&raw_db, "meta", &key)
        .await
        .expect("a stored sync state");
    // The relay's storage id, and an encoded state holding at least one shared head (32 bytes).
    let peer = js_sys::Reflect::get(&stored, &"peer".into()).unwrap();
    assert!(peer.as_string().is_some_and(|p| !p.is_empty()));
    let state = js_sys::Reflect::get(&stored, &"state".into()).unwrap();
    assert!(js_sys::Uint8Array::new(&state).length() >= 34);
    raw_db.close();

    let other = synced_store(&unique_db("resume-other"), &user).await;
    for (visit, damage) in [("second visit", false), ("third visit", true)] {
        if damage {
            let raw_db = raw::open(&db).await;
            let garbage = js(serde_json::json!({ "peer": "?", "state": "not bytes" }));
            raw::put(&raw_db, "meta", &key, garbage).await;
            raw_db.close();
        }
        let again = synced_store(&db, &user).await;
        append(&open_thread(&again, &id).await.unwrap(), "user", visit);
        ok(again.sync()).await;
        ok(again.close()).await;
        let there = open_thread(&other, &id).await.unwrap();
        eventually(visit, async || {
            messages(&there).iter().any(|m| m.1 == visit)
        })
        .await;
    }
}

#[wasm_bindgen_test]
async fn a_corrupt_thread_is_fetched_again_from_the_relay() {
    let user = unique_user("grace");
    let db = unique_db("refetch");
    let store = synced_store(&db, &user).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "kept by the relay");
    ok(store.sync()).await;
    ok(store.close()).await;

    let raw_db = raw::open(&db).await;
    for key in raw::keys(&raw_db, "chunks").await {
        if key.starts_with(&format!("{id}/")) {
            raw::put(&raw_db, "chunks", &key, "damaged".into()).await;
        }
    }
    raw_db.close();

    let store = synced_store(&db, &user).await;
    let thread = open_thread(&store, &id)
        .await
        .expect("re-fetched from the relay");
    assert_eq!(messages(&thread)[0].1, "kept by the relay");
    ok(store.close()).await;
    // And repaired in storage: it now opens without the relay.
    let local = open_store(&db).await;
    let thread = open_thread(&local, &id).await.expect("repaired locally");
    assert_eq!(messages(&thread)[0].1, "kept by the relay");
}

#[wasm_bindgen_test]
async fn works_against_the_reference_js_sync_server() {
    let Some(url) = option_env!("CHATSYNC_TEST_JS_SERVER") else {
        panic!("CHATSYNC_TEST_JS_SERVER is not set: run the browser tests through scripts/test.sh");
    };
    let open = |db: String| async move {
        let options = js(serde_json::json!({ "dbName": db, "relayUrl": url }));
        let store = ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap();
        eventually("the store connects", async || online(&store)).await;
        store
    };
    let a = open(unique_db("js-a")).await;
    let id = create_thread(&a, Some("via the JS server")).await;
    let thread = open_thread(&a, &id).await.unwrap();
    append(&thread, "user", "hello through automerge-repo");
    ok(a.sync()).await;

    // A plain sync server has no /api/me, so devices do not share a thread list; a thread id still
    // opens anywhere.
    let b = open(unique_db("js-b")).await;
    let there = open_thread(&b, &id)
        .await
        .expect("fetched from the JS server");
    assert_eq!(messages(&there)[0].1, "hello through automerge-repo");
    append(&there, "assistant", "and back");
    ok(b.sync()).await;
    eventually("A shows B's reply", async || messages(&thread).len() == 2).await;
}

/// The relay with JWT auth that scripts/test.sh starts, and a token it signed.
fn jwt_relay() -> (&'static str, &'static str) {
    match (
        option_env!("CHATSYNC_TEST_JWT_RELAY"),
        option_env!("CHATSYNC_TEST_JWT_TOKEN"),
    ) {
        (Some(url), Some(token)) => (url, token),
        _ => panic!(
            "CHATSYNC_TEST_JWT_RELAY is not set: run the browser tests through scripts/test.sh"
        ),
    }
}

#[wasm_bindgen_test]
async fn a_signed_token_syncs_and_a_forged_one_is_unauthorized() {
    let (url, token) = jwt_relay();
    let options =
        js(serde_json::json!({ "dbName": unique_db("jwt"), "relayUrl": url, "token": token }));
    let store = ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap();
    eventually("the store connects with its token", async || online(&store)).await;
    create_thread(&store, Some("signed")).await;
    ok(store.sync()).await;

    // The same token with its signature changed.
    let last = if token.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}{last}", &token[..token.len() - 2]);
    for bad in [forged.as_str(), "not-a-jwt", ""] {
        let options =
            js(serde_json::json!({ "dbName": unique_db("forged"), "relayUrl": url, "token": bad }));
        let error = call(ChatStore::open(Some(options))).await.unwrap_err();
        assert_eq!(
            code(&error),
            "unauthorized",
            "token {bad:?}: {}",
            describe(&error)
        );
    }
}

#[wasm_bindgen_test]
async fn a_thread_fetched_from_the_relay_opens_after_a_reload_without_it() {
    let user = unique_user("fetched");
    let (db_a, db_b) = (unique_db("fetched-a"), unique_db("fetched-b"));
    let a = synced_store(&db_a, &user).await;
    let id = create_thread(&a, Some("fetched")).await;
    append(&open_thread(&a, &id).await.unwrap(), "user", "from A");
    ok(a.sync()).await;
    let b = synced_store(&db_b, &user).await;
    eventually("B opens it", async || open_thread(&b, &id).await.is_ok()).await;
    ok(b.flush()).await;
    ok(b.close()).await;

    // No relay now: the thread must come from B's IndexedDB alone, document and all.
    let b = open_store(&db_b).await;
    let thread = open_thread(&b, &id)
        .await
        .expect("the fetched thread is stored");
    assert_eq!(messages(&thread)[0].1, "from A");
    append(&thread, "assistant", "written offline");
    ok(b.flush()).await;
    assert_eq!(messages(&thread).len(), 2);
}
