//! Calling the package the way JavaScript does, from Rust.

use std::cell::RefCell;
use std::rc::Rc;

use chatsync_web::{ChatStore, Thread};
use js_sys::{Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_futures::JsFuture;

/// A database name no other test uses.
pub fn unique_db(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random().to_bits())
}

/// A JS object from a serde value (plain objects, like a JS caller's).
pub fn js(value: serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("a JSON value converts")
}

/// A JS value as a serde value, to assert on.
pub fn json(value: &JsValue) -> serde_json::Value {
    let text = js_sys::JSON::stringify(value).expect("a view is plain JSON");
    serde_json::from_str(&String::from(text)).expect("a view is plain JSON")
}

/// Awaits a promise the package returned.
pub async fn call(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// Awaits a promise that must resolve.
pub async fn ok(promise: Promise) -> JsValue {
    call(promise)
        .await
        .unwrap_or_else(|e| panic!("rejected: {}", describe(&e)))
}

/// An error a package call gave: a thrown JS value (from a promise), or the `StoreError` a
/// synchronous method returns (JavaScript sees it thrown as an `Error` with the same code).
pub trait CallError {
    fn error_code(&self) -> Option<String>;
    fn message(&self) -> String;
}

impl CallError for JsValue {
    fn error_code(&self) -> Option<String> {
        Reflect::get(self, &"code".into())
            .ok()
            .and_then(|c| c.as_string())
    }

    fn message(&self) -> String {
        let message = Reflect::get(self, &"message".into())
            .ok()
            .and_then(|m| m.as_string());
        message.unwrap_or_else(|| format!("{self:?}"))
    }
}

impl CallError for chatsync_web::StoreError {
    fn error_code(&self) -> Option<String> {
        Some(self.code().to_owned())
    }

    fn message(&self) -> String {
        self.to_string()
    }
}

/// The `code` of a thrown chatsync error.
pub fn code(error: &impl CallError) -> String {
    error
        .error_code()
        .unwrap_or_else(|| panic!("not a chatsync error: {}", error.message()))
}

/// An error's message, for failure output.
pub fn describe(error: &impl CallError) -> String {
    error.message()
}

pub async fn open_store(db: &str) -> ChatStore {
    let store = ok(ChatStore::open(Some(js(
        serde_json::json!({ "dbName": db }),
    ))))
    .await;
    ChatStore::try_from_js_value(store).expect("open resolves to a ChatStore")
}

pub async fn open_thread(store: &ChatStore, id: &str) -> Result<Thread, JsValue> {
    let thread = call(store.open_thread(id.to_owned())).await?;
    Ok(Thread::try_from_js_value(thread).expect("openThread resolves to a Thread"))
}

/// Creates a thread and returns its id.
pub async fn create_thread(store: &ChatStore, title: Option<&str>) -> String {
    let init = title.map(|t| js(serde_json::json!({ "title": t })));
    let summary = json(&ok(store.create_thread(init)).await);
    summary["id"]
        .as_str()
        .expect("a summary has an id")
        .to_owned()
}

/// Appends a message; returns it.
pub fn append(thread: &Thread, role: &str, content: &str) -> serde_json::Value {
    let message = thread
        .append_message(js(serde_json::json!({ "role": role, "content": content })))
        .unwrap_or_else(|e| panic!("appendMessage: {}", describe(&e)));
    json(&message)
}

/// The view's messages as (role, content, status).
pub fn messages(thread: &Thread) -> Vec<(String, String, String)> {
    let view = json(&thread.view().expect("a view"));
    view["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
                m["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Polls `condition` every 50 ms for up to 10 s; panics naming `what` if it never holds.
pub async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if condition().await {
            return;
        }
        sleep(50).await;
    }
    panic!("timed out waiting until {what}");
}

/// The events of type `kind` the store tells its listeners from now on, as JSON.
pub fn events(store: &ChatStore, kind: &'static str) -> Rc<RefCell<Vec<serde_json::Value>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let event = json(&event);
        if event["type"] == kind {
            sink.borrow_mut().push(event);
        }
    });
    let _unsubscribe = store.subscribe(listener.into_js_value().unchecked_into());
    seen
}

/// Every key a store's database holds that names thread `id`, in any object store.
pub async fn stored_keys_of(db: &str, id: &str) -> Vec<String> {
    let database = raw::open(db).await;
    let mut found = Vec::new();
    for store in ["snapshots", "chunks", "views", "meta"] {
        for key in raw::keys(&database, store).await {
            if key.contains(id) {
                found.push(format!("{store}/{key}"));
            }
        }
    }
    database.close();
    found
}

/// Waits `ms` milliseconds of real time.
pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Raw IndexedDB access, to inspect or damage what a store wrote.
pub mod raw {
    use indexed_db_futures::database::Database;
    use indexed_db_futures::prelude::*;
    use indexed_db_futures::transaction::TransactionMode;
    use wasm_bindgen::JsValue;

    pub async fn open(db: &str) -> Database {
        Database::open(db).await.expect("the database opens")
    }

    /// Every key of a store.
    pub async fn keys(db: &Database, store: &str) -> Vec<String> {
        let tx = db.transaction(store).build().unwrap();
        let keys = tx
            .object_store(store)
            .unwrap()
            .get_all_keys::<String>()
            .primitive()
            .unwrap();
        keys.await.unwrap().map(Result::unwrap).collect()
    }

    /// The value under a key.
    pub async fn get(db: &Database, store: &str, key: &str) -> Option<JsValue> {
        let tx = db.transaction(store).build().unwrap();
        let request = tx
            .object_store(store)
            .unwrap()
            .get::<JsValue, _, _>(key)
            .primitive()
            .unwrap();
        request.await.unwrap()
    }

    /// Deletes the value under a key.
    pub async fn delete(db: &Database, store: &str, key: &str) {
        let tx = db
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .unwrap();
        tx.object_store(store)
            .unwrap()
            .delete(key)
            .primitive()
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Puts a value under a key.
    pub async fn put(db: &Database, store: &str, key: &str, value: JsValue) {
        let tx = db
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .unwrap();
        tx.object_store(store)
            .unwrap()
            .put(value)
            .with_key(key)
            .primitive()
            .unwrap();
        tx.commit().await.unwrap();
    }
}
