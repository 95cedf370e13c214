//! Branches: edits and regenerations as sibling variants, branch selection, and branches across replicas.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::{MessageStatus, NewMessage, ReadAt, Regenerate, Role, Thread};

use crate::support::{append, at, mid, new_thread, path, replica, view_at};

/// u1 → a1 → u2 → a2, all complete.
fn conversation() -> Thread {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Plan a trip", at(1));
    append(&mut thread, "a1", Role::Assistant, "Where to?", at(2));
    append(&mut thread, "u2", Role::User, "Rome", at(3));
    append(&mut thread, "a2", Role::Assistant, "Here is a plan.", at(4));
    thread
}

fn regenerate(new_id: &str) -> Regenerate {
    Regenerate {
        new_id: mid(new_id),
        provider: Some("anthropic".into()),
        model: Some("claude".into()),
    }
}

fn siblings(thread: &Thread, id: &str) -> (Vec<String>, usize) {
    let m = thread.message(&mid(id), ReadAt::new(at(0))).unwrap();
    (
        m.siblings.iter().map(ToString::to_string).collect(),
        m.sibling_index,
    )
}

#[test]
fn editing_a_message_adds_a_selected_sibling_and_keeps_the_original() {
    let mut thread = conversation();
    thread
        .edit_message(&mid("u2"), mid("u2b"), "Paris", at(10))
        .unwrap();

    assert_eq!(path(&thread), ["u1", "a1", "u2b"]);
    let view = view_at(&thread, at(10));
    let edited = &view.messages[2];
    assert_eq!(edited.content, "Paris");
    assert_eq!(edited.role, Role::User);
    assert_eq!(edited.status, MessageStatus::Complete);
    assert_eq!(edited.parent_id, Some(mid("a1")));
    assert_eq!(edited.siblings, [mid("u2"), mid("u2b")]);
    assert_eq!(edited.sibling_index, 1);
    let original = thread.message(&mid("u2"), ReadAt::new(at(10))).unwrap();
    assert_eq!(original.content, "Rome");
    assert_eq!(original.sibling_index, 0);
}

#[test]
fn a_reply_after_an_edit_continues_the_edited_branch() {
    let mut thread = conversation();
    thread
        .edit_message(&mid("u2"), mid("u2b"), "Paris", at(10))
        .unwrap();
    append(&mut thread, "a3", Role::Assistant, "Paris it is.", at(11));
    assert_eq!(
        thread
            .message(&mid("a3"), ReadAt::new(at(11)))
            .unwrap()
            .parent_id,
        Some(mid("u2b"))
    );
    assert_eq!(path(&thread), ["u1", "a1", "u2b", "a3"]);
}

#[test]
fn editing_the_first_message_branches_at_the_root_and_retitles_the_thread() {
    let mut thread = conversation();
    thread
        .edit_message(&mid("u1"), mid("u1b"), "Plan a party", at(10))
        .unwrap();
    assert_eq!(path(&thread), ["u1b"]);
    assert_eq!(view_at(&thread, at(10)).title, "Plan a party");
    thread.select_branch(&mid("a2"), at(11)).unwrap();
    assert_eq!(path(&thread), ["u1", "a1", "u2", "a2"]);
    assert_eq!(view_at(&thread, at(11)).title, "Plan a trip");
}

#[test]
fn regenerating_adds_a_pending_assistant_sibling_and_selects_it() {
    let mut thread = conversation();
    thread
        .regenerate_message(&mid("a2"), regenerate("a2b"), at(10))
        .unwrap();

    assert_eq!(path(&thread), ["u1", "a1", "u2", "a2b"]);
    let new = thread.message(&mid("a2b"), ReadAt::new(at(10))).unwrap();
    assert_eq!(new.role, Role::Assistant);
    assert_eq!(new.status, MessageStatus::Pending);
    assert_eq!(new.content, "");
    assert_eq!(new.parent_id, Some(mid("u2")));
    assert_eq!(new.provider.as_deref(), Some("anthropic"));
    assert_eq!(new.model.as_deref(), Some("claude"));
    thread
        .append_delta(&mid("a2b"), "Another plan.", at(11))
        .unwrap();
    assert_eq!(
        view_at(&thread, at(11)).messages[3].content,
        "Another plan."
    );
}

#[test]
fn siblings_list_every_variant_in_order_with_each_ones_index() {
    let mut thread = conversation();
    thread
        .regenerate_message(&mid("a2"), regenerate("a2b"), at(10))
        .unwrap();
    // Regenerating a variant adds to the same group, not a group of its own.
    thread
        .regenerate_message(&mid("a2b"), regenerate("a2c"), at(11))
        .unwrap();

    let all = vec!["a2".to_string(), "a2b".into(), "a2c".into()];
    assert_eq!(siblings(&thread, "a2"), (all.clone(), 0));
    assert_eq!(siblings(&thread, "a2b"), (all.clone(), 1));
    assert_eq!(siblings(&thread, "a2c"), (all, 2));
    // A message without variants is its own only sibling.
    assert_eq!(siblings(&thread, "u2"), (vec!["u2".to_string()], 0));
}

#[test]
fn selecting_an_earlier_variant_brings_back_its_subtree() {
    let mut thread = conversation();
    thread
        .regenerate_message(&mid("a1"), regenerate("a1b"), at(10))
        .unwrap();
    assert_eq!(path(&thread), ["u1", "a1b"]);
    thread.select_branch(&mid("a1"), at(11)).unwrap();
    assert_eq!(path(&thread), ["u1", "a1", "u2", "a2"]);
    assert_eq!(view_at(&thread, at(11)).updated_at, at(11));
    thread.select_branch(&mid("a1b"), at(12)).unwrap();
    assert_eq!(path(&thread), ["u1", "a1b"]);
}

#[test]
fn selecting_a_deep_message_in_an_inactive_branch_selects_every_ancestor_variant() {
    let mut thread = conversation();
    // Two levels of branches: u2 is edited, then a1 (u2's parent) is regenerated.
    thread
        .edit_message(&mid("u2"), mid("u2b"), "Paris", at(10))
        .unwrap();
    append(&mut thread, "a3", Role::Assistant, "Paris it is.", at(11));
    thread
        .regenerate_message(&mid("a1"), regenerate("a1b"), at(12))
        .unwrap();
    assert_eq!(path(&thread), ["u1", "a1b"]);

    // a2 hangs under u2 (not selected) under a1 (not selected).
    thread.select_branch(&mid("a2"), at(13)).unwrap();
    assert_eq!(path(&thread), ["u1", "a1", "u2", "a2"]);
    thread.select_branch(&mid("a3"), at(14)).unwrap();
    assert_eq!(path(&thread), ["u1", "a1", "u2b", "a3"]);
}

#[test]
fn selecting_a_message_already_on_the_path_writes_nothing() {
    let mut thread = conversation();
    let before = thread.heads();
    thread.select_branch(&mid("a2"), at(10)).unwrap();
    assert_eq!(thread.pending_ops(), 0);
    assert_eq!(thread.heads(), before);
}

#[test]
fn a_branch_switch_reaches_another_replica_through_merge() {
    let mut a = conversation();
    a.regenerate_message(&mid("a2"), regenerate("a2b"), at(10))
        .unwrap();
    let mut b = replica(&mut a, "device-b");
    assert_eq!(path(&b), ["u1", "a1", "u2", "a2b"]);

    a.select_branch(&mid("a2"), at(11)).unwrap();
    b.merge(&mut a).unwrap();
    assert_eq!(path(&b), ["u1", "a1", "u2", "a2"]);

    b.select_branch(&mid("a2b"), at(12)).unwrap();
    a.merge(&mut b).unwrap();
    assert_eq!(path(&a), ["u1", "a1", "u2", "a2b"]);
    assert_eq!(a.heads(), b.heads());
}

#[test]
fn messages_appended_concurrently_on_two_replicas_are_both_kept_in_the_same_order() {
    let mut a = new_thread();
    append(&mut a, "u1", Role::User, "Hi", at(1));
    let mut b = replica(&mut a, "device-b");

    append(&mut a, "from-a", Role::User, "Written on A", at(2));
    append(&mut b, "from-b", Role::User, "Written on B", at(2));
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();

    let on_a = path(&a);
    assert_eq!(on_a.len(), 3, "{on_a:?}");
    assert_eq!(on_a[0], "u1");
    assert!(on_a.contains(&"from-a".to_string()) && on_a.contains(&"from-b".to_string()));
    assert_eq!(on_a, path(&b));
    assert_eq!(view_at(&a, at(3)), view_at(&b, at(3)));

    // The next append continues after both, identically on either replica.
    append(&mut a, "u2", Role::User, "Next", at(5));
    b.merge(&mut a).unwrap();
    assert_eq!(path(&b), [on_a[0].as_str(), &on_a[1], &on_a[2], "u2"]);
}

#[test]
fn all_messages_lists_every_branch_in_order_with_the_views_fields() {
    let mut thread = conversation();
    thread
        .edit_message(&mid("u2"), mid("u2b"), "Paris", at(10))
        .unwrap();
    thread
        .regenerate_message(&mid("a1"), regenerate("a1b"), at(11))
        .unwrap();

    let all = thread.all_messages(ReadAt::new(at(12)));
    let ids: Vec<_> = all.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(ids, ["u1", "a1", "u2", "a2", "u2b", "a1b"]);
    assert_eq!(
        path(&thread),
        ["u1", "a1b"],
        "the view still shows one branch"
    );
    for message in &all {
        assert_eq!(
            Some(message),
            thread.message(&message.id, ReadAt::new(at(12))).as_ref(),
            "the same fields as message()"
        );
    }
}

#[test]
fn a_tree_read_before_remote_changes_reads_them_as_a_fresh_replica_does() {
    let mut a = new_thread();
    append(&mut a, "u1", Role::User, "Hi", at(1));
    append(&mut a, "a1", Role::Assistant, "Hello", at(1));
    let mut b = replica(&mut a, "device-b");
    // One id written on both, under different parents: one map wins, and with it its parent. Each
    // reads its tree before the merges, so they update a tree already read.
    for (thread, parent) in [(&mut a, "u1"), (&mut b, "a1")] {
        let message = NewMessage {
            parent_id: Some(mid(parent)),
            ..NewMessage::new(mid("same"), Role::User, parent)
        };
        thread.append_message(message, at(3)).unwrap();
        path(thread);
    }
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();

    let fresh = replica(&mut a, "device-c");
    assert_eq!(view_at(&a, at(4)), view_at(&fresh, at(4)));
    assert_eq!(view_at(&b, at(4)), view_at(&fresh, at(4)));
}
