//! The browser store in headless Chromium. Thread switch: the time from `openThread` to its first `view()`, for threads
//! of 10, 1,000 and 5,000 messages, over fresh store instances (as after a reload). Run with
//! `scripts/bench-web.sh`; it prints p50 and p95 in ms.
//!
//! Each thread is written the way a chat app writes one: a user message, then an assistant reply
//! streamed in 20 deltas, committed and flushed by the store's own timers' rules (here: a flush per
//! reply). Two paths are measured: the usual one, where the stored view is current and paints before
//! the Automerge document loads; and the fallback, where it is not (the view was deleted) and the
//! document is loaded first.
#![cfg(target_arch = "wasm32")]

use chatsync_web::{ChatStore, Thread};
use wasm_bindgen::JsValue;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const RUNS: usize = 20;

fn js(value: serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap()
}

async fn ok(promise: js_sys::Promise) -> JsValue {
    JsFuture::from(promise).await.expect("the call resolves")
}

async fn store(db: &str) -> ChatStore {
    let options = js(serde_json::json!({ "dbName": db }));
    ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap()
}

async fn open(store: &ChatStore, id: &str) -> Thread {
    Thread::try_from_js_value(ok(store.open_thread(id.to_owned())).await).unwrap()
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

/// Writes a thread of `messages` messages; returns its id.
async fn write_thread(db: &str, messages: usize) -> String {
    let store = store(db).await;
    let summary = ok(store.create_thread(None)).await;
    let id = js_sys::Reflect::get(&summary, &"id".into())
        .unwrap()
        .as_string()
        .unwrap();
    let thread = open(&store, &id).await;
    let sentence = "The quick brown fox jumps over the lazy dog while we talk about CRDTs. ";
    for turn in 0..messages / 2 {
        let question = format!("Question {turn}: {}", &sentence[..40]);
        thread
            .append_message(js(
                serde_json::json!({ "role": "user", "content": question }),
            ))
            .unwrap();
        let reply_id = append_reply(&thread);
        for _ in 0..20 {
            thread
                .append_delta(reply_id.clone(), sentence[..15].to_owned(), None)
                .unwrap();
        }
        thread
            .finish_message(reply_id, js(serde_json::json!({ "status": "complete" })))
            .unwrap();
        if turn % 10 == 0 {
            ok(store.flush()).await;
        }
    }
    if messages % 2 == 1 {
        thread
            .append_message(js(
                serde_json::json!({ "role": "user", "content": "one more" }),
            ))
            .unwrap();
    }
    ok(store.close()).await;
    id
}

/// p50 and p95 of `openThread` + first `view()`, in ms, over fresh store instances.
async fn switch_times(db: &str, id: &str) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut shown = 0;
    for _ in 0..RUNS {
        let (ms, messages) = open_once(db, id).await;
        times.push(ms);
        shown = messages;
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.95), shown)
}

/// Deletes every stored view, so the next opens load the document first.
async fn forget_views(db: &str) {
    use indexed_db_futures::database::Database;
    use indexed_db_futures::prelude::*;
    use indexed_db_futures::transaction::TransactionMode;
    let db = Database::open(db).await.unwrap();
    let tx = db
        .transaction("views")
        .with_mode(TransactionMode::Readwrite)
        .build()
        .unwrap();
    tx.object_store("views").unwrap().clear().unwrap();
    tx.commit().await.unwrap();
    db.close();
}

#[wasm_bindgen_test]
async fn thread_switch() {
    let mut report =
        String::from("thread switch: openThread + first view(), ms over 20 fresh stores\n");
    report.push_str("messages | stored view p50 / p95 | document load p50 / p95\n");
    for messages in [10, 1_000, 5_000] {
        let db = format!(
            "bench-switch-{messages}-{}",
            js_sys::Math::random().to_bits()
        );
        let written = now();
        let id = write_thread(&db, messages).await;
        let write_ms = now() - written;
        let (p50, p95, shown) = switch_times(&db, &id).await;
        assert_eq!(shown, messages);
        // An open without a current view stores one again: forget the views before every run, so
        // each measures the load path.
        let mut loads = Vec::new();
        for _ in 0..5 {
            forget_views(&db).await;
            let (ms, _) = open_once(&db, &id).await;
            loads.push(ms);
        }
        loads.sort_by(f64::total_cmp);
        report.push_str(&format!(
            "{messages:>8} | {p50:>8.1} / {p95:>6.1} | {:>8.1} / {:>6.1}   (written in {:.0} ms)\n",
            percentile(&loads, 0.5),
            percentile(&loads, 0.95),
            write_ms
        ));
    }
    web_sys::console::log_1(&report.into());
}

/// One `openThread` + first `view()` on a fresh store: ms, and the messages shown.
async fn open_once(db: &str, id: &str) -> (f64, usize) {
    let store = store(db).await;
    let started = now();
    let thread = open(&store, id).await;
    let view = thread.view().unwrap();
    let ms = now() - started;
    let messages = js_sys::Reflect::get(&view, &"messages".into()).unwrap();
    let shown = js_sys::Array::from(&messages).length() as usize;
    ok(store.close()).await;
    (ms, shown)
}

/// Appends an empty assistant reply; returns its id.
fn append_reply(thread: &Thread) -> String {
    let reply = thread
        .append_message(js(serde_json::json!({ "role": "assistant" })))
        .unwrap();
    js_sys::Reflect::get(&reply, &"id".into())
        .unwrap()
        .as_string()
        .unwrap()
}

/// What streaming costs on a long thread: `appendDelta` (synchronous, O(delta)), the 100 ms commit,
/// and a flush to IndexedDB, for a reply streamed into a 1,000-message thread.
#[wasm_bindgen_test]
async fn streaming_into_a_long_thread() {
    let db = format!("bench-stream-{}", js_sys::Math::random().to_bits());
    let id = write_thread(&db, 1_000).await;
    let store = store(&db).await;
    let thread = open(&store, &id).await;
    let reply_id = append_reply(&thread);
    let mut deltas = Vec::new();
    let mut flushes = Vec::new();
    for _ in 0..20 {
        for _ in 0..50 {
            let started = now();
            thread
                .append_delta(reply_id.clone(), "token ".to_owned(), None)
                .unwrap();
            deltas.push(now() - started);
        }
        let started = now();
        ok(store.flush()).await;
        flushes.push(now() - started);
    }
    deltas.sort_by(f64::total_cmp);
    flushes.sort_by(f64::total_cmp);
    let report = format!(
        "streaming into a 1,000-message thread: appendDelta p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms \
         ({} deltas); flush (commit + one IndexedDB transaction) p50 {:.1} ms, p95 {:.1} ms",
        percentile(&deltas, 0.5),
        percentile(&deltas, 0.95),
        deltas[deltas.len() - 1],
        deltas.len(),
        percentile(&flushes, 0.5),
        percentile(&flushes, 0.95),
    );
    web_sys::console::log_1(&report.into());
    ok(store.close()).await;
}

/// Two switches in a row, as a person flicking through the list does: `openThread` + first `view()` of
/// one 1,000-message thread, then at once of another, on fresh stores. The second must not wait for the
/// first's document to load.
#[wasm_bindgen_test]
async fn back_to_back_switches() {
    let db = format!("bench-back-to-back-{}", js_sys::Math::random().to_bits());
    let first_id = write_thread(&db, 1_000).await;
    let second_id = write_thread(&db, 1_000).await;
    let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let store = store(&db).await;
        for (id, times) in [(&first_id, &mut firsts), (&second_id, &mut seconds)] {
            let started = now();
            let thread = open(&store, id).await;
            thread.view().unwrap();
            times.push(now() - started);
        }
        ok(store.close()).await;
    }
    firsts.sort_by(f64::total_cmp);
    seconds.sort_by(f64::total_cmp);
    let report = format!(
        "back-to-back switches between 1,000-message threads: first p50 {:.1} / p95 {:.1} ms, \
         second p50 {:.1} / p95 {:.1} ms",
        percentile(&firsts, 0.5),
        percentile(&firsts, 0.95),
        percentile(&seconds, 0.5),
        percentile(&seconds, 0.95),
    );
    web_sys::console::log_1(&report.into());
}
