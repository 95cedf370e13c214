//! Relay tokens that change: a token function asked on every connection attempt, `setToken`, an
//! expired token replaced with a fresh one, and `/api/me` found beside the sync URL's path. Against
//! the JWT relay scripts/test-relay.sh starts.

use std::cell::Cell;
use std::rc::Rc;

use chatsync_web::ChatStore;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

/// The JWT relay, a token it accepts, and an expired token of the same user.
fn jwt_relay() -> (&'static str, &'static str, &'static str) {
    match (
        option_env!("CHATSYNC_TEST_JWT_RELAY"),
        option_env!("CHATSYNC_TEST_JWT_TOKEN"),
        option_env!("CHATSYNC_TEST_JWT_EXPIRED_TOKEN"),
    ) {
        (Some(url), Some(token), Some(expired)) => (url, token, expired),
        _ => panic!("the JWT relay is not set up: run the browser tests through scripts/test.sh"),
    }
}

/// Waits until the token's `exp` has passed.
async fn until_expired(token: &str) {
    let payload = token.split('.').nth(1).expect("a JWT");
    let base64 = payload.replace('-', "+").replace('_', "/");
    let text = js_sys::global()
        .unchecked_into::<web_sys::Window>()
        .atob(&format!(
            "{base64}{}",
            "=".repeat((4 - base64.len() % 4) % 4)
        ))
        .expect("base64");
    let exp = serde_json::from_str::<serde_json::Value>(&text).unwrap()["exp"]
        .as_f64()
        .unwrap();
    while js_sys::Date::now() <= exp * 1000.0 {
        sleep(100).await;
    }
}

/// A token function giving `tokens` in turn (the last one from then on), as a promise when
/// `as_promise`; and how often it was called.
fn token_function(tokens: Vec<&'static str>, as_promise: bool) -> (Rc<Cell<usize>>, JsValue) {
    let calls = Rc::new(Cell::new(0));
    let counted = Rc::clone(&calls);
    let f = Closure::<dyn FnMut() -> JsValue>::new(move || {
        let n = counted.get();
        counted.set(n + 1);
        let token = JsValue::from(tokens[n.min(tokens.len() - 1)]);
        if as_promise {
            Promise::resolve(&token).into()
        } else {
            token
        }
    });
    (calls, f.into_js_value())
}

async fn open_with(options: JsValue) -> ChatStore {
    ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap()
}

/// `ChatStore.open`'s options with a token that is a JS function (`js()` only makes JSON).
fn options(db: &str, url: &str, token: &JsValue) -> JsValue {
    let options = js(serde_json::json!({ "dbName": unique_db(db), "relayUrl": url }));
    Reflect::set(&options, &"token".into(), token).unwrap();
    options
}

fn state(store: &ChatStore) -> String {
    json(&store.status().unwrap())["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[wasm_bindgen_test]
async fn a_token_function_is_asked_again_on_every_reconnect() {
    let (url, token, _) = jwt_relay();
    let (calls, function) = token_function(vec![token], true);
    let store = open_with(options("token-function", url, &function)).await;
    eventually("the store connects", async || state(&store) == "online").await;
    let before = calls.get();
    store.set_online(false);
    eventually("the store is offline", async || state(&store) == "offline").await;
    store.set_online(true);
    eventually("the store reconnects", async || state(&store) == "online").await;
    assert!(
        calls.get() > before,
        "the reconnect did not ask for a token"
    );
}

#[wasm_bindgen_test]
async fn an_expired_token_is_replaced_with_a_fresh_one() {
    let (url, token, expired) = jwt_relay();
    until_expired(expired).await;

    // Refused when the store opens (`/api/me`): the function is asked again.
    let (_, function) = token_function(vec![expired, token], false);
    let store = open_with(options("expired-at-open", url, &function)).await;
    eventually("the store connects", async || state(&store) == "online").await;

    // Refused at a reconnect (the WebSocket upgrade): the function is asked again.
    let (calls, function) = token_function(vec![token, expired, token], false);
    let store = open_with(options("expired-later", url, &function)).await;
    eventually("the store connects with a fresh token", async || {
        state(&store) == "online"
    })
    .await;
    assert!(calls.get() >= 3, "asked {} times", calls.get());
    create_thread(&store, Some("after a fresh token")).await;
    ok(store.sync()).await;
}

#[wasm_bindgen_test]
async fn set_token_gets_a_store_out_of_unauthorized() {
    let (url, token, expired) = jwt_relay();
    until_expired(expired).await;
    let store = open_with(options("set-token", url, &token.into())).await;
    eventually("the store connects", async || state(&store) == "online").await;

    store
        .set_token(expired.into())
        .expect("setToken takes a string");
    eventually("the expired token is refused", async || {
        state(&store) == "unauthorized"
    })
    .await;
    // It stays so: the only token it has is refused.
    sleep(1_500).await;
    assert_eq!(state(&store), "unauthorized");

    let (_, function) = token_function(vec![token], true);
    store
        .set_token(function)
        .expect("setToken takes a function");
    eventually("the store reconnects with the new token", async || {
        state(&store) == "online"
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_token_of_the_wrong_type_is_invalid_input() {
    let (url, _, _) = jwt_relay();
    let error = call(ChatStore::open(Some(options("token-type", url, &7.into()))))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_input");
}

#[wasm_bindgen_test]
async fn the_me_api_is_found_beside_the_sync_path() {
    // `fetch` recorded, and answered with a refusal, for the length of this test.
    let window = js_sys::global().unchecked_into::<web_sys::Window>();
    let original = Reflect::get(&window, &"fetch".into()).unwrap();
    let asked = Rc::new(std::cell::RefCell::new(Vec::new()));
    let record = Rc::clone(&asked);
    let fake = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |url: JsValue| {
        record
            .borrow_mut()
            .push(url.as_string().unwrap_or_default());
        let response: Function = Reflect::get(&js_sys::global(), &"Response".into())
            .unwrap()
            .unchecked_into();
        let args = js_sys::Array::of2(&JsValue::NULL, &js(serde_json::json!({ "status": 401 })));
        Promise::resolve(&Reflect::construct(&response, &args).unwrap())
    });
    Reflect::set(
        &window,
        &"fetch".into(),
        fake.as_ref().unchecked_ref::<Function>(),
    )
    .unwrap();
    let mut outcomes = Vec::new();
    for relay in [
        "ws://127.0.0.1:9/chat/sync",
        "wss://example.test/sync?x=1",
        "ws://127.0.0.1:9",
    ] {
        let options = js(serde_json::json!({
            "dbName": unique_db("me-url"), "relayUrl": relay, "token": "t",
        }));
        outcomes.push(call(ChatStore::open(Some(options))).await.map(|_| ()));
    }
    Reflect::set(&window, &"fetch".into(), &original).unwrap();
    for outcome in outcomes {
        assert_eq!(code(&outcome.unwrap_err()), "unauthorized");
    }
    assert_eq!(
        *asked.borrow(),
        [
            "http://127.0.0.1:9/chat/api/me?token=t",
            "https://example.test/api/me?token=t",
            "http://127.0.0.1:9/api/me?token=t",
        ]
    );
}

/// The test relay behind a proxy that closes a socket with 4001 ("token expired") a second after it
/// connects with a token starting `expires-soon:` (tests/js/token-expiry-proxy.mjs).
fn expiring_relay() -> &'static str {
    match option_env!("CHATSYNC_TEST_EXPIRING_RELAY") {
        Some(url) => url,
        None => panic!(
            "the token-expiry proxy is not set up: run the browser tests through scripts/test.sh"
        ),
    }
}

#[wasm_bindgen_test]
async fn a_socket_closed_because_its_token_expired_reconnects_with_a_fresh_one() {
    let user: &'static str =
        Box::leak(format!("expiry-{}", js_sys::Math::random().to_bits()).into_boxed_str());
    let expiring: &'static str = Box::leak(format!("expires-soon:{user}").into_boxed_str());
    // Opening asks once (`/api/me`), the first connection a second time: that token expires.
    let (calls, function) = token_function(vec![expiring, expiring, user], false);
    let store = open_with(options("expiry-close", expiring_relay(), &function)).await;
    eventually("the store connects", async || state(&store) == "online").await;
    eventually(
        "the relay closed the socket and the store asked again",
        async || calls.get() >= 3,
    )
    .await;
    eventually("the store is back online", async || {
        state(&store) == "online"
    })
    .await;
    // And stays so: the fresh token does not expire.
    sleep(1_500).await;
    assert_eq!(state(&store), "online");
    create_thread(&store, Some("after the token expired")).await;
    ok(store.sync()).await;

    // A token that cannot be renewed is left unauthorized once the relay says it expired.
    let store = open_with(options("expiry-fixed", expiring_relay(), &expiring.into())).await;
    eventually("the store connects", async || state(&store) == "online").await;
    eventually("the expired token leaves it unauthorized", async || {
        state(&store) == "unauthorized"
    })
    .await;
}
