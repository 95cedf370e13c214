//! Undo: this device's last edit, set back without touching what others did since.

use chatsync_history::VersionKind;
use chatsync_model::{ReadAt, Thread};

use crate::support::*;

#[test]
fn undo_sets_back_this_devices_last_edit_and_keeps_another_devices_edits() {
    let mut a = new_thread(DEVICE_A);
    send(&mut a, "m1", "Plan a trip", 2_000);
    a.set_title("Trip", 3_000).unwrap();
    a.commit();
    a.set_title("Trip to Rome", 4_000).unwrap();
    a.commit();
    // Another device answers afterwards.
    let mut b = Thread::load(
        id(),
        &a.save().unwrap(),
        actor(DEVICE_B, 1),
        Default::default(),
    )
    .unwrap();
    stream_reply(&mut b, "r1", &["Sure."], 5_000);
    a.merge(&mut b).unwrap();

    let change = history(&mut a)
        .undo(DEVICE_A, actor(DEVICE_A, 2), 6_000)
        .unwrap()
        .unwrap();
    a.load_incremental(&change).unwrap();
    let view = a.view(ReadAt::new(6_000));
    assert_eq!(view.title, "Trip");
    assert_eq!(
        contents(&view),
        [
            ("m1".into(), "Plan a trip".into()),
            ("r1".into(), "Sure.".into())
        ]
    );
    let mut after = history(&mut a);
    let last = after.versions().last().unwrap();
    assert_eq!(last.kind, VersionKind::Undo);
    assert_eq!(last.summary, "Undone: Title set to \"Trip to Rome\"");

    // A second undo goes one edit further back, not back and forth.
    let change = after
        .undo(DEVICE_A, actor(DEVICE_A, 3), 7_000)
        .unwrap()
        .unwrap();
    a.load_incremental(&change).unwrap();
    assert_eq!(a.view(ReadAt::new(7_000)).title, "Plan a trip");
}

#[test]
fn undo_reverts_a_restore() {
    let mut a = new_thread(DEVICE_A);
    send(&mut a, "m1", "One", 2_000);
    send(&mut a, "m2", "Two", 3_000);
    let one = history(&mut a).versions()[1].version.clone();
    let change = history(&mut a)
        .restore(
            &one,
            chatsync_history::RestoreTarget::Thread,
            actor(DEVICE_A, 2),
            4_000,
        )
        .unwrap()
        .unwrap();
    a.load_incremental(&change).unwrap();
    assert_eq!(a.view(ReadAt::new(4_000)).messages.len(), 1);
    let change = history(&mut a)
        .undo(DEVICE_A, actor(DEVICE_A, 3), 5_000)
        .unwrap()
        .unwrap();
    a.load_incremental(&change).unwrap();
    assert_eq!(
        contents(&a.view(ReadAt::new(5_000))),
        [("m1".into(), "One".into()), ("m2".into(), "Two".into())]
    );
}

#[test]
fn nothing_to_undo_without_an_edit_of_this_device() {
    let mut a = new_thread(DEVICE_B);
    send(&mut a, "m1", "Written on B", 2_000);
    // Device A has made no edit: not even the thread's creation counts.
    assert!(
        history(&mut a)
            .undo(DEVICE_A, actor(DEVICE_A, 1), 3_000)
            .unwrap()
            .is_none()
    );
    let mut fresh = new_thread(DEVICE_A);
    assert!(
        history(&mut fresh)
            .undo(DEVICE_A, actor(DEVICE_A, 2), 3_000)
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_edit_already_set_back_elsewhere_counts_as_undone() {
    let mut a = new_thread(DEVICE_A);
    send(&mut a, "m1", "Hello", 2_000);
    a.set_title("Greeting", 3_000).unwrap();
    a.commit();
    // Another device clears the title again: A's last edit is already set back.
    let mut b = Thread::load(
        id(),
        &a.save().unwrap(),
        actor(DEVICE_B, 1),
        Default::default(),
    )
    .unwrap();
    b.clear_title(4_000).unwrap();
    b.commit();
    a.merge(&mut b).unwrap();

    let change = history(&mut a)
        .undo(DEVICE_A, actor(DEVICE_A, 2), 5_000)
        .unwrap();
    a.load_incremental(&change.expect("the undo is recorded"))
        .unwrap();
    assert_eq!(
        a.view(ReadAt::new(5_000)).messages.len(),
        1,
        "nothing else changed"
    );
    // So the next undo takes the edit before: the message.
    let change = history(&mut a)
        .undo(DEVICE_A, actor(DEVICE_A, 3), 6_000)
        .unwrap()
        .unwrap();
    a.load_incremental(&change).unwrap();
    assert!(a.view(ReadAt::new(6_000)).messages.is_empty());
}
