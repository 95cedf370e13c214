//! Preferences and profile in the index: defaults, patches, validation, JSON, merges.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::view_json::to_json_text;
use chatsync_model::{
    FieldKind, FieldValue, Index, Json, ModelError, PREFERENCE_FIELDS, Patch, PatchTarget,
    Preferences, ThreadSettings,
};
use serde_json::json;

use crate::support::{T0, actor};

fn profile(value: serde_json::Value) -> Patch {
    crate::support::patch(PatchTarget::Profile, value)
}

fn index(device: &str) -> Index {
    Index::new(actor(device))
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

fn patch(value: serde_json::Value) -> Patch {
    crate::support::prefs(value)
}

#[test]
fn defaults_are_the_issues() {
    let prefs = index("a").preferences();
    assert_eq!(prefs, Preferences::default());
    assert!(prefs.enable_context_memory);
    assert_eq!(prefs.max_context_messages, 50);
    assert!(prefs.save_conversation_history);
    assert!(!prefs.allow_data_training);
    assert_eq!(prefs.trash_retention_days, 30);
    assert_eq!(
        serde_json::to_value(&prefs).unwrap(),
        json!({
            "enableContextMemory": true,
            "maxContextMessages": 50,
            "saveConversationHistory": true,
            "allowDataTraining": false,
            "trashRetentionDays": 30,
        })
    );
}

#[test]
fn a_patch_changes_only_the_fields_it_names_and_null_restores_the_default() {
    let mut index = index("a");
    index
        .set_preferences(
            &patch(json!({
                "preferredModel": "gpt-4o",
                "defaultSystemPrompt": "Be brief.",
                "responsePreferences": { "tone": "friendly", "length": "short", "format": "markdown" },
                "maxContextMessages": 20,
                "saveConversationHistory": false,
                "dailyMessageLimit": 100,
                "monthlyTokenLimit": 1000000,
            })),
            T0,
        )
        .unwrap();
    index
        .set_preferences(
            &patch(json!({ "maxContextMessages": null, "allowDataTraining": true })),
            T0 + 1,
        )
        .unwrap();
    let prefs = index.preferences();
    assert_eq!(prefs.preferred_model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        prefs.max_context_messages, 50,
        "null is back to the default"
    );
    assert!(prefs.allow_data_training && !prefs.save_conversation_history);
    let text = to_json_text(&prefs, &is_json);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value, serde_json::to_value(&prefs).unwrap());
    assert_eq!(value["responsePreferences"]["tone"], "friendly");
    assert_eq!(value["preferredModel"], "gpt-4o");
    assert_eq!(value["dailyMessageLimit"], 100);
    assert_eq!(value["monthlyTokenLimit"], 1_000_000);
}

#[test]
fn bad_values_are_refused_with_typed_errors_and_a_refused_patch_writes_nothing() {
    let mut index = index("a");
    index
        .set_preferences(&patch(json!({ "preferredModel": "m" })), T0)
        .unwrap();
    for (bad, field) in [
        (
            json!({ "maxContextMessages": 0, "preferredModel": "other" }),
            "maxContextMessages",
        ),
        (json!({ "preferredModel": "  " }), "preferredModel"),
        (json!({ "responsePreferences": [1] }), "responsePreferences"),
        (json!({ "trashRetentionDays": 0 }), "trashRetentionDays"),
        (json!({ "keepNewestThreads": 0 }), "keepNewestThreads"),
        (json!({ "maxContextMessages": -1 }), "maxContextMessages"),
        (json!({ "maxContextMessages": 2.5 }), "maxContextMessages"),
        (
            json!({ "enableContextMemory": "yes" }),
            "enableContextMemory",
        ),
        (json!({ "preferedModel": "x" }), "preferedModel"),
    ] {
        let err = Patch::from_json(PatchTarget::Preferences, &bad).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{bad}: {err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    let long = "x".repeat(40_000);
    let err =
        Patch::from_json(PatchTarget::Preferences, &json!({ "preferredModel": long })).unwrap_err();
    assert!(matches!(err, ModelError::TooLarge { .. }), "{err}");
    assert!(Patch::from_json(PatchTarget::Preferences, &json!([1])).is_err());
    // Field by field, as the browser reads a JavaScript object.
    let mut built = Patch::new(PatchTarget::Preferences);
    assert_eq!(built.kind_of("maxContextMessages"), Some(FieldKind::Count));
    assert_eq!(built.kind_of("nope"), None);
    let err = built
        .set("maxContextMessages", Some(FieldValue::Text("20".into())))
        .unwrap_err();
    assert!(
        err.to_string().contains("an integer of at least 1"),
        "{err}"
    );
    built
        .set("maxContextMessages", Some(FieldValue::Number(20)))
        .unwrap();
    built
        .set("maxContextMessages", Some(FieldValue::Number(30)))
        .unwrap();
    assert_eq!(
        built.get("maxContextMessages"),
        Some(&Some(FieldValue::Number(30)))
    );
    // A patch of another record is refused whole.
    let heads = index.heads();
    let err = index
        .set_preferences(&profile(json!({ "username": "ada" })), T0 + 1)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert_eq!(index.heads(), heads, "a refused patch wrote something");
    index.set_preferences(&built, T0 + 1).unwrap();
    assert_eq!(index.preferences().max_context_messages, 30);
    assert_eq!(index.preferences().preferred_model.as_deref(), Some("m"));
    assert_eq!(PREFERENCE_FIELDS.len(), 12);
}

#[test]
fn an_empty_patch_writes_nothing() {
    let mut index = index("a");
    index
        .set_preferences(&Patch::new(PatchTarget::Preferences), T0)
        .unwrap();
    index
        .set_profile(&Patch::new(PatchTarget::Profile), T0)
        .unwrap();
    assert_eq!(index.commit(), None);
}

#[test]
fn concurrent_edits_of_different_fields_both_survive_and_of_one_field_settle_everywhere() {
    let mut a = index("a");
    a.set_preferences(&patch(json!({ "preferredModel": "base" })), T0)
        .unwrap();
    let mut b = Index::load(&a.save().unwrap(), actor("b")).unwrap();
    a.set_preferences(
        &patch(json!({ "preferredModel": "from-a", "dailyMessageLimit": 5 })),
        T0 + 1,
    )
    .unwrap();
    b.set_preferences(
        &patch(json!({ "preferredModel": "from-b", "allowDataTraining": true })),
        T0 + 1,
    )
    .unwrap();
    let mut a_copy = Index::load(&a.save().unwrap(), actor("x")).unwrap();
    let mut b_copy = Index::load(&b.save().unwrap(), actor("y")).unwrap();
    a.merge(&mut b_copy).unwrap();
    b.merge(&mut a_copy).unwrap();
    let (pa, pb) = (a.preferences(), b.preferences());
    assert_eq!(pa, pb);
    assert_eq!(pa.daily_message_limit, Some(5));
    assert!(pa.allow_data_training);
    assert!(matches!(
        pa.preferred_model.as_deref(),
        Some("from-a" | "from-b")
    ));
}

#[test]
fn new_threads_take_the_preferred_model_and_prompt_unless_given() {
    let prefs = Preferences {
        preferred_model: Some("gpt-4o".into()),
        default_system_prompt: Some("Be brief.".into()),
        ..Preferences::default()
    };
    let taken = prefs.new_thread_settings(None);
    assert_eq!(taken.model.as_deref(), Some("gpt-4o"));
    assert_eq!(taken.system_prompt.as_deref(), Some("Be brief."));
    let given = ThreadSettings {
        model: Some("claude".into()),
        temperature: Some(0.2),
        ..ThreadSettings::default()
    };
    let settings = prefs.new_thread_settings(Some(&given));
    assert_eq!(settings.model.as_deref(), Some("claude"));
    assert_eq!(settings.temperature, Some(0.2));
    assert_eq!(
        settings.system_prompt.as_deref(),
        Some("Be brief."),
        "what was not given is taken"
    );
    assert_eq!(
        Preferences::default().new_thread_settings(None),
        ThreadSettings::default()
    );
}

#[test]
fn local_only_follows_save_conversation_history_unless_asked() {
    let saving = Preferences::default();
    let not_saving = Preferences {
        save_conversation_history: false,
        ..Preferences::default()
    };
    assert!(!saving.new_thread_local_only(None));
    assert!(not_saving.new_thread_local_only(None));
    assert!(saving.new_thread_local_only(Some(true)));
    assert!(!not_saving.new_thread_local_only(Some(false)));
}

#[test]
fn the_profile_is_patched_validated_and_written_as_json() {
    let mut index = index("a");
    let ada = profile(json!({
        "username": "ada",
        "email": "ada@example.com",
        "displayName": "Ada L.",
        "avatarUrl": "https://example.com/ada.png",
        "preferences": { "theme": "dark" },
    }));
    index.set_profile(&ada, T0).unwrap();
    let read = index.profile();
    assert_eq!(read.text("username"), Some("ada"));
    assert_eq!(
        read.get("preferences"),
        Some(&FieldValue::Json(Json::from(json!({ "theme": "dark" }))))
    );
    let value: serde_json::Value = serde_json::from_str(&to_json_text(&read, &is_json)).unwrap();
    assert_eq!(value, serde_json::to_value(&read).unwrap());
    assert_eq!(value["displayName"], "Ada L.");
    assert_eq!(value["avatarUrl"], "https://example.com/ada.png");

    for (bad, field) in [
        (json!({ "email": " " }), "email"),
        (json!({ "avatarUrl": 7 }), "avatarUrl"),
        (json!({ "username": "" }), "username"),
        (json!({ "preferences": "dark" }), "preferences"),
        (json!({ "preferredModel": "x" }), "preferredModel"),
    ] {
        let err = Patch::from_json(PatchTarget::Profile, &bad).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{bad}");
        assert!(err.to_string().contains(field), "{err}");
    }
    index
        .set_profile(&profile(json!({ "email": null })), T0 + 2)
        .unwrap();
    assert_eq!(index.profile().get("email"), None);
    assert_eq!(index.profile().text("username"), Some("ada"));
}

#[test]
fn preferences_never_show_as_threads_or_projects() {
    let mut index = index("a");
    index
        .set_preferences(&patch(json!({ "preferredModel": "m" })), T0)
        .unwrap();
    index
        .set_profile(&profile(json!({ "username": "ada" })), T0)
        .unwrap();
    assert!(index.summaries().is_empty());
    assert!(index.list_projects(true).is_empty());
}

#[test]
fn every_preference_field_round_trips_under_its_json_name() {
    let all = json!({
        "preferredModel": "gpt-4o",
        "defaultSystemPrompt": "Be brief.",
        "responsePreferences": { "tone": "dry" },
        "enableContextMemory": false,
        "maxContextMessages": 7,
        "saveConversationHistory": false,
        "allowDataTraining": true,
        "dailyMessageLimit": 3,
        "monthlyTokenLimit": 4,
        "trashRetentionDays": 5,
        "keepNewestThreads": 6,
        "keepActiveDays": 8,
    });
    let mut index = index("a");
    index.set_preferences(&patch(all.clone()), T0).unwrap();
    let prefs = index.preferences();
    assert_eq!(serde_json::to_value(&prefs).unwrap(), all);
    let text: serde_json::Value = serde_json::from_str(&to_json_text(&prefs, &is_json)).unwrap();
    assert_eq!(text, all);
    let names: Vec<&str> = PREFERENCE_FIELDS.iter().map(|(name, _)| *name).collect();
    let keys: Vec<&str> = all
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let (mut names, mut keys) = (names, keys);
    names.sort_unstable();
    keys.sort_unstable();
    assert_eq!(names, keys);
    // Clearing every field brings every default back.
    let nulls: serde_json::Map<String, serde_json::Value> = all
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (k.clone(), serde_json::Value::Null))
        .collect();
    index
        .set_preferences(&patch(serde_json::Value::Object(nulls)), T0 + 1)
        .unwrap();
    assert_eq!(index.preferences(), Preferences::default());
}
