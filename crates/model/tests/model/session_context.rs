//! Agent session state and context entries.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::view::ContextEntryView;
use chatsync_model::{ContextEntry, SessionState, Thread};
use serde_json::json;

use crate::support::{at, new_thread, view_at};

fn entry(entry_type: &str, key: &str, priority: i64, expires_at: Option<u64>) -> ContextEntry {
    ContextEntry {
        entry_type: entry_type.into(),
        key: key.into(),
        value: json!({"note": key}).into(),
        priority,
        expires_at,
    }
}

fn keys(context: &[ContextEntryView]) -> Vec<String> {
    context
        .iter()
        .map(|e| format!("{}/{}", e.entry_type, e.key))
        .collect()
}

#[test]
fn session_state_is_stored_and_replaced_whole() {
    let mut thread = new_thread();
    assert_eq!(thread.session(), None);
    thread
        .set_session_state(
            SessionState {
                external_id: Some("sess-1".into()),
                phase: "planning".into(),
                plan: Some("1. Search".into()),
            },
            at(10),
        )
        .unwrap();
    let session = view_at(&thread, at(10)).session.unwrap();
    assert_eq!(session.external_id.as_deref(), Some("sess-1"));
    assert_eq!(session.phase, "planning");
    assert_eq!(session.plan.as_deref(), Some("1. Search"));
    assert_eq!(session.updated_at, at(10));

    thread
        .set_session_state(
            SessionState {
                external_id: None,
                phase: "executing".into(),
                plan: None,
            },
            at(20),
        )
        .unwrap();
    let session = thread.session().unwrap();
    assert_eq!(session.external_id, None);
    assert_eq!(session.phase, "executing");
    assert_eq!(session.plan, None);
    assert_eq!(session.updated_at, at(20));
}

#[test]
fn context_entries_come_highest_priority_first() {
    let mut thread = new_thread();
    thread
        .upsert_context(entry("memory", "low", 1, None), at(1))
        .unwrap();
    thread
        .upsert_context(entry("memory", "high", 10, None), at(2))
        .unwrap();
    thread
        .upsert_context(entry("file", "mid", 5, None), at(3))
        .unwrap();
    thread
        .upsert_context(entry("memory", "neg", -3, None), at(4))
        .unwrap();
    assert_eq!(
        keys(&thread.context(at(5))),
        ["memory/high", "file/mid", "memory/low", "memory/neg"]
    );
    let view = view_at(&thread, at(5));
    assert_eq!(view.context, thread.context(at(5)));
    assert_eq!(view.context[0].value, json!({"note": "high"}).into());
    assert_eq!(view.context[0].priority, 10);
}

#[test]
fn equal_priorities_are_ordered_by_type_then_key() {
    let mut thread = new_thread();
    thread
        .upsert_context(entry("memory", "b", 0, None), at(1))
        .unwrap();
    thread
        .upsert_context(entry("memory", "a", 0, None), at(2))
        .unwrap();
    thread
        .upsert_context(entry("file", "z", 0, None), at(3))
        .unwrap();
    assert_eq!(
        keys(&thread.context(at(4))),
        ["file/z", "memory/a", "memory/b"]
    );
}

#[test]
fn an_entry_is_hidden_from_its_expiry_time_on() {
    let mut thread = new_thread();
    thread
        .upsert_context(entry("memory", "brief", 1, Some(at(100))), at(1))
        .unwrap();
    thread
        .upsert_context(entry("memory", "kept", 0, None), at(1))
        .unwrap();
    assert_eq!(
        keys(&thread.context(at(99))),
        ["memory/brief", "memory/kept"]
    );
    assert_eq!(thread.context(at(99))[0].expires_at, Some(at(100)));
    assert_eq!(keys(&thread.context(at(100))), ["memory/kept"]);
    assert_eq!(keys(&view_at(&thread, at(101)).context), ["memory/kept"]);
}

#[test]
fn upserting_the_same_type_and_key_replaces_the_entry() {
    let mut thread = new_thread();
    thread
        .upsert_context(entry("memory", "k", 1, Some(at(100))), at(1))
        .unwrap();
    let mut newer = entry("memory", "k", 7, None);
    newer.value = json!("replaced").into();
    thread.upsert_context(newer, at(2)).unwrap();
    let context = thread.context(at(1_000));
    assert_eq!(context.len(), 1);
    assert_eq!(context[0].value, json!("replaced").into());
    assert_eq!((context[0].priority, context[0].expires_at), (7, None));
    // The same type with another key, and another type with the same key, are other entries.
    thread
        .upsert_context(entry("memory", "j", 0, None), at(3))
        .unwrap();
    thread
        .upsert_context(entry("file", "k", 0, None), at(3))
        .unwrap();
    assert_eq!(thread.context(at(1_000)).len(), 3);
}

#[test]
fn a_removed_entry_is_gone() {
    let mut thread: Thread = new_thread();
    thread
        .upsert_context(entry("memory", "a", 1, None), at(1))
        .unwrap();
    thread
        .upsert_context(entry("memory", "b", 1, None), at(1))
        .unwrap();
    thread.remove_context("memory", "a", at(2)).unwrap();
    assert_eq!(keys(&thread.context(at(3))), ["memory/b"]);
    assert_eq!(view_at(&thread, at(3)).updated_at, at(2));
}
