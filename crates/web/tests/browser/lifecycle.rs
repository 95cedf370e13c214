//! A store's and a thread's lifetime as JavaScript ends it: `close()`, `free()`,
//! `[Symbol.dispose]()` (garbage collection calls the same `free`), and unsubscribing.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

/// Calls `object[key]()` as JavaScript would.
fn call_method(object: &JsValue, key: &JsValue) -> JsValue {
    let method: Function = Reflect::get(object, key)
        .expect("a property")
        .dyn_into()
        .expect("a method");
    method.call0(object).expect("the call returns")
}

/// A JS function counting its calls.
fn counter() -> (Rc<Cell<u32>>, Function) {
    let count = Rc::new(Cell::new(0));
    let seen = Rc::clone(&count);
    let f = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| seen.set(seen.get() + 1));
    (count, f.into_js_value().unchecked_into())
}

/// Whether `indexedDB.deleteDatabase(name)` goes through without being blocked by an open
/// connection.
async fn delete_unblocked(name: &str) -> bool {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap();
    let delete: Function = Reflect::get(&factory, &"deleteDatabase".into())
        .unwrap()
        .unchecked_into();
    let request = delete.call1(&factory, &name.into()).unwrap();
    let outcome = Promise::new(&mut |resolve, _| {
        for (event, unblocked) in [("success", true), ("blocked", false)] {
            let resolve = resolve.clone();
            let on = Closure::<dyn FnMut()>::new(move || {
                let _ = resolve.call1(&JsValue::NULL, &unblocked.into());
            });
            let _ = Reflect::set(&request, &format!("on{event}").into(), &on.into_js_value());
        }
    });
    ok(outcome).await.as_bool().unwrap()
}

#[wasm_bindgen_test]
async fn calling_an_unsubscribe_function_twice_does_nothing() {
    let store = open_store(&unique_db("unsubscribe")).await;
    let (calls, callback) = counter();
    let unsubscribe = store.subscribe(callback);
    unsubscribe.call0(&JsValue::NULL).expect("the first call");
    unsubscribe
        .call0(&JsValue::NULL)
        .expect("a second call does nothing");
    create_thread(&store, None).await;
    assert_eq!(calls.get(), 0);

    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    let (views, callback) = counter();
    let stop = thread.subscribe(callback).unwrap();
    stop.call0(&JsValue::NULL).unwrap();
    stop.call0(&JsValue::NULL)
        .expect("a second call does nothing");
    append(&thread, "user", "unheard");
    sleep(100).await;
    assert_eq!(views.get(), 0);
}

#[wasm_bindgen_test]
async fn a_closed_thread_says_the_thread_is_closed() {
    let store = open_store(&unique_db("thread-closed")).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    thread.close();
    let refused = thread.append_message(js(serde_json::json!({ "role": "user" })));
    let error = refused.unwrap_err();
    assert_eq!(code(&error), "thread_closed");
    assert_eq!(describe(&error), "this thread was closed");
    assert_eq!(code(&thread.view().unwrap_err()), "thread_closed");
    // The store, and other objects of the thread, still work.
    let again = open_thread(&store, &id).await.unwrap();
    append(&again, "user", "still open");
    ok(store.close()).await;
    assert_eq!(code(&again.view().unwrap_err()), "closed");
}

#[wasm_bindgen_test]
async fn disposing_a_thread_ends_its_subscriptions_like_close() {
    let store = open_store(&unique_db("dispose-thread")).await;
    let id = create_thread(&store, None).await;
    let writer = open_thread(&store, &id).await.unwrap();
    let watched = open_thread(&store, &id).await.unwrap();
    let (views, callback) = counter();
    let _unsubscribe = watched.subscribe(callback).unwrap();
    append(&writer, "user", "heard");
    eventually("the subscriber hears the write", async || views.get() > 0).await;

    let watched = JsValue::from(watched);
    call_method(&watched, &js_sys::Symbol::dispose().into());
    let heard = views.get();
    append(&writer, "user", "not heard: its thread object is gone");
    sleep(100).await;
    assert_eq!(views.get(), heard);
}

#[wasm_bindgen_test]
async fn freeing_a_store_flushes_and_closes_it_once_its_threads_are_gone() {
    let db = unique_db("free-store");
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "before free");
    call_method(&JsValue::from(store), &"free".into());

    // The thread kept by the app still works after its store's object is gone.
    append(&thread, "user", "after free");
    call_method(&JsValue::from(thread), &"free".into());
    sleep(300).await;

    let reopened = open_store(&db).await;
    let reread = open_thread(&reopened, &id).await.unwrap();
    let contents: Vec<String> = messages(&reread).into_iter().map(|m| m.1).collect();
    assert_eq!(contents, ["before free", "after free"]);
    ok(reopened.close()).await;
    // No connection of the freed store is left to block the database's deletion.
    assert!(
        delete_unblocked(&db).await,
        "the freed store still holds the database"
    );
}

/// Runs the garbage collector (`gc()`, which webdriver.json's `--expose-gc` gives the test browser) a
/// few times, letting finalizers run in between.
async fn collect_garbage() {
    let gc: Function = Reflect::get(&js_sys::global(), &"gc".into())
        .unwrap()
        .dyn_into()
        .expect("gc() is exposed (crates/web/webdriver.json)");
    for _ in 0..3 {
        gc.call0(&JsValue::NULL).unwrap();
        sleep(50).await;
    }
}

#[wasm_bindgen_test]
async fn a_garbage_collected_thread_is_released_like_a_closed_one() {
    let store = open_store(&unique_db("gc-thread")).await;
    let id = create_thread(&store, None).await;
    let writer = open_thread(&store, &id).await.unwrap();
    let (views, callback) = counter();
    {
        let forgotten = open_thread(&store, &id).await.unwrap();
        let _unsubscribe = forgotten.subscribe(callback).unwrap();
        // Handed to JavaScript and dropped there: only the garbage collector frees it.
        drop(JsValue::from(forgotten));
    }
    collect_garbage().await;
    append(&writer, "user", "nobody is subscribed any more");
    sleep(100).await;
    assert_eq!(
        views.get(),
        0,
        "the collected thread's subscription lives on"
    );
}
