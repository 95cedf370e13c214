//! Appending, streaming, finishing and rating messages.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::{Feedback, MessageEnd, MessageStatus, NewMessage, ReadAt, Role, Usage};
use serde_json::json;

use crate::support::{T0, actor, append, at, mid, new_thread, path, replica, view_at};

#[test]
fn appended_messages_get_default_status_and_chain_onto_the_active_path() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hello", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    append(&mut thread, "a2", Role::Assistant, "Written at once", at(3));
    append(&mut thread, "s1", Role::System, "", at(4));

    let view = view_at(&thread, at(4));
    let got: Vec<_> = view
        .messages
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.status,
                m.parent_id.as_ref().map(|p| p.as_str()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("u1", MessageStatus::Complete, None),
            // An assistant message with no content yet is about to stream.
            ("a1", MessageStatus::Pending, Some("u1")),
            ("a2", MessageStatus::Complete, Some("a1")),
            // Only an empty *assistant* message starts pending.
            ("s1", MessageStatus::Complete, Some("a2")),
        ]
    );
    assert_eq!(view.messages[0].content, "Hello");
    assert_eq!(view.messages[1].created_at, at(2));
    assert_eq!(view.messages[1].updated_at, at(2));
    assert_eq!(view.last_message_at, Some(at(4)));
    assert_eq!(view.updated_at, at(4));
    assert_eq!(view.created_at, T0);
}

#[test]
fn explicit_status_parent_provider_model_and_metadata_are_stored() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Question", at(1));
    append(&mut thread, "a1", Role::Assistant, "Answer", at(2));
    let mut tool = NewMessage::new(mid("t1"), Role::Tool, "{\"ok\":true}");
    tool.status = Some(MessageStatus::Error);
    tool.parent_id = Some(mid("u1"));
    tool.provider = Some("openai".into());
    tool.model = Some("gpt-4o".into());
    tool.metadata = Some(json!({"source": "search", "hits": [1, 2]}).into());
    thread.append_message(tool, at(3)).unwrap();

    let t1 = thread.message(&mid("t1"), ReadAt::new(at(3))).unwrap();
    assert_eq!(t1.role, Role::Tool);
    assert_eq!(t1.status, MessageStatus::Error);
    assert_eq!(t1.parent_id, Some(mid("u1")));
    assert_eq!(t1.provider.as_deref(), Some("openai"));
    assert_eq!(t1.model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        t1.metadata,
        Some(json!({"source": "search", "hits": [1, 2]}).into())
    );
    // A second child of u1 that is not an edit or a regeneration is no branch: both stay on the path.
    assert_eq!(path(&thread), ["u1", "a1", "t1"]);
}

#[test]
fn deltas_stream_into_a_pending_message_and_make_it_streaming() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hi", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    let a1 = mid("a1");

    thread.append_delta(&a1, "Hel", at(10)).unwrap();
    let m = thread.message(&a1, ReadAt::new(at(10))).unwrap();
    assert_eq!(
        (m.status, m.content.as_str()),
        (MessageStatus::Streaming, "Hel")
    );

    thread.append_delta(&a1, "lo ", at(20)).unwrap();
    thread.append_delta(&a1, "", at(25)).unwrap();
    thread.append_delta(&a1, "wörld", at(30)).unwrap();
    let m = thread.message(&a1, ReadAt::new(at(30))).unwrap();
    assert_eq!(m.status, MessageStatus::Streaming);
    assert_eq!(m.content, "Hello wörld");
    // The latest delta's time shows before the commit that writes it…
    assert_eq!(m.updated_at, at(30));
    thread.commit();
    // …and is stored by it.
    let view = view_at(&thread, at(30));
    assert_eq!(view.messages[1].updated_at, at(30));
    assert_eq!(view.updated_at, at(30));
}

#[test]
fn deltas_append_to_a_message_created_streaming_with_content() {
    let mut thread = new_thread();
    let mut reply = NewMessage::new(mid("a1"), Role::Assistant, "Once ");
    reply.status = Some(MessageStatus::Streaming);
    thread.append_message(reply, at(1)).unwrap();
    thread
        .append_delta(&mid("a1"), "upon a time", at(2))
        .unwrap();
    let m = thread.message(&mid("a1"), ReadAt::new(at(2))).unwrap();
    assert_eq!(m.content, "Once upon a time");
    assert_eq!(m.status, MessageStatus::Streaming);
}

#[test]
fn a_batch_of_many_deltas_becomes_exactly_one_change() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Count", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    let before = thread.heads();
    let a1 = mid("a1");
    for i in 0..200 {
        thread.append_delta(&a1, "tok ", at(100 + i)).unwrap();
    }
    assert!(thread.pending_ops() > 0);

    let hash = thread.commit().expect("the batch is one change");
    assert_eq!(thread.commit(), None, "nothing is left pending");
    assert_eq!(thread.pending_ops(), 0);
    assert_eq!(thread.heads(), [hash]);

    let (added, deps, time) = thread.with_automerge(|doc| {
        let added: Vec<_> = doc.get_changes(&before).iter().map(|c| c.hash()).collect();
        let change = doc.get_change_by_hash(&hash).unwrap();
        (added, change.deps().to_vec(), change.timestamp())
    });
    assert_eq!(added, [hash], "the history grew by exactly one change");
    assert_eq!(deps, before);
    assert_eq!(
        time,
        i64::try_from(at(299)).unwrap(),
        "timed at the latest delta"
    );
    let m = thread.message(&a1, ReadAt::new(at(299))).unwrap();
    assert_eq!(m.content, "tok ".repeat(200));
}

#[test]
fn finishing_a_message_records_its_status_usage_and_time() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hi", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    append(&mut thread, "a2", Role::Assistant, "", at(3));
    let a1 = mid("a1");
    thread.append_delta(&a1, "Hello!", at(10)).unwrap();
    let usage = Usage {
        input_tokens: 12,
        output_tokens: 3,
    };
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: Some(usage),
    };
    thread.finish_message(&a1, end, at(50)).unwrap();
    let cancel = MessageEnd {
        status: MessageStatus::Cancelled,
        usage: None,
    };
    thread.finish_message(&mid("a2"), cancel, at(60)).unwrap();
    thread.commit();

    let view = view_at(&thread, at(1_000_000));
    let m = &view.messages[1];
    assert_eq!(m.status, MessageStatus::Complete);
    assert_eq!(m.usage, Some(usage));
    assert_eq!(m.content, "Hello!");
    assert_eq!(
        m.updated_at,
        at(50),
        "the finish time wins over the delta's"
    );
    let m = &view.messages[2];
    assert_eq!(m.status, MessageStatus::Cancelled);
    assert_eq!(m.usage, None);
}

#[test]
fn an_open_message_reads_as_interrupted_only_after_the_staleness_window() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hi", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(1_000));
    let a1 = mid("a1");
    let status = |thread: &chatsync_model::Thread, now_ms, stale_after_ms| {
        let at = ReadAt {
            now_ms,
            stale_after_ms,
        };
        thread.message(&a1, at).unwrap().status
    };

    assert_eq!(status(&thread, at(1_500), 500), MessageStatus::Pending);
    assert_eq!(status(&thread, at(1_501), 500), MessageStatus::Interrupted);
    // The same moment with a longer window: interrupted is derived, never stored.
    assert_eq!(status(&thread, at(1_501), 501), MessageStatus::Pending);
    // A read before the last update (another device's clock) is not stale.
    assert_eq!(status(&thread, at(0), 0), MessageStatus::Pending);

    thread.append_delta(&a1, "x", at(2_000)).unwrap();
    assert_eq!(status(&thread, at(2_500), 500), MessageStatus::Streaming);
    assert_eq!(status(&thread, at(2_501), 500), MessageStatus::Interrupted);
    thread.commit();
    assert_eq!(status(&thread, at(2_501), 500), MessageStatus::Interrupted);
    let view = thread.view(ReadAt {
        now_ms: at(2_501),
        stale_after_ms: 500,
    });
    assert_eq!(view.messages[1].status, MessageStatus::Interrupted);

    // An interrupted message is still open in the document: it can be finished, and then never reads
    // as interrupted again.
    let end = MessageEnd {
        status: MessageStatus::Error,
        usage: None,
    };
    thread.finish_message(&a1, end, at(3_000)).unwrap();
    assert_eq!(status(&thread, at(9_999_999), 1), MessageStatus::Error);
    // Finished messages never go stale.
    let u1 = thread
        .message(
            &mid("u1"),
            ReadAt {
                now_ms: at(9_999_999),
                stale_after_ms: 1,
            },
        )
        .unwrap();
    assert_eq!(u1.status, MessageStatus::Complete);
}

#[test]
fn a_message_author_is_the_actor_that_created_it() {
    let mut thread = new_thread();
    append(&mut thread, "a1", Role::Assistant, "", at(1));
    thread.commit();
    let mut other = replica(&mut thread, "device-b");
    append(&mut other, "a2", Role::Assistant, "", at(2));
    // Streaming into a message someone else created leaves its author as it was.
    other.append_delta(&mid("a1"), "x", at(3)).unwrap();
    other.commit();
    assert_eq!(other.message_author(&mid("a1")), Some(actor("device-a")));
    assert_eq!(other.message_author(&mid("a2")), Some(actor("device-b")));
    assert_eq!(other.message_author(&mid("nope")), None);
}

#[test]
fn feedback_is_recorded_and_a_later_rating_replaces_it() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hi", at(1));
    append(&mut thread, "a1", Role::Assistant, "Hello", at(2));
    let a1 = mid("a1");
    let good = Feedback {
        rating: 5,
        text: Some("spot on".into()),
    };
    thread.set_feedback(&a1, good.clone(), at(3)).unwrap();
    assert_eq!(
        thread.message(&a1, ReadAt::new(at(3))).unwrap().feedback,
        Some(good)
    );

    let bad = Feedback {
        rating: 1,
        text: None,
    };
    thread.set_feedback(&a1, bad.clone(), at(4)).unwrap();
    let view = view_at(&thread, at(4));
    assert_eq!(
        view.messages[1].feedback,
        Some(bad),
        "the old comment is gone"
    );
    assert_eq!(view.messages[0].feedback, None);
    assert_eq!(view.updated_at, at(4));
}

#[test]
fn an_interrupted_stream_keeps_its_content_and_shows_interrupted_at_once_everywhere() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Hi", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    thread.append_delta(&mid("a1"), "Half a ", at(3)).unwrap();
    thread.append_delta(&mid("a1"), "reply", at(4)).unwrap();
    thread.interrupt_message(&mid("a1"), at(5)).unwrap();
    // Read at once (no staleness window passed), and on a replica that loads the bytes.
    let mut copy = replica(&mut thread, "b");
    for view in [view_at(&thread, at(5)), view_at(&copy, at(5))] {
        let message = &view.messages[1];
        assert_eq!(message.status, MessageStatus::Interrupted);
        assert_eq!(message.content, "Half a reply");
    }
    // It is over: no more deltas, no finish.
    assert!(copy.append_delta(&mid("a1"), "more", at(6)).is_err());
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: None,
    };
    assert!(copy.finish_message(&mid("a1"), end, at(6)).is_err());
    // A finished message cannot be interrupted.
    assert!(thread.interrupt_message(&mid("u1"), at(6)).is_err());
}
