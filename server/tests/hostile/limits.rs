//! Deadlines, caps and budgets of one connection, on tokio's paused clock; and that no panic skips a
//! connection's cleanup.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ROOT};
use chatsync_protocol::{DocSession, whole_document_message};
use chatsync_relay::auth::Verified;
use chatsync_relay::relay::{Frame, Inbound, Limits};
use tokio::time::Instant;

use crate::support::{Conn, Harness, doc_id, eventually};

/// A sync payload from a peer holding nothing of the document: the relay opens it (in memory).
fn empty_peer_sync() -> Vec<u8> {
    DocSession::new()
        .poll_message(&mut AutoCommit::new(), 0)
        .expect("a first message")
}

/// A sync payload carrying a whole one-change document.
fn document_with_a_change() -> Vec<u8> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "hello").unwrap();
    doc.commit();
    whole_document_message(doc.get_heads(), doc.save())
}

/// Opens document `n` on `conn` and waits for the relay's answer.
async fn open(conn: &mut Conn, n: u32) {
    conn.sync(doc_id(n), empty_peer_sync());
    match conn.next_message().await {
        chatsync_protocol::Message::Sync { document_id, .. } => assert_eq!(document_id, doc_id(n)),
        other => panic!("expected the relay's sync, got {other:?}"),
    }
}

fn gauge(h: &Harness) -> u64 {
    h.relay.metrics().connections.load(Ordering::Relaxed)
}

#[tokio::test(start_paused = true)]
async fn a_socket_that_never_joins_is_closed_at_the_join_deadline() {
    let h = Harness::new(Limits::default());
    let started = Instant::now();
    let mut conn = h.connect("alice", "a");
    let (message, code, _) = conn.refusal().await;
    assert_eq!(message, "no join message within 10 s");
    assert_eq!(code, 1008);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    conn.ended().await;
    assert_eq!(h.relay.metrics().refusals_for("join_deadline"), 1);
    assert_eq!(gauge(&h), 0);
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_pinged_then_closed_at_the_idle_timeout() {
    let h = Harness::new(Limits::default());
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    let joined = Instant::now();
    assert!(matches!(conn.next_frame().await, Frame::Ping(_)));
    assert_eq!(joined.elapsed(), Duration::from_secs(20));
    let (message, code, _) = tokio::time::timeout(Duration::from_secs(41), conn.refusal())
        .await
        .expect("closed by 60 s");
    assert_eq!(message, "no frame or pong for 60 s");
    assert_eq!(code, 1001);
    assert_eq!(joined.elapsed(), Duration::from_secs(60));
    assert_eq!(h.relay.metrics().refusals_for("idle"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_answers_pings_stays_connected() {
    let h = Harness::new(Limits::default());
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    let joined = Instant::now();
    for _ in 0..10 {
        assert!(matches!(conn.next_frame().await, Frame::Ping(_)));
        conn.to_relay.send(Inbound::Keepalive).unwrap();
    }
    assert_eq!(joined.elapsed(), Duration::from_secs(200));
    assert_eq!(h.relay.metrics().refusals_for("idle"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_socket_is_closed_with_4001_when_its_token_expires_and_later_writes_are_not_stored() {
    let h = Harness::new(Limits::default());
    let verified = Verified {
        user: "alice".into(),
        expires_at: Some(SystemTime::now() + Duration::from_secs(30)),
    };
    let mut conn = h.connect_verified(verified, "a");
    conn.join().await;
    let opened = Instant::now();
    // Pongs keep it alive; only the token's expiry ends it.
    let closed = tokio::time::timeout(Duration::from_secs(31), async {
        loop {
            match conn.next_frame().await {
                Frame::Ping(_) => conn.to_relay.send(Inbound::Keepalive).unwrap(),
                Frame::Binary(bytes) => match chatsync_protocol::Message::decode(&bytes).unwrap() {
                    chatsync_protocol::Message::Error { message, .. } => match conn.next().await {
                        Frame::Close { code, reason } => return (message, code, reason),
                        other => panic!("expected a close, got {other:?}"),
                    },
                    other => panic!("expected an error, got {other:?}"),
                },
                other => panic!("expected the error message first, got {other:?}"),
            }
        }
    });
    let (message, code, reason) = closed.await.expect("closed when the token expired");
    assert_eq!(
        (message.as_str(), code, reason.as_str()),
        ("token expired", 4001, "token expired")
    );
    let waited = opened.elapsed();
    assert!(waited <= Duration::from_secs(30), "{waited:?}");
    assert!(waited >= Duration::from_secs(29), "{waited:?}");
    // A write sent after the expiry is never applied.
    conn.sync(doc_id(1), document_with_a_change());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!h.storage.holds(&doc_id(1)));
    assert_eq!(h.relay.metrics().refusals_for("token_expired"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_users_connections_beyond_the_cap_are_closed_with_try_again_later() {
    let h = Harness::new(Limits {
        max_connections_per_user: 2,
        ..Limits::default()
    });
    let mut first = h.connect("alice", "a1");
    first.join().await;
    let mut second = h.connect("alice", "a2");
    second.join().await;
    let mut third = h.connect("alice", "a3");
    let (message, code, _) = third.refusal().await;
    assert_eq!(
        message,
        "more than 2 connections for this user; try again later"
    );
    assert_eq!(code, 1013);
    third.ended().await;
    // Other users are not affected, and a slot freed is a slot usable.
    let mut bob = h.connect("bob", "b1");
    bob.join().await;
    first.to_relay.send(Inbound::Closed).unwrap();
    first.ended().await;
    let mut again = h.connect("alice", "a4");
    again.join().await;
    assert_eq!(h.relay.connections_of("alice"), 2);
    assert_eq!(h.relay.metrics().refusals_for("connections_per_user"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_may_not_open_more_documents_than_its_cap() {
    let h = Harness::new(Limits {
        max_documents_per_connection: 3,
        ..Limits::default()
    });
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    for n in 0..3 {
        open(&mut conn, n).await;
    }
    conn.sync(doc_id(3), empty_peer_sync());
    let (message, code, _) = conn.refusal().await;
    assert_eq!(message, "more than 3 documents open on one connection");
    assert_eq!(code, 1008);
    conn.ended().await;
    assert_eq!(h.relay.sessions_on(&doc_id(0)).await, 0);
    assert_eq!(
        h.relay.documents_loaded().await,
        3,
        "the fourth was never loaded"
    );
    assert_eq!(
        h.relay.metrics().refusals_for("documents_per_connection"),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_spent_user_budget_refuses_new_documents_until_eviction_makes_room() {
    // Two empty documents spend it (each counts 8 KiB in memory).
    let h = Harness::new(Limits {
        max_document_bytes_per_user: 16 << 10,
        ..Limits::default()
    });
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    open(&mut conn, 1).await;
    open(&mut conn, 2).await;
    conn.sync(doc_id(3), empty_peer_sync());
    let (message, code, _) = conn.refusal().await;
    assert_eq!(
        message,
        "the user's budget of 16384 bytes of documents in memory is full; try again later"
    );
    assert_eq!(code, 1013);
    conn.ended().await;
    // Another user is unaffected.
    let mut bob = h.connect("bob", "b");
    bob.join().await;
    open(&mut bob, 10).await;
    // Alice's documents are idle now: opening a new one evicts the least recently used of them
    // instead of refusing.
    let mut again = h.connect("alice", "a2");
    again.join().await;
    open(&mut again, 3).await;
    assert_eq!(
        h.relay.documents_loaded().await,
        3,
        "bob's, alice's second and her new one"
    );
    assert_eq!(h.relay.metrics().refusals_for("memory_budget_user"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_whose_documents_spend_its_budget_may_open_no_more() {
    let h = Harness::new(Limits {
        max_document_bytes_per_connection: 16 << 10,
        ..Limits::default()
    });
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    open(&mut conn, 1).await;
    open(&mut conn, 2).await;
    conn.sync(doc_id(3), empty_peer_sync());
    let (message, code, _) = conn.refusal().await;
    assert!(message.starts_with("the connection's budget"), "{message}");
    assert_eq!(code, 1013);
    // The same user's other connection still may.
    let mut other = h.connect("alice", "b");
    other.join().await;
    open(&mut other, 3).await;
    assert_eq!(
        h.relay.metrics().refusals_for("memory_budget_connection"),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_spent_relay_budget_refuses_new_documents_with_try_again_later() {
    let h = Harness::new(Limits {
        max_document_bytes_in_memory: 16 << 10,
        ..Limits::default()
    });
    let mut alice = h.connect("alice", "a");
    alice.join().await;
    open(&mut alice, 1).await;
    open(&mut alice, 2).await;
    let mut bob = h.connect("bob", "b");
    bob.join().await;
    bob.sync(doc_id(3), empty_peer_sync());
    let (message, code, _) = bob.refusal().await;
    assert!(message.starts_with("the relay's budget"), "{message}");
    assert_eq!(code, 1013);
    assert_eq!(h.relay.metrics().refusals_for("memory_budget_relay"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_panic_while_handling_a_frame_still_releases_the_connection() {
    let h = Harness::new(Limits::default());
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    open(&mut conn, 1).await;
    assert_eq!(h.relay.sessions_on(&doc_id(1)).await, 1);
    h.storage.panic_on_append.store(true, Ordering::SeqCst);
    conn.sync(doc_id(2), document_with_a_change());
    let (message, code, _) = conn.refusal().await;
    assert_eq!((message.as_str(), code), ("internal error", 1011));
    conn.ended().await;
    assert_eq!(gauge(&h), 0);
    assert_eq!(h.relay.connections_of("alice"), 0);
    for n in [1, 2] {
        assert_eq!(h.relay.sessions_on(&doc_id(n)).await, 0);
    }
    // The documents it touched left memory (one may be half-changed); storage still serves them.
    assert_eq!(h.relay.documents_loaded().await, 0);
    assert_eq!(h.relay.metrics().refusals_for("panic"), 1);
    h.storage.panic_on_append.store(false, Ordering::SeqCst);
    let mut next = h.connect("alice", "b");
    next.join().await;
    next.sync(doc_id(2), document_with_a_change());
    eventually(async || h.storage.holds(&doc_id(2))).await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_whose_task_is_dropped_releases_its_sessions_and_counts() {
    let h = Harness::new(Limits::default());
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    open(&mut conn, 1).await;
    assert_eq!((gauge(&h), h.relay.connections_of("alice")), (1, 1));
    conn.task.abort();
    eventually(async || gauge(&h) == 0 && h.relay.sessions_on(&doc_id(1)).await == 0).await;
    assert_eq!(h.relay.connections_of("alice"), 0);
}
