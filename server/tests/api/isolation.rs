//! Another user's thread is answered exactly like one that does not exist, on every path: same
//! status, same body, comparable time — and it is left unchanged.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Api, TestRelay};

/// A valid call of every path on thread `t` (whose message `m`, tool call `c`, approval `a` exist).
fn every_path(t: &str) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "mutation",
            "threads:setTitle",
            json!({ "threadId": t, "title": "mine now" }),
        ),
        (
            "mutation",
            "threads:setSettings",
            json!({ "threadId": t, "model": "x" }),
        ),
        ("mutation", "threads:archive", json!({ "threadId": t })),
        ("mutation", "threads:delete", json!({ "threadId": t })),
        (
            "mutation",
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "hi" }),
        ),
        (
            "mutation",
            "messages:appendDelta",
            json!({ "threadId": t, "messageId": "r", "text": "x" }),
        ),
        (
            "mutation",
            "messages:finish",
            json!({ "threadId": t, "messageId": "r", "status": "complete" }),
        ),
        (
            "mutation",
            "messages:edit",
            json!({ "threadId": t, "messageId": "m", "content": "x" }),
        ),
        (
            "mutation",
            "messages:regenerate",
            json!({ "threadId": t, "messageId": "r" }),
        ),
        (
            "mutation",
            "messages:selectBranch",
            json!({ "threadId": t, "messageId": "m" }),
        ),
        (
            "mutation",
            "messages:setFeedback",
            json!({ "threadId": t, "messageId": "m", "rating": 1 }),
        ),
        (
            "mutation",
            "artifacts:upsert",
            json!({ "threadId": t, "kind": "k", "title": "t", "content": "c" }),
        ),
        (
            "mutation",
            "toolCalls:start",
            json!({ "threadId": t, "messageId": "m", "toolName": "x" }),
        ),
        (
            "mutation",
            "toolCalls:finish",
            json!({ "threadId": t, "callId": "c", "status": "completed" }),
        ),
        (
            "mutation",
            "approvals:request",
            json!({ "threadId": t, "kind": "k", "subject": "s" }),
        ),
        (
            "mutation",
            "approvals:decide",
            json!({ "threadId": t, "approvalId": "a", "approve": true, "decidedBy": "b" }),
        ),
        (
            "mutation",
            "sessions:save",
            json!({ "threadId": t, "phase": "p" }),
        ),
        (
            "mutation",
            "context:upsert",
            json!({ "threadId": t, "type": "t", "key": "k", "value": 1 }),
        ),
        (
            "mutation",
            "context:remove",
            json!({ "threadId": t, "type": "t", "key": "k" }),
        ),
        ("query", "threads:get", json!({ "threadId": t })),
    ]
}

async fn call(api: &Api, kind: &str, path: &str, args: Value) -> crate::support::Answer {
    match kind {
        "mutation" => api.mutation(path, args).await,
        _ => api.query(path, args).await,
    }
}

/// Alice's thread with a message `m`, an open reply `r`, a tool call `c`, an approval `a`, a
/// context entry; `filler` bytes of content make it big.
async fn alices_thread(alice: &Api, filler: usize) -> String {
    let t = crate::mutations::new_thread(alice, "Alice's").await;
    let big = "x".repeat(filler);
    alice
        .mutation(
            "messages:append",
            json!({ "threadId": t, "id": "m", "role": "user", "content": big }),
        )
        .await
        .value();
    alice
        .mutation(
            "messages:append",
            json!({ "threadId": t, "id": "r", "role": "assistant" }),
        )
        .await
        .value();
    alice
        .mutation(
            "toolCalls:start",
            json!({ "threadId": t, "id": "c", "messageId": "m", "toolName": "x" }),
        )
        .await
        .value();
    alice
        .mutation(
            "approvals:request",
            json!({ "threadId": t, "id": "a", "kind": "k", "subject": "s" }),
        )
        .await
        .value();
    alice
        .mutation(
            "context:upsert",
            json!({ "threadId": t, "type": "t", "key": "k", "value": 1 }),
        )
        .await
        .value();
    t
}

#[tokio::test]
async fn every_path_on_another_users_thread_is_answered_like_an_absent_one() {
    let relay = TestRelay::start().await;
    let (alice, bob) = (relay.api("alice"), relay.api("bob"));
    let t = alices_thread(&alice, 10).await;
    let before = alice
        .query("threads:get", json!({ "threadId": t }))
        .await
        .value()
        .clone();
    let absent = crate::support::fresh_id();
    let absent = absent.as_str();
    for ((kind, path, theirs), (_, _, missing)) in
        every_path(&t).into_iter().zip(every_path(absent))
    {
        let refused = call(&bob, kind, path, theirs).await;
        let unknown = call(&bob, kind, path, missing).await;
        assert_eq!(refused.error(404), "not_found", "{path}");
        assert_eq!(
            refused.body, unknown.body,
            "{path}: another user's thread answered unlike an absent one"
        );
    }
    // A stream into it too.
    for thread in [t.as_str(), absent] {
        let stream = bob.stream().await;
        stream.line(json!({ "threadId": thread, "messageId": "r" }));
        stream.line(json!({ "delta": "hijack" }));
        stream.line(json!({ "finish": { "status": "complete" } }));
        let answer = stream.end().await;
        assert_eq!(answer.error(404), "not_found");
        assert_eq!(
            answer.body,
            json!({ "code": "not_found", "message": "thread not found" })
        );
    }
    // Creating a thread with Alice's id does not take it over.
    let taken = bob.mutation("threads:create", json!({ "id": t })).await;
    assert_eq!(taken.error(404), "not_found");
    // Bob's list has none of Alice's threads; Alice's thread is as it was.
    assert_eq!(
        bob.query("threads:list", json!({ "includeArchived": true }))
            .await
            .value(),
        &json!([])
    );
    let after = alice
        .query("threads:get", json!({ "threadId": t }))
        .await
        .value()
        .clone();
    assert_eq!(before, after, "another user changed the thread");
    relay.stop().await;
}

#[tokio::test]
async fn another_users_thread_takes_as_long_to_refuse_as_an_absent_one() {
    let relay = TestRelay::start().await;
    let (alice, bob) = (relay.api("alice"), relay.api("bob"));
    // Big enough that loading it would show (hundreds of KB).
    let t = alices_thread(&alice, 500_000).await;
    let absent = crate::support::fresh_id();
    let absent = absent.as_str();
    // Out of memory, so that a load would have to read storage.
    relay
        .relay
        .evict(Instant::now() + Duration::from_secs(3600))
        .await;
    let timed = |thread: String| {
        let bob = bob.clone();
        async move {
            let mut samples = Vec::new();
            for _ in 0..25 {
                let started = Instant::now();
                let answer = bob
                    .query("threads:get", json!({ "threadId": thread }))
                    .await;
                samples.push(started.elapsed());
                assert_eq!(answer.status, 404);
            }
            samples.sort();
            samples[samples.len() / 2]
        }
    };
    let theirs = timed(t.clone()).await;
    let missing = timed(absent.to_owned()).await;
    let (fast, slow) = if theirs < missing {
        (theirs, missing)
    } else {
        (missing, theirs)
    };
    assert!(
        slow < fast * 3 + Duration::from_millis(2),
        "another user's thread: {theirs:?}, an absent one: {missing:?}"
    );
    relay.stop().await;
}
