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
