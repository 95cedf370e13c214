//! Chunks are folded into the snapshot once they outgrow it; nothing is lost on the way.

use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

#[wasm_bindgen_test]
async fn chunks_are_compacted_into_a_snapshot() {
    let db = unique_db("compaction");
    let store = open_store(&db).await;
    let id = create_thread(&store, None).await;
    let thread = open_thread(&store, &id).await.unwrap();
    // About 240 KB over 12 flushes: well past the 64 KB floor, so at least one compaction.
    let text = "lorem ipsum dolor sit amet ".repeat(740);
    for i in 0..12 {
        append(&thread, "user", &format!("{i} {text}"));
        ok(store.flush()).await;
    }
    let raw_db = raw::open(&db).await;
    let snapshots = raw::keys(&raw_db, "snapshots").await;
    let chunks: Vec<String> = raw::keys(&raw_db, "chunks")
        .await
        .into_iter()
        .filter(|k| k.starts_with(&format!("{id}/")))
        .collect();
    raw_db.close();
    assert!(snapshots.contains(&id), "no snapshot: {snapshots:?}");
    assert!(
        chunks.len() < 12,
        "{} chunks were never compacted",
        chunks.len()
    );
    ok(store.close()).await;

    let reopened = open_store(&db).await;
    let thread = open_thread(&reopened, &id).await.unwrap();
    let contents: Vec<String> = messages(&thread).into_iter().map(|m| m.1).collect();
    assert_eq!(contents.len(), 12);
    assert!(contents[11].starts_with("11 lorem"));
}
