//! Every mutation path, its answer, and what `threads:get` and `threads:list` then show.

use serde_json::{Value, json};

use crate::support::{Api, TestRelay};

/// Creates a thread and returns its id.
pub async fn new_thread(api: &Api, title: &str) -> String {
    let created = api
        .mutation("threads:create", json!({ "title": title }))
        .await;
    created.value()["id"].as_str().unwrap().to_owned()
}

async fn view(api: &Api, thread: &str) -> Value {
    api.query("threads:get", json!({ "threadId": thread }))
        .await
        .value()
        .clone()
}

#[tokio::test]
async fn every_mutation_path_writes_through_the_model_and_shows_in_the_view() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");

    let created = api
        .mutation(
            "threads:create",
            json!({ "title": "Trip", "settings": { "model": "gpt-4o", "temperature": 0.5 }, "projectId": "p1" }),
        )
        .await;
    let summary = created.value();
    assert_eq!(summary["title"], "Trip");
    assert_eq!(summary["status"], "active");
    assert_eq!(summary["projectId"], "p1");
    let t = summary["id"].as_str().unwrap().to_owned();
    let ok = |answer: crate::support::Answer| assert_eq!(answer.value(), &Value::Null);

    ok(api
        .mutation(
            "threads:setTitle",
            json!({ "threadId": t, "title": "Trip to Rome" }),
        )
        .await);
    ok(api
        .mutation(
            "threads:setSettings",
            json!({ "threadId": t, "systemPrompt": "Be brief" }),
        )
        .await);
    ok(api
        .mutation(
            "threads:setSettings",
            json!({ "threadId": t, "settings": { "contextWindow": 8000 } }),
        )
        .await);

    let question = api
        .mutation(
            "messages:append",
            json!({ "threadId": t, "id": "q1", "role": "user", "content": "Where to eat?" }),
        )
        .await;
    assert_eq!(question.value()["id"], "q1");
    assert_eq!(question.value()["status"], "complete");
    let reply = api
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "assistant", "provider": "openai", "model": "gpt-4o", "metadata": { "run": 7 } }),
        )
        .await;
    let reply_id = reply.value()["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.value()["status"], "pending");
    assert_eq!(reply.value()["parentId"], "q1");
    ok(api
        .mutation(
            "messages:appendDelta",
            json!({ "threadId": t, "messageId": reply_id, "text": "Try " }),
        )
        .await);
    ok(api
        .mutation(
            "messages:appendDelta",
            json!({ "threadId": t, "messageId": reply_id, "text": "Trastevere." }),
        )
        .await);
    ok(api
        .mutation(
            "messages:finish",
            json!({ "threadId": t, "messageId": reply_id, "status": "complete", "usage": { "inputTokens": 12, "outputTokens": 3 } }),
        )
        .await);
    ok(api
        .mutation(
            "messages:setFeedback",
            json!({ "threadId": t, "messageId": reply_id, "rating": 5, "text": "great" }),
        )
        .await);

    let edited = api
        .mutation(
            "messages:edit",
            json!({ "threadId": t, "messageId": "q1", "content": "Where to eat cheaply?" }),
        )
        .await;
    let edited_id = edited.value()["id"].as_str().unwrap().to_owned();
    assert_eq!(edited.value()["siblings"], json!(["q1", edited_id]));
    let regenerated = api
        .mutation(
            "messages:regenerate",
            json!({ "threadId": t, "messageId": reply_id, "model": "o3" }),
        )
        .await;
    assert_eq!(regenerated.value()["status"], "pending");
    assert_eq!(regenerated.value()["model"], "o3");
    ok(api
        .mutation(
            "messages:selectBranch",
            json!({ "threadId": t, "messageId": "q1" }),
        )
        .await);
    ok(api
        .mutation(
            "messages:selectBranch",
            json!({ "threadId": t, "messageId": reply_id }),
        )
        .await);

    let artifact = api
        .mutation(
            "artifacts:upsert",
            json!({ "threadId": t, "id": "plan", "kind": "plan", "title": "Plan", "content": "1. Eat", "messageId": reply_id }),
        )
        .await;
    assert_eq!(artifact.value(), "plan");
    api.mutation(
        "artifacts:upsert",
        json!({ "threadId": t, "id": "plan", "kind": "plan", "title": "Plan", "content": "1. Eat\n2. Walk", "status": "final" }),
    )
    .await
    .value();
    let call = api
        .mutation(
            "toolCalls:start",
            json!({ "threadId": t, "id": "c1", "messageId": reply_id, "toolName": "search", "input": { "q": "pizza" } }),
        )
        .await;
    assert_eq!(call.value(), "c1");
    ok(api
        .mutation(
            "toolCalls:finish",
            json!({ "threadId": t, "callId": "c1", "status": "completed", "output": [1, 2] }),
        )
        .await);
    let approval = api
        .mutation(
            "approvals:request",
            json!({ "threadId": t, "id": "a1", "kind": "plan", "subject": "Book a table?" }),
        )
        .await;
    assert_eq!(approval.value(), "a1");
    api.mutation(
        "approvals:request",
        json!({ "threadId": t, "id": "a2", "kind": "plan", "subject": "Pay?" }),
    )
    .await
    .value();
    ok(api
        .mutation(
            "approvals:decide",
            json!({ "threadId": t, "approvalId": "a1", "approve": true, "decidedBy": "alice" }),
        )
        .await);
    ok(api
        .mutation(
            "sessions:save",
            json!({ "threadId": t, "externalId": "run-9", "phase": "executing", "plan": "eat" }),
        )
        .await);
    ok(api
        .mutation("context:upsert", json!({ "threadId": t, "type": "memory", "key": "diet", "value": "vegetarian", "priority": 2 }))
        .await);
    ok(api
        .mutation(
            "context:upsert",
            json!({ "threadId": t, "type": "memory", "key": "gone", "value": 1 }),
        )
        .await);
    ok(api
        .mutation(
            "context:remove",
            json!({ "threadId": t, "type": "memory", "key": "gone" }),
        )
        .await);

    let v = view(&api, &t).await;
    assert_eq!(v["id"], t);
    assert_eq!(v["title"], "Trip to Rome");
    assert_eq!(v["titleSource"], "person");
    assert_eq!(
        v["settings"],
        json!({ "model": "gpt-4o", "temperature": 0.5, "systemPrompt": "Be brief", "contextWindow": 8000 })
    );
    let messages = v["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{v}");
    assert_eq!(messages[0]["id"], "q1");
    let reply_view = &messages[1];
    assert_eq!(reply_view["content"], "Try Trastevere.");
    assert_eq!(
        reply_view["usage"],
        json!({ "inputTokens": 12, "outputTokens": 3 })
    );
    assert_eq!(
        reply_view["feedback"],
        json!({ "rating": 5, "text": "great" })
    );
    assert_eq!(reply_view["metadata"], json!({ "run": 7 }));
    assert_eq!(v["artifacts"][0]["version"], 2);
    assert_eq!(v["artifacts"][0]["status"], "final");
    assert_eq!(v["toolCalls"][0]["output"], json!([1, 2]));
    assert_eq!(v["toolCalls"][0]["status"], "completed");
    let pending: Vec<&Value> = v["pendingApprovals"].as_array().unwrap().iter().collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], "a2");
    assert_eq!(v["session"]["phase"], "executing");
    assert_eq!(
        v["context"],
        json!([{ "type": "memory", "key": "diet", "value": "vegetarian", "priority": 2 }])
    );

    // The list shows it with its title and preview; archive hides it unless asked; delete for good.
    let list = api.query("threads:list", json!({})).await;
    assert_eq!(list.value()[0]["title"], "Trip to Rome");
    assert_eq!(list.value()[0]["messageCount"], 2);
    assert_eq!(list.value()[0]["preview"], "Try Trastevere.");
    ok(api
        .mutation("threads:archive", json!({ "threadId": t }))
        .await);
    assert_eq!(
        api.query("threads:list", json!({})).await.value(),
        &json!([])
    );
    let archived = api
        .query("threads:list", json!({ "includeArchived": true }))
        .await;
    assert_eq!(archived.value()[0]["status"], "archived");
    // Delete moves it to the trash (twice is once); a purge erases it for good.
    ok(api
        .mutation("threads:delete", json!({ "threadId": t }))
        .await);
    ok(api
        .mutation("threads:delete", json!({ "threadId": t }))
        .await);
    let all = api
        .query("threads:list", json!({ "includeArchived": true }))
        .await;
    assert_eq!(all.value(), &json!([]));
    let trash = api.query("threads:list", json!({ "trashed": true })).await;
    assert_eq!(trash.value()[0]["id"], t.as_str());
    assert!(trash.value()[0]["trashedAt"].is_u64());
    ok(api
        .mutation("threads:purge", json!({ "threadId": t }))
        .await);
    assert_eq!(
        api.query("threads:get", json!({ "threadId": t }))
            .await
            .error(410),
        "purged"
    );
    let write = api
        .mutation("threads:setTitle", json!({ "threadId": t, "title": "x" }))
        .await;
    assert_eq!(write.error(410), "purged");
    ok(api
        .mutation("threads:delete", json!({ "threadId": t }))
        .await);
    relay.stop().await;
}

#[tokio::test]
async fn repeated_creates_with_the_same_id_are_answered_alike_and_a_conflicting_one_is_409() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let id = &crate::support::fresh_id();
    let create = json!({ "id": id, "title": "Same" });
    let first = api.mutation("threads:create", create.clone()).await;
    let again = api.mutation("threads:create", create).await;
    assert_eq!(first.value(), again.value());
    let other = api
        .mutation("threads:create", json!({ "id": id, "title": "Other" }))
        .await;
    assert_eq!(other.error(409), "already_exists");

    let append = json!({ "threadId": id, "id": "m1", "role": "user", "content": "Hello" });
    let first = api.mutation("messages:append", append.clone()).await;
    let again = api.mutation("messages:append", append).await;
    assert_eq!(first.value(), again.value());
    let conflict = api
        .mutation(
            "messages:append",
            json!({ "threadId": id, "id": "m1", "role": "user", "content": "Bye" }),
        )
        .await;
    assert_eq!(conflict.error(409), "already_exists");

    let call = json!({ "threadId": id, "id": "c1", "messageId": "m1", "toolName": "search", "input": { "q": 1 } });
    assert_eq!(
        api.mutation("toolCalls:start", call.clone()).await.value(),
        "c1"
    );
    assert_eq!(api.mutation("toolCalls:start", call).await.value(), "c1");
    let conflict = api
        .mutation(
            "toolCalls:start",
            json!({ "threadId": id, "id": "c1", "messageId": "m1", "toolName": "other" }),
        )
        .await;
    assert_eq!(conflict.error(409), "already_exists");

    let approval = json!({ "threadId": id, "id": "a1", "kind": "plan", "subject": "Go?" });
    assert_eq!(
        api.mutation("approvals:request", approval.clone())
            .await
            .value(),
        "a1"
    );
    assert_eq!(
        api.mutation("approvals:request", approval).await.value(),
        "a1"
    );
    let conflict = api
        .mutation(
            "approvals:request",
            json!({ "threadId": id, "id": "a1", "kind": "plan", "subject": "Stop?" }),
        )
        .await;
    assert_eq!(conflict.error(409), "already_exists");
    let decide =
        json!({ "threadId": id, "approvalId": "a1", "approve": false, "decidedBy": "bot" });
    api.mutation("approvals:decide", decide.clone())
        .await
        .value();
    api.mutation("approvals:decide", decide).await.value();

    let artifact =
        json!({ "threadId": id, "id": "r1", "kind": "report", "title": "R", "content": "v1" });
    api.mutation("artifacts:upsert", artifact.clone())
        .await
        .value();
    api.mutation("artifacts:upsert", artifact).await.value();

    let reply = json!({ "threadId": id, "id": "m2", "role": "assistant" });
    api.mutation("messages:append", reply.clone()).await.value();
    let finish = json!({ "threadId": id, "messageId": "m2", "status": "complete" });
    api.mutation("messages:finish", finish.clone())
        .await
        .value();
    api.mutation("messages:finish", finish).await.value();
    let other_end = api
        .mutation(
            "messages:finish",
            json!({ "threadId": id, "messageId": "m2", "status": "error" }),
        )
        .await;
    assert_eq!(other_end.error(409), "invalid_transition");

    let v = api.query("threads:get", json!({ "threadId": id })).await;
    let v = v.value();
    assert_eq!(
        v["messages"].as_array().unwrap().len(),
        2,
        "a retry duplicated a message: {v}"
    );
    assert_eq!(v["toolCalls"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["artifacts"][0]["version"], 1,
        "an identical upsert made a new version"
    );
    let list = api.query("threads:list", json!({})).await;
    assert_eq!(list.value().as_array().unwrap().len(), 1);
    relay.stop().await;
}

/// Review of issue 11: the API looked for deletion in the thread's document, but a thread's
/// deletion lives in the user's index (a device purging a thread writes its tombstone there): a
/// purged thread went on taking writes. Now it is refused `410 purged` (and erased), as a thread
/// purged through the API is.
#[tokio::test]
async fn a_thread_purged_in_the_index_is_refused_as_purged() {
    use chatsync_model::{Index, ThreadId};
    use chatsync_relay::relay::Open;

    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "T").await;
    // A device purges it: the tombstone goes into the index; the thread document is untouched.
    let id = ThreadId::new(t.clone()).unwrap();
    relay
        .relay
        .with_document(
            "alice",
            &relay.index_of("alice"),
            Open::Existing,
            move |doc| {
                let mut index = Index::from_automerge(std::mem::take(doc));
                index.purge(&id, 1).unwrap();
                *doc = index.into_automerge();
            },
        )
        .await
        .unwrap();
    let append = api
        .mutation(
            "messages:append",
            json!({ "threadId": t, "id": "m", "role": "user", "content": "Hi" }),
        )
        .await;
    assert_eq!(append.error(410), "purged");
    let read = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(read.error(410), "purged");
    relay.stop().await;
}
