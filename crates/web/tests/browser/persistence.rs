//! What a store writes survives closing and reopening it.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

#[wasm_bindgen_test]
async fn threads_and_messages_survive_close_and_reopen() {
    let db = unique_db("persist");
    let store = open_store(&db).await;
    let id = create_thread(&store, Some("Trip")).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "Where should we go?");
    let reply = append(&thread, "assistant", "");
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    for token in ["Lisbon ", "in ", "May."] {
        thread
            .append_delta(reply_id.clone(), token.into(), None)
            .unwrap();
    }
    thread
        .finish_message(reply_id, js(serde_json::json!({ "status": "complete" })))
        .unwrap();
    ok(store.close()).await;

    let store = open_store(&db).await;
    let list = json(&ok(store.list_threads(None)).await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["title"], "Trip");
    assert_eq!(list[0]["messageCount"], 2);
    let thread = open_thread(&store, &id).await.unwrap();
    assert_eq!(
        messages(&thread),
        vec![
            (
                "user".into(),
                "Where should we go?".into(),
                "complete".into()
            ),
            (
                "assistant".into(),
                "Lisbon in May.".into(),
                "complete".into()
            ),
        ]
    );
}

#[wasm_bindgen_test]
async fn streamed_deltas_reach_storage_without_an_explicit_flush() {
    let db = unique_db("stream");
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let reply = append(&thread, "assistant", "");
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    thread
        .append_delta(reply_id, "partial answer".into(), None)
        .unwrap();
    // The commit (100 ms) and flush (250 ms) timers write it; no flush() call.
    sleep(450).await;

    let other = open_store(&db).await;
    let reopened = open_thread(&other, &id).await.unwrap();
    let (_, content, status) = messages(&reopened).pop().unwrap();
    assert_eq!(content, "partial answer");
    assert_eq!(status, "streaming", "its writer is alive");

    // Once its writer is gone, it shows as interrupted, with what had streamed, and subscribers are
    // told without any write.
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let callback = Closure::<dyn FnMut(JsValue)>::new(move |view: JsValue| {
        sink.borrow_mut().push(json(&view));
    });
    let _unsubscribe = reopened.subscribe(callback.as_ref().unchecked_ref::<Function>().clone());
    // Its writer goes away without finishing, as a tab closed mid-stream: the stream's lock is free.
    drop(thread);
    drop(store);
    sleep(200).await;
    let (_, content, status) = messages(&reopened).pop().unwrap();
    assert_eq!(
        (content.as_str(), status.as_str()),
        ("partial answer", "interrupted")
    );
    let last = seen
        .borrow()
        .last()
        .cloned()
        .expect("subscribers were told");
    assert_eq!(last["messages"][0]["status"], "interrupted");
}

#[wasm_bindgen_test]
async fn archive_and_delete_change_the_list() {
    let db = unique_db("list");
    let store = open_store(&db).await;
    let a = create_thread(&store, Some("a")).await;
    let b = create_thread(&store, Some("b")).await;
    let c = create_thread(&store, Some("c")).await;
    ok(store.archive_thread(a.clone())).await;
    ok(store.delete_thread(b.clone())).await;

    let listed = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let active = listed(json(&ok(store.list_threads(None)).await));
    assert_eq!(active, vec![c.clone()]);
    let with_archived = listed(json(
        &ok(store.list_threads(Some(js(serde_json::json!({ "includeArchived": true }))))).await,
    ));
    assert!(
        with_archived.contains(&a) && with_archived.contains(&c) && !with_archived.contains(&b)
    );
}

#[wasm_bindgen_test]
async fn a_stored_view_paints_before_the_document_loads() {
    let db = unique_db("view");
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "hello");
    ok(store.close()).await;

    let store = open_store(&db).await;
    let thread = open_thread(&store, &id).await.unwrap();
    assert_eq!(messages(&thread)[0].1, "hello");
    // Writes after the lazy load land on the full document.
    append(&thread, "user", "again");
    ok(store.flush()).await;
    let other = open_store(&db).await;
    let reread = open_thread(&other, &id).await.unwrap();
    assert_eq!(messages(&reread).len(), 2);
}

#[wasm_bindgen_test]
async fn a_closed_thread_leaves_memory_and_reopens_from_storage() {
    let store = open_store(&unique_db("release")).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "written before close");
    thread.close();
    thread.close();
    ok(store.flush()).await;
    let refused =
        thread.append_message(js(serde_json::json!({ "role": "user", "content": "late" })));
    assert_eq!(code(&refused.unwrap_err()), "thread_closed");

    let again = open_thread(&store, &id).await.unwrap();
    assert_eq!(
        messages(&again),
        vec![(
            "user".into(),
            "written before close".into(),
            "complete".into()
        )]
    );
    append(&again, "user", "after reopening");
    ok(store.flush()).await;
    assert_eq!(messages(&again).len(), 2);
}
