//! One document: store before advertise, failed writes, ownership, ephemeral, the seams for
//! other writers, compaction.

use super::*;

#[test]
fn a_change_is_advertised_only_after_storage_confirmed_it() {
    let mut document = document();
    let mut device = Device::new(1);
    let change = device.edit("hello");
    let effects = until_task(&mut device, &mut document);
    assert!(effects.transmits.is_empty(), "nothing before the store");
    let [StorageTask::Append { key, heads, .. }] = &effects.tasks[..] else {
        panic!("expected one append, got {:?}", effects.tasks);
    };
    assert_eq!((key.document(), key.owner()), (&id(1), "alice"));
    assert_eq!(heads, &vec![change]);
    document.handle_appended(NOW, Ok(10));
    let heads = device.receive(&document.take_effects());
    assert_eq!(heads, Some(vec![change]));
    assert_eq!(document.stored_heads(), &[change]);
}

#[test]
fn changes_arriving_during_a_write_go_out_in_the_next_and_are_answered_after_it() {
    let mut document = document();
    let (mut a, mut b) = (Device::new(1), Device::new(2));
    converse(&mut [&mut a, &mut b], &mut document, &mut AutoCommit::new());
    a.edit("a");
    let first = until_task(&mut a, &mut document);
    assert_eq!(first.tasks.len(), 1);
    let change_b = b.edit("b");
    b.sync(&mut document);
    let during = document.take_effects();
    assert!(during.tasks.is_empty(), "one write at a time");
    assert!(during.transmits.is_empty(), "nobody is answered mid-write");
    let StorageTask::Append { chunk, .. } = &first.tasks[0] else {
        panic!()
    };
    document.handle_appended(NOW, Ok(chunk.len() as u64));
    let after_first = document.take_effects();
    assert!(
        after_first.transmits.is_empty(),
        "b's change is not stored yet"
    );
    let [StorageTask::Append { heads, .. }] = &after_first.tasks[..] else {
        panic!("expected the second append")
    };
    assert!(heads.contains(&change_b));
    document.handle_appended(NOW, Ok(100));
    let answered = document.take_effects();
    assert!(answered.transmits.iter().any(|(c, _)| *c == 1));
    assert!(answered.transmits.iter().any(|(c, _)| *c == 2));
}

/// Seed 706 of the sync simulation: after a failed write the relay dropped the document and every
/// session, and a device with nothing to send never heard of the document again.
#[test]
fn after_a_failed_write_every_other_session_hears_from_the_relay_again() {
    let mut document = document();
    let mut stored = AutoCommit::new();
    let (mut a, mut b) = (Device::new(1), Device::new(2));
    a.edit("first");
    converse(&mut [&mut a, &mut b], &mut document, &mut stored);
    assert_eq!(b.doc.get_heads(), stored.get_heads());
    // a writes again; storage fails.
    let lost = a.edit("second");
    let effects = until_task(&mut a, &mut document);
    assert_eq!(effects.tasks.len(), 1);
    document.handle_appended(NOW, Err(StorageFailure::Unavailable));
    let effects = document.take_effects();
    let [(1, close)] = &effects.closes[..] else {
        panic!("the writer's connection is closed: {:?}", effects.closes)
    };
    assert_eq!(close.code, 1011);
    assert!(
        !effects.forget,
        "the document stays, and so do the other sessions"
    );
    assert!(matches!(&effects.tasks[..], [StorageTask::Load { .. }]));
    assert_eq!(document.sessions(), 1);
    // Read back: b, who has nothing to send, hears the relay's heads — storage's, without `lost`.
    let effects = store(&mut document, &mut stored, effects);
    let heads = b.receive(&effects).expect("the relay speaks first");
    assert_eq!(heads, stored.get_heads());
    assert!(!holds_all(document.doc(), &[lost]));
    // a reconnects and resends; it is stored and reaches b.
    let mut a2 = Device {
        conn: 3,
        session: DocSession::new(),
        ..a
    };
    converse(&mut [&mut a2, &mut b], &mut document, &mut stored);
    assert!(holds_all(&mut stored, &[lost]));
    assert!(holds_all(&mut b.doc, &[lost]));
}

/// Automerge never sends a change twice in one session: a device whose change was lost with a
/// failed write must start a new session (reconnect) to send it again, or it never would.
#[test]
fn a_failed_write_closes_every_connection_whose_changes_it_lost_and_refuses_changes_until_read_back()
 {
    let mut document = document();
    let mut stored = AutoCommit::new();
    let (mut a, mut b, mut idle) = (Device::new(1), Device::new(2), Device::new(3));
    let mut late = Device::new(4);
    converse(
        &mut [&mut a, &mut b, &mut idle, &mut late],
        &mut document,
        &mut stored,
    );
    a.edit("a");
    let first = until_task(&mut a, &mut document);
    // b's change arrives while a's is being stored; both go in the failed write's wake.
    b.edit("b");
    until_no_reply(&mut b, &mut document);
    assert_eq!(first.tasks.len(), 1);
    document.handle_appended(NOW, Err(StorageFailure::Unavailable));
    let effects = document.take_effects();
    let closed: Vec<ConnId> = effects.closes.iter().map(|(c, _)| *c).collect();
    assert_eq!(closed, vec![1, 2]);
    assert_eq!(document.sessions(), 2, "the others stay");
    // A change sent before the document is read back is refused: that device reconnects too.
    late.edit("late");
    let refused = (0..3).find_map(|_| {
        let data = late.session.poll_message(&mut late.doc, 0)?;
        document.handle_sync(NOW, 4, &late.peer, &data).err()
    });
    assert!(matches!(refused, Some(Refusal::Storage)), "{refused:?}");
    let effects = store(&mut document, &mut stored, effects);
    assert_eq!(idle.receive(&effects), Some(stored.get_heads()));
}

/// Sends what `device` has to say while the document answers nothing (a write is in flight).
fn until_no_reply(device: &mut Device, document: &mut HubDocument) {
    while device.sync(document) {
        let effects = document.take_effects();
        assert!(effects.transmits.is_empty() && effects.tasks.is_empty());
    }
}

#[test]
fn another_users_claim_found_on_storing_makes_the_document_unavailable_to_everyone() {
    let mut document = document();
    let (mut a, mut b) = (Device::new(1), Device::new(2));
    converse(&mut [&mut a, &mut b], &mut document, &mut AutoCommit::new());
    a.edit("mine?");
    until_task(&mut a, &mut document);
    document.handle_appended(NOW, Err(StorageFailure::NotOwner));
    let effects = document.take_effects();
    assert!(effects.forget);
    assert_eq!(effects.closes.len(), 1);
    assert_eq!(effects.closes[0].1.code, 1008);
    let [(2, frame)] = &effects.transmits[..] else {
        panic!("{:?}", effects.transmits)
    };
    assert!(matches!(
        Message::decode(frame).unwrap(),
        Message::DocUnavailable { .. }
    ));
}

#[test]
fn a_purge_found_on_storing_makes_the_document_unavailable_and_closes_nobody() {
    let mut document = document();
    let (mut a, mut b) = (Device::new(1), Device::new(2));
    converse(&mut [&mut a, &mut b], &mut document, &mut AutoCommit::new());
    a.edit("still here?");
    until_task(&mut a, &mut document);
    document.handle_appended(NOW, Err(StorageFailure::Purged));
    let effects = document.take_effects();
    assert!(effects.forget);
    assert!(effects.closes.is_empty(), "{:?}", effects.closes);
    assert!(effects.tasks.is_empty(), "nothing is stored or read back");
    let mut told: Vec<u64> = effects.transmits.iter().map(|(conn, _)| *conn).collect();
    told.sort();
    assert_eq!(told, [1, 2]);
    for (_, frame) in &effects.transmits {
        assert!(matches!(
            Message::decode(frame).unwrap(),
            Message::DocUnavailable { .. }
        ));
    }
}

#[test]
fn a_document_is_open_only_to_the_user_who_stored_it_first() {
    assert_eq!(Hub::access(Some("alice"), "alice", false), Access::Open);
    assert_eq!(Hub::access(Some("alice"), "bob", true), Access::Unavailable);
    assert_eq!(Hub::access(None, "bob", true), Access::Create);
    assert_eq!(Hub::access(None, "bob", false), Access::Unavailable);
    let document = document();
    assert!(document.admits("alice"));
    assert!(!document.admits("bob"));
}

#[test]
fn ephemeral_messages_reach_the_other_sessions_once() {
    let mut document = document();
    for conn in 1..=3 {
        Device::new(conn).sync(&mut document);
    }
    let effects = document.take_effects();
    store(&mut document, &mut AutoCommit::new(), effects);
    let message = Ephemeral {
        sender_id: "device-1".into(),
        session_id: "s".into(),
        count: 1,
        data: vec![0xa0],
    };
    document.handle_ephemeral(1, &message);
    let conns: Vec<ConnId> = document
        .take_effects()
        .transmits
        .iter()
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(conns, vec![2, 3]);
    document.handle_ephemeral(2, &message);
    assert!(document.take_effects().transmits.is_empty(), "a duplicate");
}

/// The seam for a backend writing through the relay: the relay's own change is stored like a
/// device's, and synced to every session once stored.
#[test]
fn a_change_the_relay_commits_is_stored_then_synced_to_every_session() {
    let mut document = document();
    let mut stored = AutoCommit::new();
    let mut device = Device::new(1);
    device.sync(&mut document);
    let effects = document.take_effects();
    device.receive(&store(&mut document, &mut stored, effects));
    document
        .commit(NOW, |doc| doc.put(ROOT, "from", "backend"))
        .unwrap()
        .unwrap();
    let change = document.doc().get_heads();
    assert!(!document.is_stored(&change));
    let effects = document.take_effects();
    assert!(effects.transmits.is_empty());
    let [StorageTask::Append { key, .. }] = &effects.tasks[..] else {
        panic!("{:?}", effects.tasks)
    };
    assert_eq!(key.owner(), "alice");
    let effects = store(&mut document, &mut stored, effects);
    assert!(document.is_stored(&change));
    assert_eq!(device.receive(&effects), Some(change.clone()));
    assert!(holds_all(&mut device.doc, &change));
}

/// The seam for several relays on one database: another relay stored changes; this one reads
/// them, merges, and every session hears the new heads.
#[test]
fn changes_stored_by_another_relay_are_loaded_merged_and_synced() {
    let mut document = document();
    let mut stored = AutoCommit::new();
    let mut device = Device::new(1);
    device.sync(&mut document);
    let effects = document.take_effects();
    device.receive(&store(&mut document, &mut stored, effects));
    // Another relay appends a change to the shared storage.
    let mut elsewhere = stored.fork();
    elsewhere.put(ROOT, "from", "relay 2").unwrap();
    elsewhere.commit();
    stored.merge(&mut elsewhere).unwrap();
    let heads = stored.get_heads();
    document.handle_stored_elsewhere(NOW, heads.clone());
    let effects = document.take_effects();
    assert!(matches!(&effects.tasks[..], [StorageTask::Load { .. }]));
    let effects = store(&mut document, &mut stored, effects);
    assert_eq!(document.stored_heads(), &heads[..]);
    assert_eq!(device.receive(&effects), Some(heads.clone()));
    assert!(holds_all(&mut device.doc, &heads));
    // Told again of heads it holds: nothing to do.
    document.handle_stored_elsewhere(NOW, heads);
    assert!(document.take_effects().is_empty());
}

/// Notices of another relay's changes were lost (or named too many heads): the document reads
/// storage anyway, merges what it lacks, and every session hears it.
#[test]
fn changes_stored_elsewhere_unseen_are_read_back_all_the_same() {
    let mut document = document();
    let mut stored = AutoCommit::new();
    let mut device = Device::new(1);
    device.sync(&mut document);
    let effects = document.take_effects();
    device.receive(&store(&mut document, &mut stored, effects));
    let mut elsewhere = stored.fork();
    elsewhere.put(ROOT, "from", "relay 2").unwrap();
    elsewhere.commit();
    stored.merge(&mut elsewhere).unwrap();
    let heads = stored.get_heads();
    document.handle_stored_elsewhere_unknown(NOW);
    let effects = document.take_effects();
    assert!(matches!(&effects.tasks[..], [StorageTask::Load { .. }]));
    let effects = store(&mut document, &mut stored, effects);
    assert_eq!(document.stored_heads(), &heads[..]);
    assert_eq!(device.receive(&effects), Some(heads.clone()));
    assert!(holds_all(&mut device.doc, &heads));
}

#[test]
fn large_chunks_ask_for_a_compaction_which_waits_for_nothing_unstored() {
    let config = DocumentConfig {
        compact_after_bytes: 0,
        ..DocumentConfig::default()
    };
    let mut document = HubDocument::new(id(1), "alice", config, NOW);
    let mut device = Device::new(1);
    device.edit("x");
    let effects = until_task(&mut device, &mut document);
    let effects = store(&mut document, &mut AutoCommit::new(), effects);
    assert!(effects.compaction_due);
    assert!(document.compact(Compaction::WhenLarge));
    let effects = document.take_effects();
    assert!(matches!(&effects.tasks[..], [StorageTask::Compact { .. }]));
    // A change during the compaction is stored after it, and answered then.
    device.receive(&effects);
    device.edit("y");
    while device.sync(&mut document) {
        let effects = document.take_effects();
        assert!(effects.tasks.is_empty() && effects.transmits.is_empty());
    }
    document.handle_compacted(NOW, Ok(()));
    let effects = document.take_effects();
    assert!(matches!(&effects.tasks[..], [StorageTask::Append { .. }]));
    assert!(!document.compact(Compaction::Any), "not while storing");
}

#[test]
fn a_refused_sync_message_closes_only_its_connection_and_changes_nothing() {
    let mut document = document();
    let heads = document.doc().get_heads();
    assert!(matches!(
        document.handle_sync(NOW, 1, "p", b"not a sync message"),
        Err(Refusal::BadSync(_))
    ));
    assert_eq!(document.doc().get_heads(), heads);
    let small = DocumentConfig {
        max_document_bytes: 4,
        ..DocumentConfig::default()
    };
    let mut document = HubDocument::new(id(1), "alice", small, NOW);
    let mut device = Device::new(1);
    device.edit("too long a text");
    let data = device.session.poll_message(&mut device.doc, 0).unwrap();
    assert!(matches!(
        document.handle_sync(NOW, 1, "p", &data),
        Err(Refusal::DocumentTooLarge { limit: 4 })
    ));
}

/// A device that dropped its session and started a new one on the same connection (a store
/// opening a thread again) asks the relay to start over (`DocSession::start_over`). The relay's
/// old session counted its heads as told, and stayed silent to the new one (which never saw them
/// acknowledged); and Automerge's reset alone only makes it send again what it sent the old one.
#[test]
fn a_device_that_starts_its_session_over_hears_the_relay_again() {
    for changed_meanwhile in [false, true] {
        let mut document = document();
        let mut stored = AutoCommit::new();
        let (mut a, mut b) = (Device::new(1), Device::new(2));
        a.edit("a");
        converse(&mut [&mut a, &mut b], &mut document, &mut stored);
        let understood = b.session.peer_understands_reset();
        assert!(understood, "the relay says it understands a reset");
        b.session = DocSession::new();
        if changed_meanwhile {
            // A's change goes to B's old session, and is lost with it.
            a.edit("while b was away");
            a.sync(&mut document);
            let effects = document.take_effects();
            store(&mut document, &mut stored, effects);
        }
        b.session.start_over(understood);
        let mut heard = None;
        for _ in 0..10 {
            let said = b.sync(&mut document);
            let effects = document.take_effects();
            let effects = store(&mut document, &mut stored, effects);
            heard = b.receive(&effects).or(heard);
            if !said && effects.transmits.is_empty() {
                break;
            }
        }
        let case = format!("changed meanwhile: {changed_meanwhile}");
        assert_eq!(b.doc.get_heads(), stored.get_heads(), "{case}");
        assert_eq!(heard, Some(stored.get_heads()), "{case}: the relay's heads");
    }
}
