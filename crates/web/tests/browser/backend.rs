//! A backend's writes over the relay's HTTP API reach the browser store live: its thread list shows a
//! thread the backend created, and an open thread shows the reply growing while the backend streams
//! it (here the test page plays the backend, calling `/api/mutation` with `fetch`).

use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::{relay_url, synced_store, unique_user};

/// The relay's HTTP API beside its sync URL (`ws://host/sync` → `http://host/api/…`).
fn api_url(endpoint: &str) -> String {
    let base = relay_url()
        .trim_end_matches("/sync")
        .replacen("ws", "http", 1);
    format!("{base}/api/{endpoint}")
}

/// One API call as a backend makes it; the answer's `value`.
async fn backend(user: &str, path: &str, args: serde_json::Value) -> serde_json::Value {
    let fetch = Function::new_with_args(
        "url, token, body",
        "return fetch(url, { method: 'POST', headers: { authorization: 'Bearer ' + token }, body })\
           .then(async (r) => ({ status: r.status, body: await r.json() }))",
    );
    let body = serde_json::json!({ "path": path, "args": args }).to_string();
    let kind = if path.starts_with("threads:get") || path == "threads:list" {
        "query"
    } else {
        "mutation"
    };
    let promise = fetch
        .call3(
            &wasm_bindgen::JsValue::NULL,
            &api_url(kind).into(),
            &user.into(),
            &body.into(),
        )
        .expect("fetch")
        .unchecked_into::<Promise>();
    let answer = json(&ok(promise).await);
    assert_eq!(answer["status"], 200, "{path}: {answer}");
    answer["body"]["value"].clone()
}

#[wasm_bindgen_test]
async fn a_backends_thread_and_its_streaming_reply_reach_the_browser_store_live() {
    let user = unique_user("backend-user");
    let store = synced_store(&unique_db("backend-live"), &user).await;

    let created = backend(
        &user,
        "threads:create",
        serde_json::json!({ "title": "From the backend" }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    eventually("the backend's thread is listed", async || {
        let list = json(&ok(store.list_threads(None)).await);
        list[0]["id"] == id.as_str() && list[0]["title"] == "From the backend"
    })
    .await;

    backend(
        &user,
        "messages:append",
        serde_json::json!({ "threadId": id, "id": "q", "role": "user", "content": "Hi" }),
    )
    .await;
    backend(
        &user,
        "messages:append",
        serde_json::json!({ "threadId": id, "id": "r", "role": "assistant" }),
    )
    .await;
    let thread = open_thread(&store, &id).await.unwrap();
    let reply = |thread: &chatsync_web::Thread| {
        let view = json(&thread.view().unwrap());
        view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "r")
            .cloned()
            .unwrap_or_default()
    };
    eventually("the open reply arrives", async || {
        reply(&thread)["status"] == "pending"
    })
    .await;

    // Tokens arrive while the stream runs: each is seen before the reply is finished.
    let mut expected = String::new();
    for word in ["Tokens ", "arrive ", "while ", "it ", "streams."] {
        backend(
            &user,
            "messages:appendDelta",
            serde_json::json!({ "threadId": id, "messageId": "r", "text": word }),
        )
        .await;
        expected.push_str(word);
        eventually("the delta is seen live", async || {
            let r = reply(&thread);
            r["content"] == expected.as_str() && r["status"] == "streaming"
        })
        .await;
    }
    backend(
        &user,
        "messages:finish",
        serde_json::json!({ "threadId": id, "messageId": "r", "status": "complete" }),
    )
    .await;
    eventually("the finished reply is seen", async || {
        reply(&thread)["status"] == "complete"
    })
    .await;
    eventually("the list's preview follows", async || {
        let list = json(&ok(store.list_threads(None)).await);
        list[0]["preview"] == "Tokens arrive while it streams." && list[0]["messageCount"] == 2
    })
    .await;
    // The browser can answer in the same thread: the backend reads it back.
    append(&thread, "user", "Thanks!");
    ok(store.sync()).await;
    let view = backend(&user, "threads:get", serde_json::json!({ "threadId": id })).await;
    assert_eq!(view["messages"][2]["content"], "Thanks!");
    thread.close();
    ok(store.close()).await;
}
