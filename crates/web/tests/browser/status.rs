//! `status()`: one object until something in it changes (React's `useSyncExternalStore` compares
//! snapshots with `Object.is`), and the connection's `state`.

use std::cell::RefCell;
use std::rc::Rc;

use chatsync_web::ChatStore;
use js_sys::{Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

fn relay_url() -> &'static str {
    match option_env!("CHATSYNC_TEST_RELAY") {
        Some(url) => url,
        None => {
            panic!("CHATSYNC_TEST_RELAY is not set: run the browser tests through scripts/test.sh")
        }
    }
}

fn status(store: &ChatStore) -> JsValue {
    store.status().expect("a status")
}

fn state(store: &ChatStore) -> String {
    json(&status(store))["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[wasm_bindgen_test]
async fn a_store_without_a_relay_is_local_and_its_status_stays_one_object() {
    let store = open_store(&unique_db("status-local")).await;
    let first = status(&store);
    assert!(Object::is(&first, &status(&store)), "a new object per call");
    assert_eq!(
        json(&first),
        serde_json::json!({ "state": "local", "online": false, "pendingThreads": 0 })
    );
    create_thread(&store, None).await;
    assert!(
        Object::is(&first, &status(&store)),
        "nothing it shows changed"
    );
}

#[wasm_bindgen_test]
async fn status_goes_connecting_online_offline_and_changes_only_with_its_content() {
    let user = format!("status-{}", js_sys::Math::random().to_bits());
    let options = js(serde_json::json!({
        "dbName": unique_db("status"), "relayUrl": relay_url(), "token": user,
    }));
    let store = ChatStore::try_from_js_value(ok(ChatStore::open(Some(options))).await).unwrap();
    let announced = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&announced);
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        if Reflect::get(&event, &"type".into()).unwrap() == "status" {
            sink.borrow_mut()
                .push(Reflect::get(&event, &"status".into()).unwrap());
        }
    });
    let _unsubscribe = store.subscribe(listener.into_js_value().unchecked_into());
    assert_eq!(state(&store), "connecting");
    let connecting = status(&store);
    eventually("the store is online", async || state(&store) == "online").await;
    let online = status(&store);
    assert!(!Object::is(&connecting, &online));
    assert_eq!(json(&online)["online"], true);
    assert!(Object::is(&online, &status(&store)));

    create_thread(&store, Some("acknowledged")).await;
    ok(store.sync()).await;
    let synced = status(&store);
    assert!(
        !Object::is(&online, &synced),
        "the acknowledgement changed it"
    );
    assert_eq!(json(&synced)["pendingThreads"], 0);
    assert!(json(&synced)["lastSyncedAt"].is_number());
    assert!(Object::is(&synced, &status(&store)));

    store.set_online(false);
    eventually("the store is offline", async || state(&store) == "offline").await;
    let offline = status(&store);
    assert_eq!(json(&offline)["online"], false);
    assert!(Object::is(&offline, &status(&store)));
    store.set_online(true);
    eventually("the store is online again", async || {
        state(&store) == "online"
    })
    .await;

    // Every new status object was announced, once, as a `status` event.
    let announced = announced.borrow();
    let last = announced.last().expect("status events");
    assert!(Object::is(last, &status(&store)));
    for pair in announced.windows(2) {
        assert!(!Object::is(&pair[0], &pair[1]), "a status announced twice");
    }
    for seen in [&online, &synced, &offline] {
        assert!(
            announced.iter().any(|a| Object::is(a, seen)),
            "{:?} not announced",
            json(seen)
        );
    }
}
