//! The relay with native clients: convergence, cold loads, restarts, isolation between users, tokens.

use std::time::Duration;

use chatsync_client::{ClientConfig, ClientError};
use chatsync_integration::{TestRelay, eventually, new_thread, new_thread_id};
use chatsync_model::{MessageId, NewMessage, ReadAt, Role};

const WAIT: Duration = Duration::from_secs(10);

fn message(id: &str, role: Role, text: &str) -> NewMessage {
    NewMessage::new(MessageId::new(id).unwrap(), role, text)
}

async fn contents(
    client: &chatsync_client::Client,
    id: chatsync_protocol::DocumentId,
) -> Vec<String> {
    match client.thread(id).await {
        Ok(thread) => thread
            .messages(ReadAt::new(0))
            .into_iter()
            .map(|m| m.content)
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn two_devices_of_one_user_converge_and_a_third_cold_loads() {
    chatsync_integration::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let a = relay.client("alice", "alice-a").await;
    let b = relay.client("alice", "alice-b").await;

    let (doc_id, thread_id) = new_thread_id();
    a.create_thread(doc_id, new_thread(thread_id, "alice-a", 1))
        .await
        .unwrap();
    let (_, heads) = a
        .change_thread(doc_id, |t| {
            t.append_message(message("m1", Role::User, "hello from A"), 2)
        })
        .await
        .unwrap();
    a.acknowledged(doc_id, heads, WAIT)
        .await
        .expect("the relay stores and acknowledges A's change");

    b.find(doc_id, WAIT).await.expect("B finds the thread");
    let (_, heads) = b
        .change_thread(doc_id, |t| {
            t.append_message(message("m2", Role::Assistant, "hi from B"), 3)
        })
        .await
        .unwrap();
    b.acknowledged(doc_id, heads, WAIT).await.unwrap();
    assert!(
        eventually(WAIT, || async { contents(&a, doc_id).await.len() == 2 }).await,
        "A never saw B's message"
    );

    let c = relay.client("alice", "alice-c").await;
    c.find(doc_id, WAIT)
        .await
        .expect("a third device cold-loads");
    assert_eq!(contents(&c, doc_id).await, ["hello from A", "hi from B"]);
    relay.stop().await;
}

#[tokio::test]
async fn edits_made_while_the_relay_is_down_sync_after_it_restarts() {
    chatsync_integration::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let addr = relay.addr;
    let a = relay.client("alice", "alice-a").await;
    let b = relay.client("alice", "alice-b").await;
    let (doc_id, thread_id) = new_thread_id();
    a.create_thread(doc_id, new_thread(thread_id, "alice-a", 1))
        .await
        .unwrap();
    let heads = a.get(doc_id).await.unwrap().get_heads();
    a.acknowledged(doc_id, heads, WAIT).await.unwrap();
    b.find(doc_id, WAIT).await.unwrap();

    relay.stop().await;
    // Both devices write while the relay is gone.
    a.change_thread(doc_id, |t| {
        t.append_message(message("a1", Role::User, "offline A"), 10)
    })
    .await
    .unwrap();
    b.change_thread(doc_id, |t| {
        t.append_message(message("b1", Role::User, "offline B"), 11)
    })
    .await
    .unwrap();

    let relay = TestRelay::start_on(dir.path(), addr).await;
    let converged = eventually(WAIT, || async {
        let (x, y) = (contents(&a, doc_id).await, contents(&b, doc_id).await);
        x.len() == 2 && x == y
    })
    .await;
    assert!(
        converged,
        "A {:?} / B {:?}",
        contents(&a, doc_id).await,
        contents(&b, doc_id).await
    );
    relay.stop().await;
}

/// A client resumes its sessions on reconnect from the heads it shared with the relay. A relay that
/// comes back without its data (a fresh data dir) does not hold those heads: the sync reset makes
/// the client send everything again, and a new device then loads the whole thread.
#[tokio::test]
async fn a_relay_that_lost_its_data_gets_everything_back_from_a_resuming_client() {
    chatsync_integration::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let addr = relay.addr;
    let a = relay.client("alice", "alice-a").await;
    let (doc_id, thread_id) = new_thread_id();
    a.create_thread(doc_id, new_thread(thread_id, "alice-a", 1))
        .await
        .unwrap();
    a.change_thread(doc_id, |t| {
        t.append_message(message("a1", Role::User, "before the loss"), 10)
    })
    .await
    .unwrap();
    let heads = a.get(doc_id).await.unwrap().get_heads();
    a.acknowledged(doc_id, heads, WAIT).await.unwrap();
    relay.stop().await;

    let empty = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_on(empty.path(), addr).await;
    // A reconnects on its own (with backoff) and sends the thread again; a new device can then load
    // it. Until then the relay has never heard of it.
    let c = relay.client("alice", "alice-c").await;
    let loaded = eventually(WAIT, || async {
        c.find(doc_id, Duration::from_millis(500)).await.is_ok()
    })
    .await;
    assert!(loaded, "the relay never got the thread back");
    assert_eq!(contents(&c, doc_id).await, ["before the loss"]);
    relay.stop().await;
}

#[tokio::test]
async fn another_user_can_neither_read_write_nor_discover_a_thread() {
    chatsync_integration::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let alice = relay.client("alice", "alice-a").await;
    let (doc_id, thread_id) = new_thread_id();
    alice
        .create_thread(doc_id, new_thread(thread_id.clone(), "alice-a", 1))
        .await
        .unwrap();
    let (_, heads) = alice
        .change_thread(doc_id, |t| {
            t.append_message(message("m1", Role::User, "secret"), 2)
        })
        .await
        .unwrap();
    alice
        .acknowledged(doc_id, heads.clone(), WAIT)
        .await
        .unwrap();

    let bob = relay.client("bob", "bob-a").await;
    let found = bob.find(doc_id, WAIT).await;
    assert!(
        matches!(found, Err(ClientError::Unavailable(_))),
        "bob read alice's thread: {found:?}"
    );

    // Bob writes a document with the same id: the relay treats it as unavailable and stores nothing.
    bob.create_thread(doc_id, new_thread(thread_id, "bob-a", 5))
        .await
        .unwrap();
    let (_, bob_heads) = bob
        .change_thread(doc_id, |t| {
            t.append_message(message("x", Role::User, "injected"), 6)
        })
        .await
        .unwrap();
    let acked = bob
        .acknowledged(doc_id, bob_heads, Duration::from_millis(500))
        .await;
    assert!(
        matches!(acked, Err(ClientError::Timeout(_))),
        "the relay acknowledged bob's write"
    );

    let fresh = relay.client("alice", "alice-b").await;
    fresh.find(doc_id, WAIT).await.unwrap();
    assert_eq!(contents(&fresh, doc_id).await, ["secret"]);
    relay.stop().await;
}

#[tokio::test]
async fn expired_forged_unsigned_and_missing_tokens_are_refused() {
    chatsync_integration::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let expired = relay.auth.issue(
        "alice",
        Duration::from_secs(60),
        std::time::SystemTime::now() - Duration::from_secs(3600),
    );
    let forged = chatsync_relay::auth::Auth::jwt(b"someone-elses-secret-0123456789").issue(
        "alice",
        Duration::from_secs(60),
        std::time::SystemTime::now(),
    );
    let unsigned =
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.";
    for token in [expired.as_str(), forged.as_str(), unsigned, ""] {
        let config = ClientConfig::new(relay.url(), token, "intruder");
        let result = chatsync_client::Client::connect(config).await;
        match result {
            Err(ClientError::Connect(reason)) => assert!(reason.contains("401"), "{reason}"),
            other => panic!("token {token:?} was accepted: {other:?}"),
        }
    }
    relay.stop().await;
}
