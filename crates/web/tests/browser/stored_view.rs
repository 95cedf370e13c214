//! Every thread's stored view is current once its writes are stored — after `flush()`, `close()`
//! and `pagehide` — so the thread a person reopens first (usually the last one written) paints from
//! it instead of loading its document first.

use chatsync_web::{ChatStore, Thread};
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

/// Why the stored view of `id` would not paint on the next open (`None`: it would). The same test
/// the store makes when it reads a thread: the view is built on the stored snapshot and every stored
/// chunk, and shows no open stream.
async fn stale_view(db: &str, id: &str) -> Option<String> {
    let raw_db = raw::open(db).await;
    let view = raw::get(&raw_db, "views", id).await;
    let snapshot = raw::get(&raw_db, "snapshots", id).await;
    let chunks: Vec<String> = raw::keys(&raw_db, "chunks")
        .await
        .into_iter()
        .filter(|k| k.starts_with(&format!("{id}/")))
        .collect();
    raw_db.close();
    let view = view?;
    let field = |record: &JsValue, name: &str| Reflect::get(record, &name.into()).unwrap();
    let built_on = field(&view, "snapshotId").as_string();
    let stored = snapshot.and_then(|s| field(&s, "id").as_string());
    if built_on != stored {
        return Some(format!(
            "built on snapshot {built_on:?}, storage has {stored:?}"
        ));
    }
    let covered: Vec<String> = field(&view, "chunks")
        .unchecked_into::<js_sys::Array>()
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    let missing: Vec<&String> = chunks.iter().filter(|c| !covered.contains(c)).collect();
    if !missing.is_empty() {
        return Some(format!("misses the chunks {missing:?}"));
    }
    let shown = json(&field(&view, "view"));
    let open = shown["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["status"] == "pending" || m["status"] == "streaming")
        .count();
    (open > 0).then(|| format!("shows {open} open messages"))
}

/// Asserts that each thread's stored view would paint on the next open.
async fn assert_current(db: &str, threads: &[(&str, &str)]) {
    for (name, id) in threads {
        if let Some(why) = stale_view(db, id).await {
            panic!("the stored view of {name} is stale: {why}");
        }
    }
}

/// Streams a reply of `deltas` deltas into `thread`, leaving it open; returns its id.
fn start_reply(thread: &Thread, deltas: usize) -> String {
    let reply = append(thread, "assistant", "");
    let id = reply["id"].as_str().unwrap().to_owned();
    for i in 0..deltas {
        thread
            .append_delta(id.clone(), format!("token {i} "), None)
            .unwrap();
    }
    id
}

fn finish(thread: &Thread, reply: String) {
    thread
        .finish_message(reply, js(serde_json::json!({ "status": "complete" })))
        .unwrap();
}

/// Writes `turns` question-and-streamed-reply turns, flushing every ten, as a chat app does.
async fn build(store: &ChatStore, thread: &Thread, turns: usize) {
    for turn in 0..turns {
        append(thread, "user", &format!("question {turn}"));
        let reply = start_reply(thread, 10);
        finish(thread, reply);
        if turn % 10 == 0 {
            ok(store.flush()).await;
        }
    }
}

#[wasm_bindgen_test]
async fn every_stored_view_is_current_after_flush_and_close() {
    let db = unique_db("stored-view");
    let store = open_store(&db).await;
    let other = create_thread(&store, Some("other")).await;
    let streamed = create_thread(&store, Some("streamed")).await;
    let last = create_thread(&store, Some("last")).await;

    let thread = open_thread(&store, &other).await.unwrap();
    build(&store, &thread, 3).await;

    // Streaming when flush() is called, finished after it.
    let thread = open_thread(&store, &streamed).await.unwrap();
    append(&thread, "user", "stream this");
    let reply = start_reply(&thread, 30);
    ok(store.flush()).await;
    finish(&thread, reply);

    // A long thread written last; its last reply finishes right before flush() and close().
    let thread = open_thread(&store, &last).await.unwrap();
    build(&store, &thread, 200).await;
    append(&thread, "user", "one more");
    let reply = start_reply(&thread, 20);
    finish(&thread, reply);
    ok(store.flush()).await;
    let threads = [("other", &*other), ("streamed", &streamed), ("last", &last)];
    assert_current(&db, &threads).await;

    // And a reply finished right before close(), with no flush() of its own.
    append(&thread, "user", "and a last one");
    let reply = start_reply(&thread, 20);
    finish(&thread, reply);
    ok(store.close()).await;
    assert_current(&db, &threads).await;

    // The next store paints each of them from its view.
    let reopened = open_store(&db).await;
    let thread = open_thread(&reopened, &last).await.unwrap();
    assert_eq!(messages(&thread).len(), 404);
}

#[wasm_bindgen_test]
async fn every_stored_view_is_current_after_pagehide() {
    let db = unique_db("stored-view-pagehide");
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    build(&store, &thread, 30).await;
    // Written by the flush timer in 250 ms, unless the page goes away first.
    append(&thread, "user", "right before the tab goes away");
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new("pagehide").unwrap())
        .unwrap();
    // Read at once: IndexedDB runs this read after the flush that pagehide started.
    if let Some(why) = stale_view(&db, &id).await {
        panic!("after pagehide the stored view is stale: {why}");
    }
    ok(store.close()).await;
}

#[wasm_bindgen_test]
async fn a_stored_view_says_whether_it_shows_a_stream_and_a_damaged_one_is_not_shown() {
    let db = unique_db("stored-view-streams");
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "a question");
    ok(store.close()).await;
    let raw_db = raw::open(&db).await;
    let record = raw::get(&raw_db, "views", &id)
        .await
        .expect("a stored view");
    // `streams: false` spares the next switch a scan of the view's messages for open ones.
    assert_eq!(
        Reflect::get(&record, &"streams".into()).unwrap(),
        JsValue::FALSE,
        "a view with no stream in it says so"
    );
    // Damaged: no list of messages. Whatever the record says of streams, it is not shown: the
    // thread opens from its document.
    let damaged = js(serde_json::json!({ "messages": "not a list" }));
    Reflect::set(&record, &"view".into(), &damaged).unwrap();
    raw::put(&raw_db, "views", &id, record).await;
    raw_db.close();
    let reopened = open_store(&db).await;
    let thread = open_thread(&reopened, &id).await.unwrap();
    let shown: Vec<String> = messages(&thread).into_iter().map(|m| m.1).collect();
    assert_eq!(shown, ["a question"]);
    ok(reopened.close()).await;
}
