//! The cases. Each holds one document's IO at a gate and opens it only after checking what must
//! proceed meanwhile, so none depends on timing; waits are bounded at 5 s.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ROOT, ReadDoc};

use super::{Harness, doc_with, id};

/// Long enough that a reply that was coming would have come; short enough to keep the suite fast.
/// Only used to check that something does *not* happen.
const QUIET: Duration = Duration::from_millis(200);

#[tokio::test]
async fn another_documents_write_is_acknowledged_while_one_documents_append_is_held() {
    let h = Harness::new();
    let (slow, fast) = (id(1), id(2));
    h.storage.appends_gate.hold(slow);
    let mut alice = h.device("alice", "alice-1", slow, doc_with("a")).await;
    let mut bob = h.device("bob", "bob-1", fast, doc_with("b")).await;
    alice.offer().await;
    h.storage.appends_gate.until_waiting(1).await;
    // A second device's message on the held document meanwhile (it must wait for nothing either).
    let alice_two = h.device("alice", "alice-2", slow, doc_with("a2")).await;
    let _alice_two = alice_two.sync_now();

    bob.sync();
    let heads = bob.doc.get_heads();
    bob.until_acknowledged(&heads, |_| {}).await;

    // Alice's change is not stored yet, so it is not acknowledged yet either.
    assert!(alice.next_within(QUIET).await.is_none());
    h.storage.appends_gate.open();
    let heads = alice.doc.get_heads();
    let storage = h.storage.clone();
    alice
        .until_acknowledged(&heads, |advertised| {
            assert!(
                storage.holds_all(&slow, advertised),
                "advertised before stored"
            );
        })
        .await;
}

#[tokio::test]
async fn another_documents_write_is_acknowledged_while_one_document_loads() {
    let h = Harness::new();
    let (slow, fast) = (id(3), id(4));
    let mut stored = doc_with("stored");
    h.storage.put(slow, "alice", &mut stored);
    h.storage.loads_gate.hold(slow);
    let mut alice = h.device("alice", "alice-1", slow, stored.fork()).await;
    let mut bob = h.device("bob", "bob-1", fast, doc_with("b")).await;
    alice.sync();
    h.storage.loads_gate.until_waiting(1).await;

    bob.sync();
    let heads = bob.doc.get_heads();
    bob.until_acknowledged(&heads, |_| {}).await;

    h.storage.loads_gate.open();
    let heads = alice.doc.get_heads();
    alice.until_acknowledged(&heads, |_| {}).await;
}

#[tokio::test]
async fn another_documents_write_is_acknowledged_while_one_document_compacts() {
    let h = Harness::new();
    let (slow, fast) = (id(5), id(6));
    h.storage.compactions_gate.hold(slow);
    let mut alice = h.device("alice", "alice-1", slow, AutoCommit::new()).await;
    // Over the compaction threshold (64 KB of chunks) in one change.
    let text = "x".repeat(100 << 10);
    alice.doc.put(ROOT, "big", text.as_str()).unwrap();
    alice.sync();
    let heads = alice.doc.get_heads();
    let storage = h.storage.clone();
    // Acknowledged first; the compaction comes after the replies.
    alice
        .until_acknowledged(&heads, |advertised| {
            assert!(
                storage.holds_all(&slow, advertised),
                "advertised before stored"
            );
        })
        .await;
    h.storage.compactions_gate.until_waiting(1).await;

    let mut bob = h.device("bob", "bob-1", fast, doc_with("b")).await;
    bob.sync();
    let heads = bob.doc.get_heads();
    bob.until_acknowledged(&heads, |_| {}).await;
    h.storage.compactions_gate.open();
}

#[tokio::test]
async fn a_cold_load_by_two_connections_at_once_loads_once() {
    let h = Harness::new();
    let doc_id = id(7);
    let mut stored = doc_with("stored");
    h.storage.put(doc_id, "alice", &mut stored);
    h.storage.loads_gate.hold(doc_id);
    // Each device holds a change of its own, so its first message is a `sync` (not the cold-load
    // shortcut, which reads storage without loading).
    let mut one = h.device("alice", "alice-1", doc_id, doc_with("one")).await;
    let mut two = h.device("alice", "alice-2", doc_id, doc_with("two")).await;
    one.sync();
    two.sync();
    h.storage.loads_gate.until_waiting(1).await;
    // The second waits on the first's load instead of reading storage itself.
    tokio::time::sleep(QUIET).await;
    assert_eq!(h.storage.loads_of(&doc_id), 1);
    h.storage.loads_gate.open();

    let (heads_one, heads_two) = (one.doc.get_heads(), two.doc.get_heads());
    tokio::join!(
        one.until_acknowledged(&heads_one, |_| {}),
        two.until_acknowledged(&heads_two, |_| {}),
    );
    assert_eq!(h.storage.loads_of(&doc_id), 1, "loaded once");
    assert_eq!(h.relay.documents_loaded().await, 1);
}

#[tokio::test]
async fn concurrent_writers_on_one_document_with_slow_storage_converge_and_every_ack_follows_its_store()
 {
    let h = Harness::new();
    let doc_id = id(8);
    *h.storage.append_delay.lock().unwrap() = Duration::from_millis(3);
    let mut one = h
        .device("alice", "alice-1", doc_id, AutoCommit::new())
        .await;
    let mut two = h
        .device("alice", "alice-2", doc_id, AutoCommit::new())
        .await;
    let storage = h.storage.clone();
    let check = |advertised: &[_]| {
        assert!(
            storage.holds_all(&doc_id, advertised),
            "advertised before stored"
        );
    };
    // Both write at once, each acknowledged change after change, while the other's syncs arrive.
    tokio::join!(
        write_acknowledged(&mut one, "one", &check),
        write_acknowledged(&mut two, "two", &check)
    );
    // Let each hear the other's last changes.
    for _ in 0..20 {
        if one.doc.get_heads() == two.doc.get_heads() {
            break;
        }
        for device in [&mut one, &mut two] {
            while let Some(message) = device.next_within(Duration::from_millis(50)).await {
                check(&device.apply(message));
                device.sync();
            }
        }
    }
    assert_eq!(one.doc.get_heads(), two.doc.get_heads(), "converged");
    assert_eq!(one.doc.keys(ROOT).count(), 40);
    assert!(storage.holds_all(&doc_id, &one.doc.get_heads()));
}

/// Seed 706 of the sync simulation: after a failed write the relay dropped the document and every
/// connection's session, and a device with nothing to send never heard of that document again.
#[tokio::test]
async fn after_a_failed_write_a_device_with_nothing_to_send_hears_from_the_relay_again() {
    let h = Harness::new();
    let doc_id = id(9);
    let mut writer = h
        .device("alice", "alice-1", doc_id, doc_with("first"))
        .await;
    let heads = writer.doc.get_heads();
    writer.offer().await;
    writer.until_acknowledged(&heads, |_| {}).await;
    let mut reader = h
        .device("alice", "alice-2", doc_id, AutoCommit::new())
        .await;
    reader.offer().await;
    while reader.doc.get_heads() != heads {
        let message = reader.next().await.expect("the reader gets the document");
        reader.apply(message);
        reader.sync();
    }
    // Drain what is left of the reader's exchange: it then has nothing to send.
    while let Some(message) = reader.next_within(Duration::from_millis(100)).await {
        reader.apply(message);
        reader.sync();
    }
    h.storage.fail_next_append.store(true, Ordering::SeqCst);
    writer.doc.put(ROOT, "lost", 1).unwrap();
    writer.sync();
    // The writer's connection is closed (1011); the document is read back from storage, and the
    // reader — which sends nothing — hears from the relay.
    let message = reader
        .next_within(Duration::from_secs(5))
        .await
        .expect("the relay speaks to the idle device after the failed write");
    assert_eq!(
        reader.apply(message),
        heads,
        "storage's heads, without the lost change"
    );
    reader.sync();
    // The writer reconnects and sends its change again; the reader gets it.
    let mut again = h
        .device("alice", "alice-3", doc_id, writer.doc.fork())
        .await;
    let all = again.doc.get_heads();
    again.offer().await;
    again.until_acknowledged(&all, |_| {}).await;
    while reader.doc.get_heads() != all {
        let message = reader
            .next()
            .await
            .expect("the reader gets the resent change");
        reader.apply(message);
        reader.sync();
    }
    assert!(h.storage.holds_all(&doc_id, &all));
}

/// Twenty changes, each sent and awaited until acknowledged.
async fn write_acknowledged(
    device: &mut super::Device,
    name: &str,
    check: &impl Fn(&[chatsync_protocol::automerge::ChangeHash]),
) {
    for n in 0..20_i64 {
        device.doc.put(ROOT, format!("{name}-{n}"), n).unwrap();
        device.sync();
        let heads = device.doc.get_heads();
        device.until_acknowledged(&heads, check).await;
    }
}

#[tokio::test]
async fn a_step_that_panicked_leaves_storage_holding_every_acknowledged_change() {
    use chatsync_relay::relay::Open;

    let h = Harness::new();
    let doc_id = id(9);
    let mut stored = doc_with("stored");
    h.storage.put(doc_id, "alice", &mut stored);
    let mut one = h.device("alice", "alice-1", doc_id, doc_with("one")).await;
    one.sync();
    let heads = one.doc.get_heads();
    one.until_acknowledged(&heads, |_| {}).await;

    // A backend's change panics midway, having taken the document out of its place.
    let panicked = h
        .relay
        .with_document("alice", &doc_id, Open::Existing, |doc| {
            let _taken = std::mem::take(doc);
            panic!("a bug in a backend's change");
        })
        .await;
    assert!(panicked.is_err());

    // The device that held the document is closed (its session was on the dropped copy); it comes
    // back and keeps writing, and the relay compacts what it holds (as at shutdown): neither may
    // store the half-changed copy over what storage has.
    assert_eq!(one.until_closed().await, 1011);
    let mut again = h.device("alice", "alice-2", doc_id, one.doc.fork()).await;
    again.doc.put(ROOT, "after", 1).unwrap();
    again.doc.commit();
    let heads = again.doc.get_heads();
    again.offer().await;
    again.until_acknowledged(&heads, |_| {}).await;
    h.relay.compact_all().await;

    assert_stored(&h, &doc_id, &["stored", "one", "after"]).await;
}

/// Review of issue 11: a copy dropped after a panic left the other sessions on it open, talking to
/// a copy nobody stores or syncs: a device following the document silently stopped hearing of it.
/// Now every session on the dropped copy is closed (1011), so its device reconnects and resyncs.
#[tokio::test]
async fn a_copy_dropped_after_a_panic_closes_every_session_on_it() {
    use chatsync_relay::relay::Open;

    let h = Harness::new();
    let doc_id = id(13);
    h.storage.put(doc_id, "alice", &mut doc_with("stored"));
    let mut writer = h.device("alice", "alice-1", doc_id, doc_with("one")).await;
    writer.sync();
    let heads = writer.doc.get_heads();
    writer.until_acknowledged(&heads, |_| {}).await;
    let heads = writer.doc.get_heads();
    let mut follower = h
        .device("alice", "alice-2", doc_id, AutoCommit::new())
        .await;
    follower.offer().await;
    while follower.doc.get_heads() != heads {
        let message = follower
            .next()
            .await
            .expect("the follower gets the document");
        follower.apply(message);
        follower.sync();
    }

    let panicked = h
        .relay
        .with_document("alice", &doc_id, Open::Existing, |_| {
            panic!("a bug in a backend's change")
        })
        .await;
    assert!(panicked.is_err());
    assert_eq!(follower.until_closed().await, 1011, "the follower is told");
    assert_eq!(writer.until_closed().await, 1011, "so is the writer");
    assert_eq!(h.relay.documents_loaded().await, 0);
}

/// Review of issue 11: a local write waited with no deadline for storage to confirm it. Now it
/// gives up after the request timeout with a typed error (the change stays, and is stored once
/// storage answers).
#[tokio::test]
async fn a_local_write_storage_never_confirms_is_refused_after_the_deadline() {
    use chatsync_relay::relay::{Limits, LocalWriteError, Open};

    let limits = Limits {
        http_request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let h = Harness::with_limits(limits);
    let doc_id = id(14);
    h.storage.put(doc_id, "alice", &mut doc_with("stored"));
    h.storage.appends_gate.hold(doc_id);
    let relay = h.relay.clone();
    let write = tokio::spawn(async move {
        relay
            .with_document("alice", &doc_id, Open::Existing, |doc| {
                doc.put(ROOT, "local", 1).unwrap();
            })
            .await
    });
    let refused = tokio::time::timeout(Duration::from_secs(5), write)
        .await
        .expect("the write has a deadline")
        .unwrap();
    assert!(
        matches!(refused, Err(LocalWriteError::NotConfirmed { waited }) if waited == Duration::from_millis(300)),
        "{refused:?}"
    );
    // Storage answers at last: the change is stored, and the next write goes through.
    h.storage.appends_gate.open();
    h.relay
        .with_document("alice", &doc_id, Open::Existing, |doc| {
            doc.put(ROOT, "next", 1).unwrap();
        })
        .await
        .unwrap();
    assert_stored(&h, &doc_id, &["stored", "local", "next"]).await;
}

/// Review of issue 11: a storage call that panicked under a local write unwound through the
/// caller and left the document waiting for a result that never came, so every later write to it
/// hung. Now the write is refused with `Storage`, the copy leaves memory, and the next write works.
#[tokio::test]
async fn a_storage_panic_under_a_local_write_is_refused_and_the_next_write_works() {
    use chatsync_relay::relay::{LocalWriteError, Open};

    let h = Harness::new();
    let doc_id = id(15);
    h.storage.put(doc_id, "alice", &mut doc_with("stored"));
    h.storage.panic_next_append.store(true, Ordering::SeqCst);
    let relay = h.relay.clone();
    let refused = tokio::spawn(async move {
        relay
            .with_document("alice", &doc_id, Open::Existing, |doc| {
                doc.put(ROOT, "lost", 1).unwrap();
            })
            .await
    })
    .await
    .expect("the panic is caught, not passed to the caller");
    assert!(
        matches!(refused, Err(LocalWriteError::Storage)),
        "{refused:?}"
    );
    let next = h
        .relay
        .with_document("alice", &doc_id, Open::Existing, |doc| {
            doc.put(ROOT, "next", 1).unwrap();
        });
    tokio::time::timeout(Duration::from_secs(5), next)
        .await
        .expect("not stuck behind the panicked write")
        .unwrap();
    assert_stored(&h, &doc_id, &["stored", "next"]).await;
}

#[tokio::test]
async fn a_device_reopening_a_document_while_eviction_compacts_it_loses_nothing() {
    let h = Harness::new();
    let doc_id = id(10);
    let mut stored = doc_with("stored");
    h.storage.put(doc_id, "alice", &mut stored);
    // Loaded by a device that then goes away: the document is idle, with a chunk to compact.
    {
        let mut one = h.device("alice", "alice-1", doc_id, doc_with("one")).await;
        one.sync();
        let heads = one.doc.get_heads();
        one.until_acknowledged(&heads, |_| {}).await;
    }
    for _ in 0..100 {
        if h.relay.sessions_on(&doc_id).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Eviction picks it and compacts it on its way out; the compaction is held.
    h.storage.compactions_gate.hold(doc_id);
    let relay = h.relay.clone();
    let later = std::time::Instant::now() + Duration::from_secs(3600);
    let evicting = tokio::spawn(async move { relay.evict(later).await });
    h.storage.compactions_gate.until_waiting(1).await;

    // Meanwhile another device opens the document and writes (its sync runs while the compaction
    // is held, then the compaction is let go).
    let mut two = h.device("alice", "alice-2", doc_id, doc_with("two")).await;
    two.sync();
    let heads = two.doc.get_heads();
    let gate = &h.storage.compactions_gate;
    tokio::join!(two.until_acknowledged(&heads, |_| {}), async {
        tokio::time::sleep(QUIET).await;
        gate.open();
    });
    evicting.await.unwrap();

    // What was acknowledged is in storage: the compaction did not delete the second device's chunk.
    assert_stored(&h, &doc_id, &["stored", "one", "two"]).await;
}

/// Asserts that storage still holds document `id` with every key in `keys` (each written by a change
/// that was acknowledged).
async fn assert_stored(h: &Harness, id: &chatsync_protocol::DocumentId, keys: &[&str]) {
    use chatsync_relay::storage::Storage;

    let stored = h.storage.load(id).await.unwrap().expect("still stored");
    let mut doc = AutoCommit::load(&stored.snapshot).unwrap_or_else(|_| AutoCommit::new());
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).unwrap();
    }
    for key in keys {
        assert!(doc.get(ROOT, *key).unwrap().is_some(), "{key} was lost");
    }
}

/// Review of issue 11: the cold-load path read another user's whole document before it looked at
/// the owner. Now the owner's row comes first: another user's id costs no read of their document
/// and is answered exactly like a missing one.
#[tokio::test]
async fn a_cold_load_of_another_users_document_reads_nothing_and_answers_like_a_missing_one() {
    use chatsync_protocol::Message;

    let h = Harness::new();
    let (bobs, missing) = (id(11), id(12));
    h.storage.put(bobs, "bob", &mut doc_with("bob's"));
    for doc_id in [bobs, missing] {
        let mut alice = h
            .device("alice", "alice-1", doc_id, AutoCommit::new())
            .await;
        alice.request();
        let answer = alice.next_within(Duration::from_secs(5)).await;
        assert!(
            matches!(answer, Some(Message::DocUnavailable { document_id, .. }) if document_id == doc_id),
            "{answer:?}"
        );
        assert_eq!(
            h.storage.loads_of(&doc_id),
            0,
            "nothing of {doc_id} was read"
        );
    }
    assert_eq!(h.relay.documents_loaded().await, 0);
}
