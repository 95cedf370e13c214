//! Changes grouped into the versions a person would name.

use chatsync_history::{History, Version, VersionKind};
use chatsync_model::{Feedback, Regenerate, ThreadSettings, ThreadStatus};

use crate::support::*;

#[test]
fn a_conversation_reads_as_sent_replied_titled() {
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "What is a CRDT?", 2_000);
    stream_reply(
        &mut thread,
        "m2",
        &["A conflict-free ", "replicated ", "data type."],
        3_000,
    );
    thread.set_title("CRDTs", 9_000).unwrap();
    thread.commit();
    let settings = ThreadSettings {
        model: Some("gpt-x".into()),
        ..ThreadSettings::default()
    };
    thread.update_settings(&settings, 9_500).unwrap();
    thread.commit();

    let mut history = history(&mut thread);
    assert_eq!(
        kinds(&mut history),
        [
            VersionKind::Created,
            VersionKind::Message,
            VersionKind::Reply,
            VersionKind::Title,
            VersionKind::Settings
        ]
    );
    let versions = history.versions();
    assert_eq!(versions[1].summary, "Message sent \"What is a CRDT?\"");
    // Five changes (the empty reply, three deltas, the finish) are one version, at its end.
    assert_eq!(
        versions[2].summary,
        "Reply \"A conflict-free replicated data type.\""
    );
    assert_eq!(versions[2].at, 3_400);
    assert_eq!(versions[3].summary, "Title set to \"CRDTs\"");
    assert_eq!(versions[1].at, 2_000);
    // The last version is the thread now, and each version starts where the one before ended.
    assert_eq!(versions[4].version, Version::new(thread.heads()));
    for pair in versions.windows(2) {
        assert_eq!(pair[1].before, pair[0].version);
    }
}

#[test]
fn edits_regenerations_branches_and_feedback_have_their_kinds() {
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "Hello", 2_000);
    stream_reply(&mut thread, "m2", &["Hi"], 3_000);
    thread
        .edit_message(&mid("m1"), mid("m1b"), "Hello there", 4_000)
        .unwrap();
    thread.commit();
    let regenerate = Regenerate {
        new_id: mid("m2b"),
        provider: None,
        model: None,
    };
    thread
        .regenerate_message(&mid("m2"), regenerate, 5_000)
        .unwrap();
    thread.commit();
    thread.append_delta(&mid("m2b"), "Hi again", 5_100).unwrap();
    thread.commit();
    let end = chatsync_model::MessageEnd {
        status: chatsync_model::MessageStatus::Error,
        usage: None,
    };
    thread.finish_message(&mid("m2b"), end, 5_200).unwrap();
    thread.commit();
    thread.select_branch(&mid("m1"), 6_000).unwrap();
    thread.commit();
    thread
        .set_feedback(
            &mid("m2"),
            Feedback {
                rating: 5,
                text: None,
            },
            7_000,
        )
        .unwrap();
    thread.commit();
    thread.set_status(ThreadStatus::Archived, 8_000).unwrap();
    thread.commit();

    let mut history = history(&mut thread);
    assert_eq!(
        kinds(&mut history)[3..],
        [
            VersionKind::Edit,
            VersionKind::Regenerate,
            VersionKind::Branch,
            VersionKind::Feedback,
            VersionKind::Status
        ]
    );
    let summaries: Vec<_> = history.versions()[3..]
        .iter()
        .map(|v| v.summary.as_str())
        .collect();
    assert_eq!(
        summaries,
        [
            "Message edited \"Hello there\"",
            "Reply regenerated \"Hi again\" (failed)",
            "Another branch chosen",
            "Feedback given",
            "Thread archived"
        ]
    );
}

#[test]
fn a_long_quote_is_cut_with_an_ellipsis() {
    let mut thread = new_thread(DEVICE_A);
    let long = "word ".repeat(40);
    send(&mut thread, "m1", &long, 2_000);
    let mut history = history(&mut thread);
    let summary = &history.versions()[1].summary;
    assert!(summary.ends_with("…\""), "{summary}");
    assert_eq!(
        summary.chars().count(),
        "Message sent \"\"…".chars().count() + 60
    );
}

#[test]
fn concurrent_edits_of_two_devices_are_versions_of_each() {
    let mut a = new_thread(DEVICE_A);
    let mut b = chatsync_model::Thread::load(
        id(),
        &a.save().unwrap(),
        actor(DEVICE_B, 1),
        Default::default(),
    )
    .unwrap();
    send(&mut a, "a1", "from A", 2_000);
    send(&mut b, "b1", "from B", 2_001);
    a.merge(&mut b).unwrap();
    let mut history = history(&mut a);
    assert_eq!(
        kinds(&mut history),
        [
            VersionKind::Created,
            VersionKind::Message,
            VersionKind::Message
        ]
    );
    let authors: Vec<_> = history.versions()[1..]
        .iter()
        .map(|v| v.actors[0].to_bytes()[..8].to_vec())
        .collect();
    assert!(authors.contains(&DEVICE_A.to_vec()) && authors.contains(&DEVICE_B.to_vec()));
    assert_eq!(history.versions()[2].version, Version::new(a.heads()));
}

#[test]
fn bytes_that_are_no_document_are_refused() {
    let error = History::load(id(), b"not automerge").unwrap_err();
    assert_eq!(error.code(), "corrupt_document");
}

#[test]
fn a_tool_called_mid_reply_stays_in_the_reply_and_one_outside_is_a_version_of_its_own() {
    use chatsync_model::{
        Json, MessageEnd, MessageStatus, NewMessage, Role, ToolCallId, ToolCallOutcome,
        ToolCallStart, ToolCallStatus,
    };
    let call = |id: &str, message: &str| ToolCallStart {
        id: ToolCallId::new(id).unwrap(),
        message_id: mid(message),
        tool_name: "weather".into(),
        provider_call_id: None,
        input: Json::from_text("{\"city\":\"Oslo\"}"),
        status: ToolCallStatus::Running,
    };
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "Weather in Oslo?", 2_000);
    thread
        .append_message(NewMessage::new(mid("m2"), Role::Assistant, ""), 3_000)
        .unwrap();
    thread
        .append_delta(&mid("m2"), "Let me check. ", 3_100)
        .unwrap();
    thread.commit();
    thread.start_tool_call(call("t1", "m2"), 3_200).unwrap();
    thread.commit();
    let done = ToolCallOutcome::Completed {
        output: Json::from_text("{\"c\":3}"),
    };
    thread
        .finish_tool_call(&ToolCallId::new("t1").unwrap(), done.clone(), 3_300)
        .unwrap();
    thread.commit();
    thread
        .append_delta(&mid("m2"), "It is 3 °C.", 3_400)
        .unwrap();
    thread.commit();
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: None,
    };
    thread.finish_message(&mid("m2"), end, 3_500).unwrap();
    thread.commit();
    // After the reply, a tool call of its own.
    thread.start_tool_call(call("t2", "m2"), 4_000).unwrap();
    thread.commit();

    let mut history = history(&mut thread);
    assert_eq!(
        kinds(&mut history),
        [
            VersionKind::Created,
            VersionKind::Message,
            VersionKind::Reply,
            VersionKind::Tool
        ]
    );
    assert_eq!(
        history.versions()[2].summary,
        "Reply \"Let me check. It is 3 °C.\""
    );
}

#[test]
fn a_foreign_writers_odd_document_is_read_without_panicking() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc};
    use chatsync_history::RestoreTarget;
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "Hello", 2_000);
    let sent = Version::new(thread.heads());
    thread.with_automerge(|doc| {
        let (_, messages) = doc.get(ROOT, "messages").unwrap().unwrap();
        doc.put(&messages, "not-a-map", "a string where a message should be")
            .unwrap();
        let (_, meta) = doc.get(ROOT, "meta").unwrap().unwrap();
        doc.put(&meta, "title", 5).unwrap();
        let other = doc
            .put_object(ROOT, "somethingElse", ObjType::List)
            .unwrap();
        doc.insert(&other, 0, 1).unwrap();
        doc.commit();
    });
    let mut history = history(&mut thread);
    // A change without a commit time, like a schema migration's, joins the version before it.
    assert_eq!(
        kinds(&mut history),
        [VersionKind::Created, VersionKind::Message]
    );
    let last = history.versions()[1].version.clone();
    assert_eq!(last, Version::new(thread.heads()));
    history.view_at(&last).unwrap();
    let change = history
        .restore(&sent, RestoreTarget::Thread, actor(DEVICE_A, 2), 3_000)
        .unwrap()
        .unwrap();
    thread.load_incremental(&change).unwrap();
    let messages: Vec<_> = thread.with_automerge(|doc| {
        let (_, messages) = doc.get(ROOT, "messages").unwrap().unwrap();
        doc.keys(&messages).collect()
    });
    assert_eq!(messages, ["m1"]);
}
