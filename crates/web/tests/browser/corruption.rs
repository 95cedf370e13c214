//! Damaged records in IndexedDB: the thread reports a clear error, other threads still open, and the
//! store never panics.

use js_sys::Uint8Array;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

async fn two_threads(db: &str) -> (String, String) {
    let store = open_store(db).await;
    let good = create_thread(&store, Some("good")).await;
    let bad = create_thread(&store, Some("bad")).await;
    for id in [&good, &bad] {
        let thread = open_thread(&store, id).await.unwrap();
        append(&thread, "user", "hello");
    }
    ok(store.close()).await;
    (good, bad)
}

/// Overwrites one of a thread's stored chunks with `value`.
async fn replace_a_chunk(db: &str, thread: &str, value: wasm_bindgen::JsValue) {
    let raw_db = raw::open(db).await;
    let chunk = raw::keys(&raw_db, "chunks")
        .await
        .into_iter()
        .find(|k| k.starts_with(&format!("{thread}/")))
        .expect("the thread has a chunk");
    raw::put(&raw_db, "chunks", &chunk, value).await;
    raw_db.close();
}

#[wasm_bindgen_test]
async fn a_garbage_chunk_fails_only_its_thread() {
    let db = unique_db("corrupt");
    let (good, bad) = two_threads(&db).await;
    let garbage = Uint8Array::from(&[0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 5][..]);
    replace_a_chunk(&db, &bad, garbage.into()).await;

    let store = open_store(&db).await;
    let error = open_thread(&store, &bad)
        .await
        .err()
        .expect("the damaged thread is refused");
    assert_eq!(code(&error), "corrupt");
    assert!(describe(&error).contains(&bad), "{}", describe(&error));
    let thread = open_thread(&store, &good)
        .await
        .expect("the other thread opens");
    assert_eq!(messages(&thread)[0].1, "hello");
    // The list still shows both.
    let list = json(&ok(store.list_threads(None)).await);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[wasm_bindgen_test]
async fn a_chunk_that_is_not_bytes_fails_only_its_thread() {
    let db = unique_db("corrupt-shape");
    let (good, bad) = two_threads(&db).await;
    replace_a_chunk(&db, &bad, "not bytes".into()).await;

    let store = open_store(&db).await;
    assert_eq!(
        code(&open_thread(&store, &bad).await.err().unwrap()),
        "corrupt"
    );
    assert!(open_thread(&store, &good).await.is_ok());
}
