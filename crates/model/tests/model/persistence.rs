//! Saving and loading: whole documents and incremental chunks.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::AutoCommit;
use chatsync_model::{
    ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ArtifactUpsert, ContextEntry,
    Feedback, Limits, MessageEnd, MessageStatus, Regenerate, Role, SessionState, Thread,
    ThreadSettings, ThreadStatus, ToolCallId, ToolCallStart, ToolCallStatus, Usage,
};
use serde_json::json;

use crate::support::{actor, append, at, mid, new_thread, path, thread_id, view_at};

fn load(bytes: &[u8], device: &str) -> Thread {
    Thread::load(thread_id(), bytes, actor(device), Limits::default()).unwrap()
}

/// A thread using every part of the model.
fn everything() -> Thread {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Plan a trip", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    thread.append_delta(&mid("a1"), "Where to?", at(3)).unwrap();
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: Some(Usage {
            input_tokens: 5,
            output_tokens: 3,
        }),
    };
    thread.finish_message(&mid("a1"), end, at(4)).unwrap();
    let regenerate = Regenerate {
        new_id: mid("a1b"),
        provider: Some("openai".into()),
        model: None,
    };
    thread
        .regenerate_message(&mid("a1"), regenerate, at(5))
        .unwrap();
    thread
        .append_delta(&mid("a1b"), "Streaming…", at(6))
        .unwrap();
    let feedback = Feedback {
        rating: 4,
        text: Some("ok".into()),
    };
    thread.set_feedback(&mid("a1"), feedback, at(7)).unwrap();
    let artifact = ArtifactUpsert {
        id: ArtifactId::new("plan").unwrap(),
        kind: "plan".into(),
        title: "Plan".into(),
        content: "1. Fly".into(),
        status: ArtifactStatus::Draft,
        message_id: Some(mid("a1")),
    };
    thread.upsert_artifact(artifact, at(8)).unwrap();
    let call = ToolCallStart {
        id: ToolCallId::new("tc1").unwrap(),
        message_id: mid("a1b"),
        tool_name: "search".into(),
        provider_call_id: Some("call_1".into()),
        input: json!({"q": "rome"}).into(),
        status: ToolCallStatus::Running,
    };
    thread.start_tool_call(call, at(9)).unwrap();
    let request = ApprovalRequest {
        id: ApprovalId::new("ap1").unwrap(),
        kind: "plan".into(),
        subject: "Book it".into(),
        message_id: Some(mid("a1b")),
    };
    thread.request_approval(request, at(10)).unwrap();
    let state = SessionState {
        external_id: Some("s-1".into()),
        phase: "planning".into(),
        plan: Some("1. Fly".into()),
    };
    thread.set_session_state(state, at(11)).unwrap();
    let entry = ContextEntry {
        entry_type: "memory".into(),
        key: "likes".into(),
        value: json!(["pasta"]).into(),
        priority: 3,
        expires_at: Some(at(1_000_000)),
    };
    thread.upsert_context(entry, at(12)).unwrap();
    let settings = ThreadSettings {
        temperature: Some(0.3),
        ..ThreadSettings::default()
    };
    thread.update_settings(&settings, at(13)).unwrap();
    thread.set_title("Trip", at(14)).unwrap();
    thread.set_project(Some("travel".into()), at(15)).unwrap();
    thread.set_status(ThreadStatus::Archived, at(16)).unwrap();
    thread
}

#[test]
fn a_saved_thread_loads_with_the_same_view() {
    let mut thread = everything();
    let bytes = thread.save().unwrap();
    assert_eq!(thread.pending_ops(), 0, "save commits first");
    let mut loaded = load(&bytes, "device-b");
    let view = view_at(&thread, at(20));
    assert_eq!(view_at(&loaded, at(20)), view);
    // Everything written is in the view, so the comparison covers every part of the model.
    assert_eq!(view.messages.len(), 2);
    assert_eq!(view.messages[1].siblings.len(), 2);
    assert_eq!((view.artifacts.len(), view.tool_calls.len()), (1, 1));
    assert_eq!((view.pending_approvals.len(), view.context.len()), (1, 1));
    assert!(view.session.is_some());
    // A message off the active path survives too.
    let at20 = chatsync_model::ReadAt::new(at(20));
    assert_eq!(
        loaded.message(&mid("a1"), at20),
        thread.message(&mid("a1"), at20)
    );
    assert_eq!(loaded.heads(), thread.heads());
}

#[test]
fn incremental_chunks_bring_another_replica_up_to_date() {
    let mut a = new_thread();
    append(&mut a, "u1", Role::User, "Hi", at(1));
    let mut b = load(&a.save().unwrap(), "device-b");

    append(&mut a, "a1", Role::Assistant, "", at(2));
    a.append_delta(&mid("a1"), "Hel", at(3)).unwrap();
    let first = a.save_incremental();
    a.append_delta(&mid("a1"), "lo", at(4)).unwrap();
    let second = a.save_incremental();
    assert!(
        a.save_incremental().is_empty(),
        "nothing new since the last chunk"
    );

    b.load_incremental(&first).unwrap();
    assert_eq!(view_at(&b, at(3)).messages[1].content, "Hel");
    b.load_incremental(&second).unwrap();
    assert_eq!(view_at(&b, at(5)), view_at(&a, at(5)));
    assert_eq!(b.heads(), a.heads());

    // The replica streams on from where the chunks left it.
    b.append_delta(&mid("a1"), "!", at(6)).unwrap();
    a.load_incremental(&b.save_incremental()).unwrap();
    assert_eq!(view_at(&a, at(6)).messages[1].content, "Hello!");
    assert_eq!(path(&a), ["u1", "a1"]);
}

#[test]
fn the_first_incremental_chunk_after_a_load_holds_only_new_changes() {
    let mut a = everything();
    let saved = a.save().unwrap();
    let saved_heads = a.heads();
    let mut b = load(&saved, "device-b");
    append(&mut b, "u2", Role::User, "Later", at(30));
    let chunk = b.save_incremental();

    // Alone, the chunk is one change waiting for the saved heads…
    let mut alone = AutoCommit::new();
    alone.load_incremental(&chunk).unwrap();
    assert_eq!(alone.get_missing_deps(&[]), saved_heads);
    // …and with the saved bytes it completes the replica.
    let mut restored = load(&saved, "device-c");
    restored.load_incremental(&chunk).unwrap();
    assert_eq!(view_at(&restored, at(31)), view_at(&b, at(31)));
}

#[test]
fn a_chunk_loaded_twice_changes_nothing_the_second_time() {
    let mut a = new_thread();
    let mut b = load(&a.save().unwrap(), "device-b");
    append(&mut a, "u1", Role::User, "Hi", at(1));
    let chunk = a.save_incremental();
    b.load_incremental(&chunk).unwrap();
    let heads = b.heads();
    b.load_incremental(&chunk).unwrap();
    assert_eq!(b.heads(), heads);
    assert_eq!(path(&b), ["u1"]);
}
