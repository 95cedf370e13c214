//! Restoring a version, of the whole thread or of one message, as a new change that merges.

use chatsync_history::{HistoryError, RestoreTarget, Version, VersionKind};
use chatsync_model::{Feedback, ReadAt, Thread};

use crate::support::*;

/// A thread of two exchanges and a title set in between.
fn two_exchanges() -> Thread {
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "What is a CRDT?", 2_000);
    stream_reply(
        &mut thread,
        "m2",
        &["A conflict-free ", "replicated data type."],
        3_000,
    );
    thread.set_title("CRDTs", 4_000).unwrap();
    thread.commit();
    send(&mut thread, "m3", "And a counter?", 5_000);
    stream_reply(&mut thread, "m4", &["It counts."], 6_000);
    thread
}

#[test]
fn restoring_the_whole_thread_makes_its_view_the_versions() {
    let mut thread = two_exchanges();
    let mut history = history(&mut thread);
    let replied = history.versions()[2].version.clone();
    let expected = history.view_at(&replied).unwrap();
    let heads_before = thread.heads();

    let change = history
        .restore(&replied, RestoreTarget::Thread, actor(DEVICE_A, 2), 10_000)
        .unwrap()
        .expect("the thread changed since");
    thread.load_incremental(&change).unwrap();

    let view = thread.view(ReadAt::new(10_000));
    assert_eq!(contents(&view), contents(&expected));
    assert_eq!(view.title, "What is a CRDT?");
    assert_eq!(
        view.updated_at, 10_000,
        "the restore is the thread's latest activity"
    );
    // History is kept: every change before is still there, and the restore is a version of its own.
    let mut after = history_of(&mut thread);
    assert!(
        heads_before
            .iter()
            .all(|h| thread.automerge().clone().get_change_by_hash(h).is_some())
    );
    let last = after.versions().last().unwrap();
    assert_eq!(last.kind, VersionKind::Restore);
    assert_eq!(
        last.summary,
        "Restored: Reply \"A conflict-free replicated data type.\""
    );
    // The versions after the restored one still show what they showed.
    let later = after.versions()[5].version.clone();
    assert_eq!(after.view_at(&later).unwrap().messages.len(), 4);
}

fn history_of(thread: &mut Thread) -> chatsync_history::History {
    history(thread)
}

#[test]
fn restoring_one_message_leaves_the_rest_as_it_is() {
    let mut thread = new_thread(DEVICE_A);
    send(&mut thread, "m1", "Hello", 2_000);
    thread
        .append_message(
            chatsync_model::NewMessage::new(mid("m2"), chatsync_model::Role::Assistant, ""),
            3_000,
        )
        .unwrap();
    thread.append_delta(&mid("m2"), "Hi, ", 3_100).unwrap();
    thread.commit();
    let midway = Version::new(thread.heads());
    thread
        .append_delta(&mid("m2"), "how can I help?", 3_200)
        .unwrap();
    let end = chatsync_model::MessageEnd {
        status: chatsync_model::MessageStatus::Complete,
        usage: None,
    };
    thread.finish_message(&mid("m2"), end, 3_300).unwrap();
    thread.commit();
    thread
        .set_feedback(
            &mid("m2"),
            Feedback {
                rating: 1,
                text: Some("meh".into()),
            },
            4_000,
        )
        .unwrap();
    thread.commit();
    let finished = Version::new(thread.heads());
    thread.set_title("Greeting", 4_500).unwrap();
    send(&mut thread, "m3", "Bye", 5_000);

    // The message alone goes back; the title and the later message stay.
    let change = history(&mut thread)
        .restore(
            &midway,
            RestoreTarget::Message("m2".into()),
            actor(DEVICE_A, 2),
            6_000,
        )
        .unwrap()
        .unwrap();
    thread.load_incremental(&change).unwrap();
    let view = thread.view(ReadAt::new(6_000));
    let m2 = view.messages.iter().find(|m| m.id == mid("m2")).unwrap();
    assert_eq!(m2.content, "Hi, ");
    assert!(m2.feedback.is_none());
    assert_eq!(view.title, "Greeting");
    assert_eq!(view.messages.len(), 3);

    // And forward again, to the finished reply with its feedback.
    let change = history(&mut thread)
        .restore(
            &finished,
            RestoreTarget::Message("m2".into()),
            actor(DEVICE_A, 3),
            7_000,
        )
        .unwrap()
        .unwrap();
    thread.load_incremental(&change).unwrap();
    let view = thread.view(ReadAt::new(7_000));
    let m2 = view.messages.iter().find(|m| m.id == mid("m2")).unwrap();
    assert_eq!(m2.content, "Hi, how can I help?");
    assert_eq!(m2.status, chatsync_model::MessageStatus::Complete);
    assert_eq!(m2.feedback.as_ref().map(|f| f.rating), Some(1));
}

#[test]
fn a_message_that_did_not_exist_then_is_refused() {
    let mut thread = two_exchanges();
    let mut history = history(&mut thread);
    let created = history.versions()[0].version.clone();
    let error = history
        .restore(
            &created,
            RestoreTarget::Message("m1".into()),
            actor(DEVICE_A, 2),
            10_000,
        )
        .unwrap_err();
    assert!(matches!(error, HistoryError::MessageNotFound { .. }));
    assert_eq!(error.code(), "not_found");
}

#[test]
fn restoring_the_version_the_thread_is_at_changes_nothing() {
    let mut thread = two_exchanges();
    let mut history = history(&mut thread);
    let now = history.versions().last().unwrap().version.clone();
    let change = history
        .restore(&now, RestoreTarget::Thread, actor(DEVICE_A, 2), 10_000)
        .unwrap();
    assert!(change.is_none());
}

#[test]
fn a_restore_merges_with_a_concurrent_edit_and_both_devices_converge() {
    let mut a = two_exchanges();
    let mut b = Thread::load(
        id(),
        &a.save().unwrap(),
        actor(DEVICE_B, 1),
        Default::default(),
    )
    .unwrap();
    let replied = history(&mut a).versions()[2].version.clone();

    // Offline: A restores the first exchange while B sends a message.
    let change = history(&mut a)
        .restore(&replied, RestoreTarget::Thread, actor(DEVICE_A, 2), 10_000)
        .unwrap()
        .unwrap();
    a.load_incremental(&change).unwrap();
    send(&mut b, "b1", "Meanwhile on B", 10_001);
    b.set_title("B's title", 10_002).unwrap();
    b.commit();

    // Back online, each takes the other's changes.
    b.load_incremental(&change).unwrap();
    let from_b = b.save_incremental();
    a.merge(&mut b).unwrap();
    let _ = from_b;
    assert_eq!(a.heads(), b.heads());
    let (va, vb) = (a.view(ReadAt::new(11_000)), b.view(ReadAt::new(11_000)));
    assert_eq!(contents(&va), contents(&vb));
    assert_eq!(va.title, vb.title);
    let ids: Vec<_> = a
        .all_messages(ReadAt::new(11_000))
        .into_iter()
        .map(|m| m.id.to_string())
        .collect();
    // The restore removed what A had seen after the version; B's concurrent message stays.
    assert!(ids.contains(&"b1".to_string()), "{ids:?}");
    assert!(
        !ids.contains(&"m3".to_string()) && !ids.contains(&"m4".to_string()),
        "{ids:?}"
    );
    assert!(ids.contains(&"m1".to_string()) && ids.contains(&"m2".to_string()));
}
