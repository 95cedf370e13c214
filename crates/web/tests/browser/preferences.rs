//! The user's preferences and profile: defaults, patches, the `preferences` event, merges across
//! devices, what new threads take from them, and `usage()`.

use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;
use crate::sync::{synced_store, unique_user};

fn preferences(store: &chatsync_web::ChatStore) -> serde_json::Value {
    json(&store.preferences().unwrap())
}

#[wasm_bindgen_test]
async fn preferences_start_at_their_defaults_and_change_field_by_field_with_an_event() {
    let db = unique_db("prefs");
    let store = open_store(&db).await;
    let defaults = preferences(&store);
    assert_eq!(defaults["enableContextMemory"], true);
    assert_eq!(defaults["maxContextMessages"], 50);
    assert_eq!(defaults["saveConversationHistory"], true);
    assert_eq!(defaults["allowDataTraining"], false);
    assert_eq!(defaults["trashRetentionDays"], 30);
    assert!(defaults.get("preferredModel").is_none());

    let seen = events(&store, "preferences");
    let patch = json!({
        "preferredModel": "gpt-4o",
        "maxContextMessages": 20,
        "responsePreferences": { "tone": "dry", "length": "short" },
        "dailyMessageLimit": 100,
    });
    // Applied before the promise settles: a read right after the call sees it.
    let stored = store.set_preferences(js(patch));
    assert_eq!(preferences(&store)["preferredModel"], "gpt-4o");
    ok(stored).await;
    let now = preferences(&store);
    assert_eq!(now["maxContextMessages"], 20);
    assert_eq!(
        now["responsePreferences"],
        json!({ "tone": "dry", "length": "short" })
    );
    assert_eq!(now["dailyMessageLimit"], 100);
    assert_eq!(
        now["enableContextMemory"], true,
        "fields not named are kept"
    );
    {
        let seen = seen.borrow();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0]["source"], "local");
        assert_eq!(seen[0]["preferences"]["preferredModel"], "gpt-4o");
    }

    // `null` puts a field back to its default; an unchanged patch tells nobody.
    ok(store.set_preferences(js(json!({ "maxContextMessages": null })))).await;
    assert_eq!(preferences(&store)["maxContextMessages"], 50);
    ok(store.set_preferences(js(json!({ "maxContextMessages": null })))).await;
    assert_eq!(seen.borrow().len(), 2);

    // Kept across a reload.
    ok(store.close()).await;
    let store = open_store(&db).await;
    assert_eq!(preferences(&store)["preferredModel"], "gpt-4o");
    assert_eq!(preferences(&store)["dailyMessageLimit"], 100);
}

#[wasm_bindgen_test]
async fn a_bad_preference_patch_is_refused_whole() {
    let store = open_store(&unique_db("prefs-bad")).await;
    for patch in [
        json!({ "preferedModel": "typo" }),
        json!({ "maxContextMessages": 0 }),
        json!({ "maxContextMessages": 2.5 }),
        json!({ "enableContextMemory": "yes" }),
        json!({ "preferredModel": "   " }),
        json!({ "responsePreferences": [1, 2] }),
        json!({ "preferredModel": "fine", "dailyMessageLimit": -1 }),
        json!("not an object"),
    ] {
        let error = call(store.set_preferences(js(patch.clone())))
            .await
            .unwrap_err();
        assert_eq!(
            code(&error),
            "invalid_input",
            "{patch}: {}",
            describe(&error)
        );
    }
    assert!(
        preferences(&store).get("preferredModel").is_none(),
        "nothing half-applied"
    );
}

#[wasm_bindgen_test]
async fn new_threads_take_the_preferred_model_and_system_prompt_unless_given_settings() {
    let store = open_store(&unique_db("prefs-threads")).await;
    let patch = json!({ "preferredModel": "claude", "defaultSystemPrompt": "Be brief." });
    ok(store.set_preferences(js(patch))).await;

    let plain = create_thread(&store, Some("plain")).await;
    let settings =
        json(&open_thread(&store, &plain).await.unwrap().view().unwrap())["settings"].clone();
    assert_eq!(settings["model"], "claude");
    assert_eq!(settings["systemPrompt"], "Be brief.");

    let init = json!({ "title": "given", "settings": { "model": "o3", "temperature": 0.5 } });
    let given = json(&ok(store.create_thread(Some(js(init)))).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings =
        json(&open_thread(&store, &given).await.unwrap().view().unwrap())["settings"].clone();
    assert_eq!(settings["model"], "o3", "given settings win");
    assert_eq!(
        settings["systemPrompt"], "Be brief.",
        "what they leave unset is the preference"
    );
}

#[wasm_bindgen_test]
async fn preferences_edited_on_two_devices_merge_per_field_with_a_remote_event() {
    let user = unique_user("prefs-merge");
    let a = synced_store(&unique_db("prefs-a"), &user).await;
    let b = synced_store(&unique_db("prefs-b"), &user).await;
    ok(a.sync()).await;
    ok(b.sync()).await;
    let on_b = events(&b, "preferences");

    ok(a.set_preferences(js(json!({ "preferredModel": "from-a" })))).await;
    ok(b.set_preferences(js(json!({ "maxContextMessages": 7 })))).await;
    ok(a.sync()).await;
    ok(b.sync()).await;

    eventually("both devices hold both fields", async || {
        let (pa, pb) = (preferences(&a), preferences(&b));
        pa == pb && pa["preferredModel"] == "from-a" && pa["maxContextMessages"] == 7
    })
    .await;
    let remote: Vec<_> = on_b
        .borrow()
        .iter()
        .filter(|e| e["source"] == "remote")
        .cloned()
        .collect();
    assert!(
        !remote.is_empty(),
        "B heard of A's change: {:?}",
        on_b.borrow()
    );
    assert_eq!(
        remote.last().unwrap()["preferences"]["preferredModel"],
        "from-a"
    );
}

#[wasm_bindgen_test]
async fn the_profile_is_set_and_cleared_field_by_field() {
    let store = open_store(&unique_db("profile")).await;
    assert_eq!(json(&store.profile().unwrap()), json!({}));
    let patch =
        json!({ "username": "ada", "displayName": "Ada L.", "preferences": { "theme": "dark" } });
    ok(store.set_profile(js(patch))).await;
    ok(store.set_profile(js(
        json!({ "email": "ada@example.com", "displayName": null }),
    )))
    .await;
    assert_eq!(
        json(&store.profile().unwrap()),
        json!({ "username": "ada", "email": "ada@example.com", "preferences": { "theme": "dark" } })
    );
    let error = call(store.set_profile(js(json!({ "age": 36 }))))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_input");
}

#[wasm_bindgen_test]
async fn usage_counts_todays_messages_and_this_months_tokens_against_the_limits() {
    let store = open_store(&unique_db("usage")).await;
    let empty = json(&store.usage().unwrap());
    assert_eq!(empty, json!({ "messagesToday": 0, "tokensThisMonth": 0 }));

    ok(store.set_preferences(js(
        json!({ "dailyMessageLimit": 10, "monthlyTokenLimit": 1000 }),
    )))
    .await;
    let id = create_thread(&store, Some("counted")).await;
    let thread = open_thread(&store, &id).await.unwrap();
    append(&thread, "user", "question");
    let reply = thread
        .append_message(js(json!({ "role": "assistant", "status": "streaming" })))
        .unwrap();
    let reply_id = json(&reply)["id"].as_str().unwrap().to_owned();
    let end = json!({ "status": "complete", "usage": { "inputTokens": 30, "outputTokens": 12 } });
    thread.finish_message(reply_id, js(end)).unwrap();
    ok(store.flush()).await;

    let used = json(&store.usage().unwrap());
    assert_eq!(
        used,
        json!({ "messagesToday": 2, "tokensThisMonth": 42, "dailyMessageLimit": 10, "monthlyTokenLimit": 1000 })
    );
    let listed = json(&ok(store.list_threads(None)).await)[0].clone();
    assert_eq!(listed["totalInputTokens"], 30);
    assert_eq!(listed["totalOutputTokens"], 12);
    let view = json(&thread.view().unwrap());
    assert_eq!(view["totalInputTokens"], 30);
    assert_eq!(view["totalOutputTokens"], 12);
}

#[wasm_bindgen_test]
async fn another_tabs_preference_change_reaches_this_one_with_an_event() {
    let db = unique_db("prefs-tabs");
    let first = open_store(&db).await;
    let second = open_store(&db).await;
    let on_second = events(&second, "preferences");
    ok(first.set_preferences(js(json!({ "allowDataTraining": true })))).await;
    eventually("the second tab has it", async || {
        preferences(&second)["allowDataTraining"] == true
    })
    .await;
    eventually("the second tab was told", async || {
        on_second.borrow().iter().any(|e| e["source"] == "remote")
    })
    .await;
}
