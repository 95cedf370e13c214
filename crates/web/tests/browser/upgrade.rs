//! Databases written by an older layout are upgraded in place; nothing stored is lost.

use automerge::ActorId;
use chatsync_model::{
    Index, Limits, MessageId, NewMessage, ReadAt, Role, Thread, ThreadId, ThreadInit,
};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

const THREAD: &str = "2Nf4zVZb2xtf4zWbGkqWmDLBMVNv";

/// Writes a database in layout 1: whole saves in `documents`, and `meta`.
async fn write_layout_1(name: &str) {
    let index_id = chatsync_protocol::DocumentId::new_v4([7; 16]).to_string();
    let actor = ActorId::from(b"old-device".to_vec());
    let id = ThreadId::new(THREAD).unwrap();
    let mut thread =
        Thread::create(ThreadInit::new(id, actor.clone(), 1_000), Limits::default()).unwrap();
    let message = NewMessage::new(MessageId::new("m1").unwrap(), Role::User, "from layout 1");
    thread.append_message(message, 1_000).unwrap();
    thread.commit();
    let mut index = Index::new(actor);
    index
        .upsert(&thread.summary(ReadAt::new(1_000)), 1_000)
        .unwrap();
    index.commit();

    let db = Database::open(name)
        .with_version(1u32)
        .with_on_upgrade_needed(|_, db| {
            db.create_object_store("documents").build()?;
            db.create_object_store("meta").build()?;
            Ok(())
        })
        .await
        .unwrap();
    let tx = db
        .transaction(["documents", "meta"])
        .with_mode(TransactionMode::Readwrite)
        .build()
        .unwrap();
    let documents = tx.object_store("documents").unwrap();
    let thread_bytes = Uint8Array::from(&thread.save().unwrap()[..]);
    let index_bytes = Uint8Array::from(&index.save().unwrap()[..]);
    documents
        .put(JsValue::from(thread_bytes))
        .with_key(THREAD)
        .primitive()
        .unwrap();
    documents
        .put(JsValue::from(index_bytes))
        .with_key(index_id.as_str())
        .primitive()
        .unwrap();
    let meta = tx.object_store("meta").unwrap();
    meta.put(JsValue::from(index_id.as_str()))
        .with_key("indexId")
        .primitive()
        .unwrap();
    tx.commit().await.unwrap();
    db.close();
}

#[wasm_bindgen_test]
async fn layout_1_is_upgraded_with_its_threads() {
    let db = unique_db("upgrade");
    write_layout_1(&db).await;

    let store = open_store(&db).await;
    let list = json(&ok(store.list_threads(None)).await);
    assert_eq!(list[0]["id"], THREAD);
    assert_eq!(list[0]["title"], "from layout 1");
    let thread = open_thread(&store, THREAD).await.unwrap();
    assert_eq!(messages(&thread)[0].1, "from layout 1");
    append(&thread, "assistant", "and written in layout 2");
    ok(store.close()).await;

    let raw_db = raw::open(&db).await;
    let stores: Vec<String> = raw_db.object_store_names().collect();
    assert!(!stores.contains(&"documents".to_owned()), "{stores:?}");
    raw_db.close();
    let store = open_store(&db).await;
    let thread = open_thread(&store, THREAD).await.unwrap();
    assert_eq!(messages(&thread).len(), 2);
}
