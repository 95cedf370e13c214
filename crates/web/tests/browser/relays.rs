//! Stores on several relays of one PostgreSQL database (scripts/test-relays.sh starts three and sets
//! `CHATSYNC_TEST_PG_RELAYS`, and `CHATSYNC_TEST_RELAY_CONTROL`, through which a test starts relays
//! of its own and `kill -9`s one): stores on different relays converge, a store given several URLs
//! moves on when its relay dies and loses nothing the relay acknowledged, and another user is
//! refused on every relay.

use std::cell::Cell;
use std::rc::Rc;

use chatsync_web::{ChatStore, Thread};
use wasm_bindgen::JsCast;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::unique_user;

/// The three shared relays' sync URLs.
fn shared_relays() -> Vec<&'static str> {
    match option_env!("CHATSYNC_TEST_PG_RELAYS") {
        Some(urls) => urls.split_whitespace().collect(),
        None => panic!(
            "CHATSYNC_TEST_PG_RELAYS is not set: run the browser tests through scripts/test.sh"
        ),
    }
}

/// Asks the control endpoint of tests/js/relays-on-postgres.mjs; its JSON answer.
async fn control(path: &str) -> serde_json::Value {
    let Some(base) = option_env!("CHATSYNC_TEST_RELAY_CONTROL") else {
        panic!(
            "CHATSYNC_TEST_RELAY_CONTROL is not set: run the browser tests through scripts/test.sh"
        );
    };
    let window = web_sys::window().expect("a window");
    let response = JsFuture::from(window.fetch_with_str(&format!("{base}{path}")))
        .await
        .unwrap_or_else(|e| panic!("the relay control endpoint: {}", describe(&e)));
    let response: web_sys::Response = response.dyn_into().unwrap();
    let body = JsFuture::from(response.json().unwrap()).await.unwrap();
    assert!(response.ok(), "{path}: {}", json(&body));
    json(&body)
}

/// `count` relays of this test's own on the shared database (so killing one disturbs no other test).
async fn start_relays(count: u32) -> Vec<String> {
    let answer = control(&format!("/start?count={count}")).await;
    answer["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|url| url.as_str().unwrap().to_owned())
        .collect()
}

/// `kill -9` of the relay at `url`; returns once the process is gone.
async fn kill_relay(url: &str) {
    let url = js_sys::encode_uri_component(url);
    control(&format!("/kill?url={url}")).await;
}

fn online(store: &ChatStore) -> bool {
    json(&store.status().unwrap())["online"] == true
}

/// A store of `user` with these relay options, once it is online.
async fn store_with(options: serde_json::Value, user: &str) -> ChatStore {
    let mut options = options;
    options["dbName"] = unique_db("relays").into();
    options["token"] = user.into();
    let store = ok(ChatStore::open(Some(js(options)))).await;
    let store = ChatStore::try_from_js_value(store).unwrap();
    eventually("the store connects", async || online(&store)).await;
    store
}

/// A store of `user` on the relay at `url` alone.
async fn store_on(url: &str, user: &str) -> ChatStore {
    store_with(serde_json::json!({ "relayUrl": url }), user).await
}

async fn listed(store: &ChatStore) -> usize {
    json(&ok(store.list_threads(None)).await)
        .as_array()
        .unwrap()
        .len()
}

/// The thread `id` on `store`, once its thread list names it.
async fn open_listed(store: &ChatStore, id: &str) -> Thread {
    eventually("the thread is listed", async || listed(store).await > 0).await;
    open_thread(store, id)
        .await
        .unwrap_or_else(|e| panic!("open {id}: {}", describe(&e)))
}

/// A new assistant message, pending until its first delta; its id.
fn assistant_reply(thread: &Thread) -> String {
    let reply = thread
        .append_message(js(serde_json::json!({ "role": "assistant" })))
        .unwrap_or_else(|e| panic!("appendMessage: {}", describe(&e)));
    json(&reply)["id"].as_str().unwrap().to_owned()
}

fn contents(thread: &Thread) -> Vec<String> {
    messages(thread)
        .into_iter()
        .map(|(_, text, _)| text)
        .collect()
}

#[wasm_bindgen_test]
async fn stores_on_three_relays_of_one_database_converge_live() {
    let user = unique_user("tri");
    let relays = shared_relays();
    assert_eq!(relays.len(), 3);
    let mut stores = Vec::new();
    for url in &relays {
        stores.push(store_on(url, &user).await);
    }
    let id = create_thread(&stores[0], Some("across relays")).await;
    let first = open_thread(&stores[0], &id).await.unwrap();
    append(&first, "user", "from relay 0");
    ok(stores[0].sync()).await;
    let mut threads = vec![first];
    for store in &stores[1..] {
        threads.push(open_listed(store, &id).await);
    }
    // Each store's message, written through its relay, reaches the open thread on the others live.
    for (n, (store, thread)) in stores.iter().zip(&threads).enumerate().skip(1) {
        append(thread, "user", &format!("from relay {n}"));
        ok(store.sync()).await;
    }
    eventually("every store shows all three messages", async || {
        threads.iter().all(|thread| messages(thread).len() == 3)
    })
    .await;
    let expected = contents(&threads[0]);
    for thread in &threads {
        assert_eq!(contents(thread), expected);
    }
    for n in 0..3 {
        assert!(
            expected.contains(&format!("from relay {n}")),
            "{expected:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_stream_through_one_relay_shows_live_on_a_store_of_another() {
    let user = unique_user("duo");
    let relays = shared_relays();
    let writer = store_on(relays[0], &user).await;
    let reader = store_on(relays[1], &user).await;
    let id = create_thread(&writer, None).await;
    let thread = open_thread(&writer, &id).await.unwrap();
    append(&thread, "user", "question");
    ok(writer.sync()).await;
    let there = open_listed(&reader, &id).await;
    let reply = assistant_reply(&thread);
    let mut text = String::new();
    for i in 0..20 {
        let token = format!("t{i} ");
        thread
            .append_delta(reply.clone(), token.clone(), None)
            .unwrap();
        text.push_str(&token);
        sleep(20).await;
    }
    eventually("the reader shows the stream so far", async || {
        contents(&there).get(1) == Some(&text)
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_store_given_two_urls_moves_to_the_second_when_the_first_is_killed_mid_stream() {
    let user = unique_user("failover");
    let relays = start_relays(2).await;
    let (doomed, survivor) = (&relays[0], &relays[1]);
    let writer = store_with(
        serde_json::json!({ "relayUrls": [doomed, survivor] }),
        &user,
    )
    .await;
    let watcher = store_on(survivor, &user).await;
    let id = create_thread(&writer, Some("failover")).await;
    let thread = open_thread(&writer, &id).await.unwrap();
    let reply = assistant_reply(&thread);
    ok(writer.sync()).await;
    let watched = open_listed(&watcher, &id).await;

    // Stream; every few tokens `sync()`, which resolves once the relay holds the text so far (and
    // rejects `offline` between the kill and the reconnect). The writer's relay dies mid-stream, and
    // the stream goes on until syncs through the other relay have resolved too.
    let mut text = String::new();
    let mut acknowledged: Vec<String> = Vec::new();
    let killed = Rc::new(Cell::new(false));
    let mut synced_after_kill = 0;
    let mut i = 0;
    while i < 120 || synced_after_kill < 3 {
        assert!(i < 1_000, "no sync resolved through the other relay");
        let token = format!("t{i} ");
        thread
            .append_delta(reply.clone(), token.clone(), None)
            .unwrap();
        text.push_str(&token);
        if i == 40 {
            let (doomed, killed) = (doomed.clone(), Rc::clone(&killed));
            wasm_bindgen_futures::spawn_local(async move {
                kill_relay(&doomed).await;
                killed.set(true);
            });
        }
        if i % 5 == 4 {
            match call(writer.sync()).await {
                Ok(_) => {
                    acknowledged.push(text.clone());
                    synced_after_kill += usize::from(killed.get());
                }
                Err(e) => assert_eq!(code(&e), "offline", "{}", describe(&e)),
            }
        }
        sleep(15).await;
        i += 1;
    }
    thread
        .finish_message(reply, js(serde_json::json!({ "status": "complete" })))
        .unwrap();
    ok(writer.sync()).await;
    assert!(
        acknowledged.len() >= 8,
        "too few acknowledged syncs: {}",
        acknowledged.len()
    );

    // The store on the surviving relay saw it all live, and a device arriving afterwards finds every
    // acknowledged token in storage.
    eventually("the watcher shows the whole stream", async || {
        messages(&watched)
            .first()
            .map(|m| (m.1.as_str(), m.2.as_str()))
            == Some((text.as_str(), "complete"))
    })
    .await;
    let late = store_on(survivor, &user).await;
    let stored = contents(&open_listed(&late, &id).await);
    for prefix in &acknowledged {
        assert!(
            stored[0].starts_with(prefix.as_str()),
            "acknowledged text lost: {:?} is not in {:?}",
            prefix,
            stored[0]
        );
    }
    assert_eq!(stored[0], text);
}

#[wasm_bindgen_test]
async fn a_store_given_several_urls_opens_through_the_first_relay_that_answers() {
    let user = unique_user("fallback");
    let relays = shared_relays();
    // Nothing listens on port 9: the store goes on to the next URL, for `/api/me` and the socket.
    let store = store_with(
        serde_json::json!({ "relayUrl": "ws://127.0.0.1:9/sync", "relayUrls": [relays[2]] }),
        &user,
    )
    .await;
    let id = create_thread(&store, Some("through the fallback")).await;
    ok(store.sync()).await;
    // The same thread list as a device on another relay: every relay derives the same index.
    let elsewhere = store_on(relays[0], &user).await;
    let thread = open_listed(&elsewhere, &id).await;
    assert_eq!(
        json(&thread.summary().unwrap())["title"],
        "through the fallback"
    );
}

#[wasm_bindgen_test]
async fn another_user_is_refused_on_every_relay() {
    let owner = unique_user("owner");
    let relays = shared_relays();
    let store = store_on(relays[0], &owner).await;
    let id = create_thread(&store, Some("private")).await;
    append(&open_thread(&store, &id).await.unwrap(), "user", "secret");
    ok(store.sync()).await;
    for url in &relays {
        let stranger = store_on(url, &unique_user("stranger")).await;
        assert_eq!(
            listed(&stranger).await,
            0,
            "{url} listed another user's thread"
        );
        let refused = open_thread(&stranger, &id).await.err().unwrap();
        assert_eq!(code(&refused), "not_found", "{url}");
        // The owner's devices find it on every relay.
        let mine = store_on(url, &owner).await;
        assert_eq!(contents(&open_listed(&mine, &id).await), ["secret"]);
    }
}

#[wasm_bindgen_test]
async fn relay_urls_must_be_an_array_of_ws_urls() {
    for relay_urls in [
        serde_json::json!("ws://127.0.0.1:9/sync"),
        serde_json::json!([1]),
        serde_json::json!(["ws://127.0.0.1:9/sync", "http://x"]),
    ] {
        let options =
            js(serde_json::json!({ "dbName": unique_db("bad-urls"), "relayUrls": relay_urls }));
        let error = call(ChatStore::open(Some(options))).await.unwrap_err();
        assert_eq!(code(&error), "invalid_input", "{relay_urls}");
    }
    // An empty list is no relay: a local-only store.
    let options = js(serde_json::json!({ "dbName": unique_db("no-urls"), "relayUrls": [] }));
    let store = ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap();
    assert_eq!(json(&store.status().unwrap())["state"], "local");
}
