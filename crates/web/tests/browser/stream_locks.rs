//! Whether an open stream still has a writer. Two stores on one database in one page stand in for two
//! tabs: Web Locks are per origin, so they behave like tabs' (and a closed store's locks are released
//! as a closed tab's are).

use std::cell::RefCell;
use std::rc::Rc;

use chatsync_web::{ChatStore, Thread};
use js_sys::Function;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

/// The status of the thread's last message.
fn last_status(thread: &Thread) -> String {
    messages(thread).pop().expect("a message").2
}

/// A writer store streaming into a new reply of a new thread, flushed: (store, thread, thread id).
async fn streaming_writer(db: &str) -> (ChatStore, Thread, String) {
    let store = open_store(db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let reply = append(&thread, "assistant", "");
    thread
        .append_delta(reply["id"].as_str().unwrap().into(), "partial".into(), None)
        .unwrap();
    ok(store.flush()).await;
    (store, thread, id)
}

#[wasm_bindgen_test]
async fn a_stream_whose_writer_closed_shows_interrupted_at_once_on_reopen() {
    let db = unique_db("locks-reopen");
    let (writer, _writing, id) = streaming_writer(&db).await;
    let reader = open_store(&db).await;
    let watching = open_thread(&reader, &id).await.unwrap();
    assert_eq!(last_status(&watching), "streaming", "its writer is alive");
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let callback = Closure::<dyn FnMut(JsValue)>::new(move |view: JsValue| {
        sink.borrow_mut().push(json(&view));
    });
    let _unsubscribe = watching
        .subscribe(callback.as_ref().unchecked_ref::<Function>().clone())
        .unwrap();

    // The writing tab goes away mid-stream.
    ok(writer.close()).await;
    let reopened = open_store(&db).await;
    let thread = open_thread(&reopened, &id).await.unwrap();
    assert_eq!(
        last_status(&thread),
        "interrupted",
        "not 5 s later: at once"
    );
    assert_eq!(messages(&thread).pop().unwrap().1, "partial");
    // And a tab that had it open hears of it as soon as the lock is free, not after 5 s.
    for _ in 0..20 {
        if last_status(&watching) == "interrupted" {
            break;
        }
        sleep(50).await;
    }
    assert_eq!(last_status(&watching), "interrupted");
    let last = seen
        .borrow()
        .last()
        .cloned()
        .expect("subscribers were told");
    assert_eq!(last["messages"][0]["status"], "interrupted");
}

#[wasm_bindgen_test]
async fn a_stream_still_written_in_another_tab_keeps_streaming() {
    let db = unique_db("locks-live");
    let (_writer, writing, id) = streaming_writer(&db).await;
    let reader = open_store(&db).await;
    let thread = open_thread(&reader, &id).await.unwrap();
    // Its writer is silent (a model thinking) past the staleness window, but holds the lock.
    sleep(6_000).await;
    assert_eq!(last_status(&thread), "streaming");

    let reply = json(&writing.view().unwrap())["messages"][0]["id"].clone();
    writing
        .finish_message(
            reply.as_str().unwrap().into(),
            js(serde_json::json!({ "status": "complete" })),
        )
        .unwrap();
    eventually("the reader sees it finished", async || {
        last_status(&thread) == "complete"
    })
    .await;
}

#[wasm_bindgen_test]
async fn another_devices_stream_still_turns_interrupted_by_staleness() {
    let relay = match option_env!("CHATSYNC_TEST_RELAY") {
        Some(url) => url,
        None => {
            panic!("CHATSYNC_TEST_RELAY is not set: run the browser tests through scripts/test.sh")
        }
    };
    let user = format!("locks-device-{}", js_sys::Math::random().to_bits());
    let open = async |db: &str| {
        let options = js(serde_json::json!({
            "dbName": unique_db(db), "relayUrl": relay, "token": user,
        }));
        let store = ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap();
        eventually("the store connects", async || {
            json(&store.status().unwrap())["online"] == true
        })
        .await;
        store
    };
    let a = open("locks-device-a").await;
    let id = create_thread(&a, None).await;
    let on_a = open_thread(&a, &id).await.unwrap();
    let reply = append(&on_a, "assistant", "");
    on_a.append_delta(reply["id"].as_str().unwrap().into(), "from A".into(), None)
        .unwrap();
    ok(a.sync()).await;

    // No lock of this device speaks for A's stream: B sees it streaming until it has been silent
    // for 5 s, A still open all along.
    let b = open("locks-device-b").await;
    let on_b = open_thread(&b, &id).await.unwrap();
    assert_eq!(last_status(&on_b), "streaming");
    eventually("A's stream turns stale on B", async || {
        last_status(&on_b) == "interrupted"
    })
    .await;
}
