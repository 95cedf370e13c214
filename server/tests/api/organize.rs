//! The paths on the user's index and the thread's organization: preferences, profile, projects,
//! moving threads, summaries, unarchiving, context entries, usage — each with its refusals.

use serde_json::json;

use crate::mutations::new_thread;
use crate::support::TestRelay;

#[tokio::test]
async fn preferences_read_as_defaults_merge_per_field_and_refuse_bad_fields() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let defaults = api.query("preferences:get", json!({})).await;
    let d = defaults.value();
    assert_eq!(d["enableContextMemory"], true);
    assert_eq!(d["maxContextMessages"], 50);
    assert_eq!(d["saveConversationHistory"], true);
    assert_eq!(d["allowDataTraining"], false);
    assert_eq!(d["trashRetentionDays"], 30);
    assert!(d.get("preferredModel").is_none());

    let set = api
        .mutation(
            "preferences:set",
            json!({ "preferredModel": "gpt-5", "responsePreferences": { "tone": "dry" }, "dailyMessageLimit": 100 }),
        )
        .await;
    assert_eq!(set.value()["preferredModel"], "gpt-5");
    api.mutation("preferences:set", json!({ "maxContextMessages": 10 }))
        .await
        .value();
    let p = api.query("preferences:get", json!({})).await;
    assert_eq!(p.value()["preferredModel"], "gpt-5");
    assert_eq!(p.value()["maxContextMessages"], 10);
    assert_eq!(p.value()["responsePreferences"], json!({ "tone": "dry" }));
    // `null` clears a field back to its default.
    api.mutation("preferences:set", json!({ "maxContextMessages": null }))
        .await
        .value();
    assert_eq!(
        api.query("preferences:get", json!({})).await.value()["maxContextMessages"],
        50
    );
    // Another user sees only their own.
    let bob = relay.api("bob").query("preferences:get", json!({})).await;
    assert!(bob.value().get("preferredModel").is_none());

    for bad in [
        json!({ "preferedModel": "typo" }),
        json!({ "maxContextMessages": "ten" }),
        json!({ "maxContextMessages": 0 }),
        json!({ "responsePreferences": [1] }),
        json!(["not", "an", "object"]),
    ] {
        let answer = api.mutation("preferences:set", bad.clone()).await;
        assert_eq!(answer.error(400), "invalid_input", "{bad}");
    }
    let extra = api.query("preferences:get", json!({ "x": 1 })).await;
    assert_eq!(extra.error(400), "invalid_input");
    relay.stop().await;
}

#[tokio::test]
async fn the_profile_is_set_and_read_per_field() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    assert_eq!(
        api.query("profile:get", json!({})).await.value(),
        &json!({})
    );
    api.mutation(
        "profile:set",
        json!({ "displayName": "Alice", "email": "a@example.com" }),
    )
    .await
    .value();
    let answer = api
        .mutation("profile:set", json!({ "avatarUrl": "https://x/a.png" }))
        .await;
    assert_eq!(answer.value()["displayName"], "Alice");
    let profile = api.query("profile:get", json!({})).await;
    assert_eq!(profile.value()["email"], "a@example.com");
    assert_eq!(profile.value()["avatarUrl"], "https://x/a.png");
    let bad = api
        .mutation("profile:set", json!({ "nickname": "al" }))
        .await;
    assert_eq!(bad.error(400), "invalid_input");
    assert_eq!(
        relay
            .api("bob")
            .query("profile:get", json!({}))
            .await
            .value(),
        &json!({})
    );
    relay.stop().await;
}

#[tokio::test]
async fn projects_are_created_updated_archived_listed_and_deleted() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let created = api
        .mutation(
            "projects:create",
            json!({ "id": "p1", "name": "Website", "language": "rust" }),
        )
        .await;
    assert_eq!(created.value()["id"], "p1");
    assert_eq!(created.value()["threadCount"], 0);
    // The same create again answers alike; other fields under the same id are a conflict.
    let again = api
        .mutation(
            "projects:create",
            json!({ "id": "p1", "name": "Website", "language": "rust" }),
        )
        .await;
    assert_eq!(again.value(), created.value());
    let conflict = api
        .mutation("projects:create", json!({ "id": "p1", "name": "Other" }))
        .await;
    assert_eq!(conflict.error(409), "already_exists");
    let nameless = api
        .mutation("projects:create", json!({ "language": "go" }))
        .await;
    assert_eq!(nameless.error(400), "invalid_input");
    let generated = api
        .mutation("projects:create", json!({ "name": "Blog" }))
        .await;
    let blog = generated.value()["id"].as_str().unwrap().to_owned();

    let updated = api
        .mutation(
            "projects:update",
            json!({ "projectId": "p1", "description": "the site" }),
        )
        .await;
    assert_eq!(updated.value()["description"], "the site");
    assert_eq!(updated.value()["name"], "Website");
    let unknown = api
        .mutation(
            "projects:update",
            json!({ "projectId": "nope", "name": "x" }),
        )
        .await;
    assert_eq!(unknown.error(404), "not_found");
    let cleared = api
        .mutation(
            "projects:update",
            json!({ "projectId": "p1", "name": null }),
        )
        .await;
    assert_eq!(cleared.error(400), "invalid_input");

    // A thread in the project counts; moving it out and back; an unknown project is refused.
    let t = new_thread(&api, "In a project").await;
    let moved = api
        .mutation("threads:move", json!({ "threadId": t, "projectId": "p1" }))
        .await;
    assert_eq!(moved.value()["projectId"], "p1");
    let list = api.query("projects:list", json!({})).await;
    let names: Vec<&str> = list
        .value()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Blog", "Website"]);
    assert_eq!(list.value()[1]["threadCount"], 1);
    let in_p1 = api
        .query("threads:list", json!({ "projectId": "p1" }))
        .await;
    assert_eq!(in_p1.value()[0]["id"], t.as_str());
    assert_eq!(
        api.query("threads:list", json!({ "projectId": blog }))
            .await
            .value(),
        &json!([])
    );
    let nowhere = api
        .mutation(
            "threads:move",
            json!({ "threadId": t, "projectId": "ghost" }),
        )
        .await;
    assert_eq!(nowhere.error(404), "not_found");
    let no_arg = api.mutation("threads:move", json!({ "threadId": t })).await;
    assert_eq!(no_arg.error(400), "invalid_input");
    let theirs = relay
        .api("mallory")
        .mutation("threads:move", json!({ "threadId": t, "projectId": null }))
        .await;
    assert_eq!(theirs.error(404), "not_found");

    let archived = api
        .mutation("projects:archive", json!({ "projectId": blog }))
        .await;
    assert_eq!(archived.value()["archived"], true);
    assert_eq!(
        api.query("projects:list", json!({}))
            .await
            .value()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let all = api
        .query("projects:list", json!({ "includeArchived": true }))
        .await;
    assert_eq!(all.value().as_array().unwrap().len(), 2);

    // Deleting keeps the thread, in no project; deleting again is done; the id is not reused.
    api.mutation("projects:delete", json!({ "projectId": "p1" }))
        .await
        .value();
    api.mutation("projects:delete", json!({ "projectId": "p1" }))
        .await
        .value();
    let thread = api.query("threads:get", json!({ "threadId": t })).await;
    assert!(
        thread.value().get("projectId").is_none_or(|p| p.is_null()),
        "{:?}",
        thread.value()
    );
    let reuse = api
        .mutation("projects:create", json!({ "id": "p1", "name": "Website" }))
        .await;
    assert_eq!(reuse.error(409), "already_exists");
    let never = api
        .mutation("projects:delete", json!({ "projectId": "never" }))
        .await;
    assert_eq!(never.error(404), "not_found");
    // Another user has none of these.
    let bob = relay.api("bob");
    assert_eq!(
        bob.query("projects:list", json!({ "includeArchived": true }))
            .await
            .value(),
        &json!([])
    );
    let bobs = bob
        .mutation("projects:archive", json!({ "projectId": blog }))
        .await;
    assert_eq!(bobs.error(404), "not_found");
    // Out of a project with null.
    let t2 = new_thread(&api, "Second").await;
    api.mutation("threads:move", json!({ "threadId": t2, "projectId": blog }))
        .await
        .value();
    let out = api
        .mutation("threads:move", json!({ "threadId": t2, "projectId": null }))
        .await;
    assert!(out.value().get("projectId").is_none_or(|p| p.is_null()));
    relay.stop().await;
}

#[tokio::test]
async fn summary_unarchive_and_context_entries_through_the_api() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "Notes").await;
    api.mutation(
        "threads:setSummary",
        json!({ "threadId": t, "text": "About Rome" }),
    )
    .await
    .value();
    assert_eq!(
        api.query("threads:list", json!({})).await.value()[0]["summary"],
        "About Rome"
    );
    assert_eq!(
        api.query("threads:get", json!({ "threadId": t }))
            .await
            .value()["summary"],
        "About Rome"
    );
    api.mutation("threads:setSummary", json!({ "threadId": t, "text": null }))
        .await
        .value();
    assert!(
        api.query("threads:list", json!({})).await.value()[0]
            .get("summary")
            .is_none()
    );
    let both = api
        .mutation(
            "threads:setSummary",
            json!({ "threadId": t, "text": "a", "summary": "b" }),
        )
        .await;
    assert_eq!(both.error(400), "invalid_input");
    let wrong = api
        .mutation("threads:setSummary", json!({ "threadId": t, "text": 5 }))
        .await;
    assert_eq!(wrong.error(400), "invalid_input");

    api.mutation("threads:archive", json!({ "threadId": t }))
        .await
        .value();
    assert_eq!(
        api.query("threads:list", json!({})).await.value(),
        &json!([])
    );
    api.mutation("threads:unarchive", json!({ "threadId": t }))
        .await
        .value();
    assert_eq!(
        api.query("threads:list", json!({})).await.value()[0]["status"],
        "active"
    );

    api.mutation(
        "context:set",
        json!({ "threadId": t, "type": "memory", "key": "diet", "value": "vegan", "priority": 3 }),
    )
    .await
    .value();
    api.mutation(
        "context:set",
        json!({ "threadId": t, "type": "memory", "key": "old", "value": "x", "expiresAt": 1 }),
    )
    .await
    .value();
    let view = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(
        view.value()["context"],
        json!([{ "type": "memory", "key": "diet", "value": "vegan", "priority": 3 }])
    );
    api.mutation(
        "context:remove",
        json!({ "threadId": t, "type": "memory", "key": "diet" }),
    )
    .await
    .value();
    let missing = api
        .mutation(
            "context:remove",
            json!({ "threadId": t, "type": "memory", "key": "diet" }),
        )
        .await;
    assert_eq!(missing.error(404), "not_found");
    let bad = api
        .mutation("context:set", json!({ "threadId": t, "type": "memory" }))
        .await;
    assert_eq!(bad.error(400), "invalid_input");
    let theirs = relay
        .api("mallory")
        .mutation(
            "threads:setSummary",
            json!({ "threadId": t, "text": "mine" }),
        )
        .await;
    assert_eq!(theirs.error(404), "not_found");
    relay.stop().await;
}

#[tokio::test]
async fn usage_counts_todays_messages_and_this_months_tokens_against_the_limits() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let empty = api.query("usage:get", json!({})).await;
    assert_eq!(
        empty.value(),
        &json!({ "messagesToday": 0, "tokensThisMonth": 0 })
    );
    api.mutation(
        "preferences:set",
        json!({ "dailyMessageLimit": 10, "monthlyTokenLimit": 1000 }),
    )
    .await
    .value();
    let t = new_thread(&api, "Counted").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "q", "role": "user", "content": "hi" }),
    )
    .await
    .value();
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "a", "role": "assistant", "content": "hello", "status": "streaming" }),
    )
    .await
    .value();
    api.mutation(
        "messages:finish",
        json!({ "threadId": t, "messageId": "a", "status": "complete", "usage": { "inputTokens": 7, "outputTokens": 5 } }),
    )
    .await
    .value();
    let usage = api
        .query("usage:get", json!({ "utcOffsetMinutes": 0 }))
        .await;
    assert_eq!(
        usage.value(),
        &json!({ "messagesToday": 2, "tokensThisMonth": 12, "dailyMessageLimit": 10, "monthlyTokenLimit": 1000 })
    );
    let list = api.query("threads:list", json!({})).await;
    assert_eq!(list.value()[0]["totalInputTokens"], 7);
    assert_eq!(list.value()[0]["totalOutputTokens"], 5);
    for bad in [
        json!({ "utcOffsetMinutes": 5000 }),
        json!({ "utcOffsetMinutes": 1.5 }),
        json!({ "x": 1 }),
    ] {
        assert_eq!(
            api.query("usage:get", bad.clone()).await.error(400),
            "invalid_input",
            "{bad}"
        );
    }
    assert_eq!(
        relay.api("bob").query("usage:get", json!({})).await.value()["messagesToday"],
        0
    );
    relay.stop().await;
}
