//! Schema versions: migrating older documents, and opening newer ones read-only.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::transaction::Transactable;
use chatsync_model::automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ArtifactUpsert,
    ContextEntry, Feedback, Limits, MessageEnd, MessageStatus, ModelError, NewMessage, ReadAt,
    Regenerate, Role, SessionState, THREAD_SCHEMA_VERSION, Thread, ThreadSettings, ThreadStatus,
    ToolCallId, ToolCallOutcome, ToolCallStart, ToolCallStatus,
};
use serde_json::json;

use crate::support::{
    Write, actor, append, at, mid, new_thread, path, plan_approval, refused, search_call,
    thread_id, view_at,
};

fn load(bytes: &[u8], device: &str) -> Result<Thread, ModelError> {
    Thread::load(thread_id(), bytes, actor(device), Limits::default())
}

/// A thread with a message, a tool call and an approval, whose root `schema` a newer build raised.
fn newer_schema_bytes() -> Vec<u8> {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "From the future", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    thread
        .start_tool_call(search_call("tc1", "a1", ToolCallStatus::Pending), at(3))
        .unwrap();
    thread
        .request_approval(plan_approval("ap1"), at(4))
        .unwrap();
    thread
        .upsert_context(
            ContextEntry {
                entry_type: "memory".into(),
                key: "k".into(),
                value: json!(1).into(),
                priority: 0,
                expires_at: None,
            },
            at(5),
        )
        .unwrap();
    let mut doc = AutoCommit::load(&thread.save().unwrap())
        .unwrap()
        .with_actor(actor("newer-build"));
    doc.put(ROOT, "schema", THREAD_SCHEMA_VERSION + 1).unwrap();
    doc.save()
}

#[test]
fn an_empty_automerge_document_loads_as_an_empty_current_thread() {
    let bytes = AutoCommit::new().save();
    let mut thread = load(&bytes, "device-a").unwrap();
    assert_eq!(thread.schema_version(), THREAD_SCHEMA_VERSION);
    assert!(!thread.read_only());
    let view = view_at(&thread, at(0));
    assert_eq!(view.schema_version, THREAD_SCHEMA_VERSION);
    assert!(view.messages.is_empty());
    assert_eq!(view.title, "New conversation");
    assert_eq!(view.status, ThreadStatus::Active);

    // Migrated, it takes every kind of write and keeps them through a save.
    append(&mut thread, "u1", Role::User, "Hello", at(1));
    thread.set_title("Migrated", at(2)).unwrap();
    let saved = thread.save().unwrap();
    let reloaded = load(&saved, "device-b").unwrap();
    assert_eq!(view_at(&reloaded, at(3)), view_at(&thread, at(3)));
    assert_eq!(path(&reloaded), ["u1"]);
}

#[test]
fn migration_is_one_change_after_the_loaded_heads() {
    let mut old = AutoCommit::new().with_actor(actor("legacy"));
    old.put(ROOT, "note", "written before schemas").unwrap();
    let old_heads = old.get_heads();
    let mut thread = load(&old.save(), "device-a").unwrap();
    let heads = thread.heads();
    assert_eq!(heads.len(), 1);
    assert_ne!(heads, old_heads);
    let deps =
        thread.with_automerge(|doc| doc.get_change_by_hash(&heads[0]).unwrap().deps().to_vec());
    assert_eq!(deps, old_heads);
    // Loading a current document migrates nothing.
    let mut again = load(&thread.save().unwrap(), "device-b").unwrap();
    assert_eq!(again.heads(), heads);
}

#[test]
fn the_migration_change_is_in_the_first_incremental_chunk() {
    let old = AutoCommit::new().save();
    let mut thread = load(&old, "device-a").unwrap();
    let chunk = thread.save_incremental();
    assert!(!chunk.is_empty());
    // Storage that holds the old bytes and the chunk has the migrated document: loading it again
    // migrates nothing more.
    let mut stored = old.clone();
    stored.extend_from_slice(&chunk);
    let mut reloaded = load(&stored, "device-b").unwrap();
    assert_eq!(reloaded.heads(), thread.heads());
    assert!(reloaded.save_incremental().is_empty());
}

#[test]
fn two_replicas_migrating_the_same_document_make_the_same_change() {
    let mut old = AutoCommit::new().with_actor(actor("legacy"));
    old.put(ROOT, "note", "written before schemas").unwrap();
    let bytes = old.save();
    let mut a = load(&bytes, "device-a").unwrap();
    let mut b = load(&bytes, "device-b").unwrap();
    assert_eq!(
        a.heads(),
        b.heads(),
        "the migration change is deterministic"
    );

    // So neither replica's containers hide the other's: writes made after migrating both survive.
    append(&mut a, "from-a", Role::User, "A", at(1));
    append(&mut b, "from-b", Role::User, "B", at(1));
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    let on_a = path(&a);
    assert_eq!(on_a.len(), 2, "{on_a:?}");
    assert_eq!(on_a, path(&b));
    assert_eq!(a.heads(), b.heads());
    assert_eq!(a.schema_version(), THREAD_SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_document_opens_read_only_and_unchanged() {
    let bytes = newer_schema_bytes();
    let expected_heads = AutoCommit::load(&bytes).unwrap().get_heads();
    let mut thread = load(&bytes, "device-a").unwrap();
    assert!(thread.read_only());
    assert_eq!(thread.schema_version(), THREAD_SCHEMA_VERSION + 1);
    assert_eq!(
        thread.heads(),
        expected_heads,
        "no migration change was made"
    );

    let view = view_at(&thread, at(10));
    assert!(view.read_only);
    assert_eq!(view.schema_version, THREAD_SCHEMA_VERSION + 1);
    assert_eq!(path(&thread), ["u1", "a1"]);
    assert_eq!(view.title, "From the future");
    assert_eq!(view.tool_calls.len(), 1);
    assert_eq!(view.pending_approvals.len(), 1);
    assert_eq!(view.context.len(), 1);
}

#[test]
fn every_write_to_a_newer_schema_document_is_refused() {
    let mut thread = load(&newer_schema_bytes(), "device-a").unwrap();
    let writes: Vec<Write<'_>> = vec![
        Box::new(|t| t.append_message(NewMessage::new(mid("m9"), Role::User, "x"), at(10))),
        Box::new(|t| t.append_delta(&mid("a1"), "x", at(10))),
        Box::new(|t| {
            let end = MessageEnd {
                status: MessageStatus::Complete,
                usage: None,
            };
            t.finish_message(&mid("a1"), end, at(10))
        }),
        Box::new(|t| t.edit_message(&mid("u1"), mid("m9"), "x", at(10))),
        Box::new(|t| {
            let regenerate = Regenerate {
                new_id: mid("m9"),
                provider: None,
                model: None,
            };
            t.regenerate_message(&mid("a1"), regenerate, at(10))
        }),
        Box::new(|t| t.select_branch(&mid("u1"), at(10))),
        Box::new(|t| {
            let feedback = Feedback {
                rating: 5,
                text: None,
            };
            t.set_feedback(&mid("u1"), feedback, at(10))
        }),
        Box::new(|t| t.set_title("x", at(10))),
        Box::new(|t| t.set_summary(Some("s".into()), at(10))),
        Box::new(|t| t.clear_title(at(10))),
        Box::new(|t| t.set_status(ThreadStatus::Archived, at(10))),
        Box::new(|t| t.set_project(Some("p".into()), at(10))),
        Box::new(|t| t.update_settings(&ThreadSettings::default(), at(10))),
        Box::new(|t| {
            let artifact = ArtifactUpsert {
                id: ArtifactId::new("art").unwrap(),
                kind: "plan".into(),
                title: "T".into(),
                content: "x".into(),
                status: ArtifactStatus::Draft,
                message_id: None,
            };
            t.upsert_artifact(artifact, at(10))
        }),
        Box::new(|t| {
            let call = ToolCallStart {
                id: ToolCallId::new("tc9").unwrap(),
                message_id: mid("a1"),
                tool_name: "search".into(),
                provider_call_id: None,
                input: json!({}).into(),
                status: ToolCallStatus::Pending,
            };
            t.start_tool_call(call, at(10))
        }),
        Box::new(|t| t.mark_tool_call_running(&ToolCallId::new("tc1").unwrap(), at(10))),
        Box::new(|t| {
            let outcome = ToolCallOutcome::Failed { error: "x".into() };
            t.finish_tool_call(&ToolCallId::new("tc1").unwrap(), outcome, at(10))
        }),
        Box::new(|t| {
            let request = ApprovalRequest {
                id: ApprovalId::new("ap9").unwrap(),
                kind: "plan".into(),
                subject: "x".into(),
                message_id: None,
            };
            t.request_approval(request, at(10))
        }),
        Box::new(|t| {
            let decision = ApprovalDecision {
                approve: true,
                decided_by: "u".into(),
                reason: None,
            };
            t.decide_approval(&ApprovalId::new("ap1").unwrap(), decision, at(10))
        }),
        Box::new(|t| t.set_session_state(SessionState::default(), at(10))),
        Box::new(|t| {
            let entry = ContextEntry {
                entry_type: "memory".into(),
                key: "k2".into(),
                value: json!(2).into(),
                priority: 0,
                expires_at: None,
            };
            t.upsert_context(entry, at(10))
        }),
        Box::new(|t| t.remove_context("memory", "k", at(10))),
    ];
    for (i, write) in writes.into_iter().enumerate() {
        let err = refused(&mut thread, write);
        assert!(
            matches!(
                err,
                ModelError::ReadOnlySchema { found, supported }
                    if found == THREAD_SCHEMA_VERSION + 1 && supported == THREAD_SCHEMA_VERSION
            ),
            "write #{i}: {err:?}"
        );
        assert_eq!(err.code(), "read_only_schema");
    }
}

#[test]
fn a_newer_schema_document_is_never_saved_whole() {
    let mut thread = load(&newer_schema_bytes(), "device-a").unwrap();
    let err = thread.save().unwrap_err();
    assert!(matches!(err, ModelError::ReadOnlySchema { .. }), "{err:?}");
    assert!(thread.read_only());
    assert_eq!(
        thread.view(ReadAt::new(at(10))).messages.len(),
        2,
        "still readable after the refusal"
    );
}

#[test]
fn a_current_replica_becomes_read_only_when_a_newer_schema_arrives() {
    let mut current = new_thread();
    append(&mut current, "u1", Role::User, "Hi", at(1));
    let mut newer = AutoCommit::load(&current.save().unwrap())
        .unwrap()
        .with_actor(actor("newer-build"));
    newer
        .put(ROOT, "schema", THREAD_SCHEMA_VERSION + 1)
        .unwrap();

    current.load_incremental(&newer.save()).unwrap();
    assert!(current.read_only());
    assert_eq!(current.heads(), newer.get_heads(), "nothing written on top");
    let err = refused(&mut current, |t| t.set_title("x", at(2)));
    assert!(matches!(err, ModelError::ReadOnlySchema { .. }), "{err:?}");
    assert_eq!(path(&current), ["u1"]);
}

#[test]
fn loading_bytes_that_are_not_a_document_is_an_error_not_a_panic() {
    let garbage: &[&[u8]] = &[
        b"definitely not automerge",
        &[0x85, 0x6f, 0x4a, 0x83, 0xff, 0xff],
    ];
    for bytes in garbage {
        let err = load(bytes, "device-a").unwrap_err();
        assert!(matches!(err, ModelError::Automerge(_)), "{err:?}");
        assert_eq!(err.code(), "corrupt_document");
    }
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hello there", at(1));
    let saved = thread.save().unwrap();
    let truncated = &saved[..saved.len() / 2];
    assert!(load(truncated, "device-a").is_err());
}

/// JS Automerge 3 stores every string as a `Text` object unless told otherwise: a thread whose plain
/// fields a JS app wrote that way reads the same.
#[test]
fn strings_stored_as_text_objects_read_like_plain_strings() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hello from JS", at(1));
    let bytes = thread.save().unwrap();
    let mut doc = AutoCommit::load(&bytes).unwrap();
    let (_, messages) = doc.get(ROOT, "messages").unwrap().unwrap();
    let (_, message) = doc.get(&messages, "u1").unwrap().unwrap();
    for (key, value) in [("role", "user"), ("status", "complete")] {
        let text = doc.put_object(&message, key, ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, value).unwrap();
    }
    let (_, meta) = doc.get(ROOT, "meta").unwrap().unwrap();
    for (key, value) in [("title", "Written in JS"), ("titleSource", "person")] {
        let text = doc.put_object(&meta, key, ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, value).unwrap();
    }
    let thread = load(&doc.save(), "reader").unwrap();
    let view = view_at(&thread, at(2));
    assert_eq!(view.title, "Written in JS");
    assert_eq!(view.messages.len(), 1);
    assert_eq!(view.messages[0].role, Role::User);
    assert_eq!(view.messages[0].content, "Hello from JS");
}

/// A thread as version 1 stored it: a reply with usage, under `schema: 1`.
fn version_1_bytes() -> Vec<u8> {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hello", at(1));
    thread
        .append_message(NewMessage::new(mid("a1"), Role::Assistant, ""), at(2))
        .unwrap();
    let end = chatsync_model::MessageEnd {
        status: chatsync_model::MessageStatus::Complete,
        usage: Some(chatsync_model::Usage {
            input_tokens: 7,
            output_tokens: 9,
        }),
    };
    thread.finish_message(&mid("a1"), end, at(3)).unwrap();
    let mut doc = thread.into_automerge();
    doc.put(ROOT, "schema", 1).unwrap();
    doc.commit();
    doc.save()
}

#[test]
fn a_version_1_thread_migrates_to_the_current_schema_keeping_everything() {
    let bytes = version_1_bytes();
    let mut a = load(&bytes, "device-a").unwrap();
    let mut b = load(&bytes, "device-b").unwrap();
    assert_eq!(a.schema_version(), THREAD_SCHEMA_VERSION);
    assert!(!a.read_only());
    assert_eq!(
        a.heads(),
        b.heads(),
        "both replicas made the same migration change"
    );
    let view = view_at(&a, at(10));
    assert_eq!(path(&a), ["u1", "a1"]);
    assert_eq!((view.total_input_tokens, view.total_output_tokens), (7, 9));
    assert_eq!((view.summary.clone(), view.local_only), (None, false));
    a.set_summary(Some("greeting".into()), at(11)).unwrap();
    b.merge(&mut a).unwrap();
    assert_eq!(view_at(&b, at(12)).summary.as_deref(), Some("greeting"));
}

#[test]
fn a_version_1_index_reads_as_before_and_migrates_at_its_first_write() {
    use chatsync_model::{INDEX_SCHEMA_VERSION, Index, ListOptions, ThreadId};
    // What version 1 left of a deleted thread: its times, count and project beside the flag.
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", 1).unwrap();
    for (key, value) in [
        ("kept/title", "Kept"),
        ("kept/status", "active"),
        ("gone/status", "deleted"),
        ("gone/projectId", "p"),
    ] {
        doc.put(ROOT, key, value).unwrap();
    }
    doc.put(ROOT, "kept/lastActivityAt", 5u64).unwrap();
    doc.put(ROOT, "gone/deleted", true).unwrap();
    doc.put(ROOT, "gone/lastActivityAt", 6u64).unwrap();
    let mut index = Index::load(&doc.save(), actor("device-a")).unwrap();
    assert!(!index.read_only());
    let listed: Vec<String> = index
        .list(ListOptions::default())
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(listed, ["Kept"]);
    let gone = ThreadId::new("gone").unwrap();
    assert!(index.is_purged(&gone));
    assert_eq!(index.schema_version(), 1, "reading writes nothing");

    index
        .set_status(&ThreadId::new("kept").unwrap(), ThreadStatus::Archived, 10)
        .unwrap();
    assert_eq!(index.schema_version(), INDEX_SCHEMA_VERSION);
    let keys: Vec<String> =
        index.with_automerge(|d| d.keys(ROOT).filter(|k| k.starts_with("gone/")).collect());
    assert_eq!(
        keys,
        ["gone/deleted"],
        "the migration keeps only the tombstone"
    );
}
