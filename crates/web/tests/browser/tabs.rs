//! Two tabs on one database (two stores with the same `dbName` in one page stand in for them: a
//! BroadcastChannel reaches every other instance on the same origin).

use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

#[wasm_bindgen_test]
async fn a_tab_sees_the_other_tabs_threads_and_messages() {
    let db = unique_db("tabs");
    let first = open_store(&db).await;
    let second = open_store(&db).await;

    let id = create_thread(&first, Some("from the first tab")).await;
    eventually("the second tab lists it", async || {
        let list = json(&ok(second.list_threads(None)).await);
        list.as_array().unwrap().len() == 1
    })
    .await;

    let in_first = open_thread(&first, &id).await.unwrap();
    let in_second = open_thread(&second, &id).await.unwrap();
    append(&in_first, "user", "typed in the first tab");
    ok(first.flush()).await;
    eventually("the second tab shows the message", async || {
        messages(&in_second).len() == 1
    })
    .await;
    assert_eq!(messages(&in_second)[0].1, "typed in the first tab");
}

#[wasm_bindgen_test]
async fn concurrent_writes_in_two_tabs_are_both_kept() {
    let db = unique_db("tabs-concurrent");
    let first = open_store(&db).await;
    let id = create_thread(&first, None).await;
    let second = open_store(&db).await;
    let in_first = open_thread(&first, &id).await.unwrap();
    let in_second = open_thread(&second, &id).await.unwrap();
    for i in 0..20 {
        append(&in_first, "user", &format!("first {i}"));
        append(&in_second, "user", &format!("second {i}"));
        if i % 5 == 0 {
            // Interleave flushes, and so compactions, of both tabs.
            ok(first.flush()).await;
            ok(second.flush()).await;
        }
    }
    ok(first.close()).await;
    ok(second.close()).await;

    let reopened = open_store(&db).await;
    let thread = open_thread(&reopened, &id).await.unwrap();
    let contents: Vec<String> = messages(&thread).into_iter().map(|m| m.1).collect();
    assert_eq!(contents.len(), 40, "{contents:?}");
    for i in 0..20 {
        assert!(contents.contains(&format!("first {i}")));
        assert!(contents.contains(&format!("second {i}")));
    }
}
