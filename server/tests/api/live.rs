//! A backend's writes reach a user's connected devices live: the thread list (the index document)
//! and the thread itself, while a reply streams.

use std::time::Duration;

use chatsync_model::{ListOptions, ReadAt};
use chatsync_protocol::DocumentId;
use serde_json::json;

use crate::eventually;
use crate::support::TestRelay;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_backends_thread_and_streamed_reply_reach_a_native_client_live() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let device = relay.client("alice", "phone").await;
    let index = relay.index_of("alice");
    // The device holds its (still empty) thread list before the backend writes anything.
    let t = crate::mutations::new_thread(&api, "From the backend").await;
    device.find(index, Duration::from_secs(5)).await.unwrap();
    let listed = eventually(Duration::from_secs(5), || async {
        let list = device
            .list_threads(index, ListOptions::default())
            .await
            .unwrap();
        list.first().is_some_and(|s| s.title == "From the backend")
    })
    .await;
    assert!(
        listed,
        "the backend's thread never reached the device's list"
    );

    let id: DocumentId = t.parse().unwrap();
    device.find(id, Duration::from_secs(5)).await.unwrap();
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "q", "role": "user", "content": "Tell me" }),
    )
    .await
    .value();
    let changes_before = device.get(id).await.unwrap().get_changes(&[]).len();

    let stream = api.stream().await;
    stream.line(json!({ "threadId": t, "messageId": "r" }));
    let mut seen_partial = false;
    for i in 0..40 {
        stream.line(json!({ "delta": format!("w{i} ") }));
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !seen_partial {
            let thread = device.thread(id).await.unwrap();
            let m = thread.message(
                &chatsync_model::MessageId::new("r").unwrap(),
                ReadAt::new(now_ms()),
            );
            seen_partial = m.is_some_and(|m| m.status.is_open() && !m.content.is_empty());
        }
    }
    assert!(
        seen_partial,
        "the device saw nothing of the reply while it streamed"
    );
    stream.line(json!({ "finish": { "status": "complete" } }));
    stream.end().await.value();
    let expected: String = (0..40).map(|i| format!("w{i} ")).collect();
    let done = eventually(Duration::from_secs(5), || async {
        let thread = device.thread(id).await.unwrap();
        let m = thread.message(
            &chatsync_model::MessageId::new("r").unwrap(),
            ReadAt::new(now_ms()),
        );
        m.is_some_and(|m| {
            m.content == expected && m.status == chatsync_model::MessageStatus::Complete
        })
    })
    .await;
    assert!(done, "the finished reply did not reach the device");
    // 40 deltas over ~0.8 s: at most one change per 100 ms (plus the message's creation and end).
    let changes = device.get(id).await.unwrap().get_changes(&[]).len() - changes_before;
    assert!(
        (3..=14).contains(&changes),
        "{changes} changes for one streamed reply"
    );
    let preview = eventually(Duration::from_secs(5), || async {
        let list = device
            .list_threads(index, ListOptions::default())
            .await
            .unwrap();
        list.first()
            .is_some_and(|s| s.preview.starts_with("w0 w1") && s.message_count == 2)
    })
    .await;
    assert!(preview, "the list's preview did not follow the reply");
    // Deleted by the backend: gone from the device's list, and no text of it left in the index.
    api.mutation("threads:delete", json!({ "threadId": t }))
        .await
        .value();
    let thread_id = chatsync_model::ThreadId::new(t.clone()).unwrap();
    let gone = eventually(Duration::from_secs(5), || async {
        let index = chatsync_model::Index::from_automerge(device.get(index).await.unwrap());
        index.get(&thread_id).is_some_and(|s| {
            s.status == chatsync_model::ThreadStatus::Deleted
                && s.title.is_empty()
                && s.preview.is_empty()
        }) && index
            .list(ListOptions {
                include_archived: true,
                ..ListOptions::default()
            })
            .is_empty()
    })
    .await;
    assert!(gone, "the deleted thread lingers in the device's index");
    device.close();
    relay.stop().await;
}
