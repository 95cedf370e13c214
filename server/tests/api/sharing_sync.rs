//! Sharing on `/sync`, with native clients as the owner's and the grantee's devices: a write
//! grantee's and the owner's edits merge live; a read-only grantee receives changes but its own are
//! refused and never stored; a revoked grantee hears nothing more and its later writes are refused,
//! while what it holds stays on its device.

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use chatsync_protocol::DocumentId;
use chatsync_relay::storage::Storage;
use serde_json::json;

use crate::support::TestRelay;

const WAIT: Duration = Duration::from_secs(5);
/// How long a change that must not arrive is waited for.
const QUIET: Duration = Duration::from_millis(600);

async fn shared_thread(relay: &TestRelay, access: &str) -> DocumentId {
    let alice = relay.api("alice");
    let created = alice
        .mutation("threads:create", json!({ "title": "shared" }))
        .await;
    let t = created.value()["id"].as_str().unwrap().to_owned();
    alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "bob", "access": access }),
        )
        .await
        .value();
    t.parse().unwrap()
}

fn put(key: &'static str) -> impl FnOnce(&mut automerge::AutoCommit) + Send + 'static {
    move |doc| {
        doc.put(ROOT, key, key).unwrap();
    }
}

/// Whether storage holds `key` at the root of `id`.
async fn stored_has(relay: &TestRelay, id: &DocumentId, key: &str) -> bool {
    let stored = relay.relay.storage().load(id).await.unwrap().unwrap();
    let mut doc = automerge::AutoCommit::load(&stored.snapshot).unwrap();
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).unwrap();
    }
    doc.get(ROOT, key).unwrap().is_some()
}

#[tokio::test]
async fn a_write_grantee_and_the_owner_edit_at_once_and_both_hear_both() {
    let relay = TestRelay::start().await;
    let id = shared_thread(&relay, "write").await;
    let (alice, bob) = (
        relay.client("alice", "alice-laptop").await,
        relay.client("bob", "bob-phone").await,
    );
    alice.find(id, WAIT).await.unwrap();
    bob.find(id, WAIT).await.unwrap();
    let (a, b) = tokio::join!(alice.change(id, put("alice")), bob.change(id, put("bob")));
    let (a, b) = (a.unwrap(), b.unwrap());
    bob.acknowledged(id, b.clone(), WAIT).await.unwrap();
    alice.holds(id, b, WAIT).await.unwrap();
    bob.holds(id, a, WAIT).await.unwrap();
    assert!(stored_has(&relay, &id, "alice").await && stored_has(&relay, &id, "bob").await);
    relay.stop().await;
}

#[tokio::test]
async fn a_read_grantee_hears_changes_and_its_own_are_refused_unstored() {
    let relay = TestRelay::start().await;
    let id = shared_thread(&relay, "read").await;
    let (alice, bob) = (
        relay.client("alice", "alice-laptop").await,
        relay.client("bob", "bob-phone").await,
    );
    alice.find(id, WAIT).await.unwrap();
    bob.find(id, WAIT).await.unwrap();
    let a = alice.change(id, put("alice")).await.unwrap();
    bob.holds(id, a, WAIT).await.unwrap();
    let b = bob.change(id, put("bob")).await.unwrap();
    let acked = bob.acknowledged(id, b, QUIET).await;
    assert!(
        acked.is_err(),
        "a read-only grantee's change was acknowledged"
    );
    assert!(!stored_has(&relay, &id, "bob").await);
    tokio::time::sleep(QUIET).await;
    assert!(
        alice
            .get(id)
            .await
            .unwrap()
            .get(ROOT, "bob")
            .unwrap()
            .is_none()
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_revoked_grantee_hears_nothing_more_and_its_writes_are_refused() {
    let relay = TestRelay::start().await;
    let id = shared_thread(&relay, "write").await;
    let (alice, bob) = (
        relay.client("alice", "alice-laptop").await,
        relay.client("bob", "bob-phone").await,
    );
    alice.find(id, WAIT).await.unwrap();
    bob.find(id, WAIT).await.unwrap();
    let before = alice.change(id, put("before")).await.unwrap();
    bob.holds(id, before, WAIT).await.unwrap();
    relay
        .api("alice")
        .mutation(
            "threads:unshare",
            json!({ "threadId": id.to_string(), "userId": "bob" }),
        )
        .await
        .value();
    let after = alice.change(id, put("after")).await.unwrap();
    alice.acknowledged(id, after.clone(), WAIT).await.unwrap();
    assert!(
        bob.holds(id, after, QUIET).await.is_err(),
        "a revoked grantee heard a change"
    );
    let late = bob.change(id, put("late")).await.unwrap();
    assert!(bob.acknowledged(id, late, QUIET).await.is_err());
    assert!(!stored_has(&relay, &id, "late").await);
    // What bob held stays on his device.
    assert!(
        bob.get(id)
            .await
            .unwrap()
            .get(ROOT, "before")
            .unwrap()
            .is_some()
    );
    // A new device of bob's finds nothing.
    let fresh = relay.client("bob", "bob-tablet").await;
    assert!(fresh.find(id, WAIT).await.is_err());
    relay.stop().await;
}

/// A native client that syncs with a share link as its token.
async fn link_client(
    relay: &TestRelay,
    token: &str,
) -> Result<chatsync_client::Client, chatsync_client::ClientError> {
    let mut config = chatsync_client::ClientConfig::new(
        format!("ws://{}/sync", relay.addr),
        token.to_owned(),
        "link-reader",
    );
    config.min_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_millis(200);
    chatsync_client::Client::connect(config).await
}

#[tokio::test]
async fn a_share_link_syncs_its_thread_read_only_until_revoked_and_a_forged_one_never_connects() {
    let relay = TestRelay::start().await;
    let alice_api = relay.api("alice");
    let created = alice_api
        .mutation("threads:create", json!({ "title": "linked" }))
        .await;
    let t = created.value()["id"].as_str().unwrap().to_owned();
    let other = alice_api
        .mutation("threads:create", json!({ "title": "private" }))
        .await;
    let other: DocumentId = other.value()["id"].as_str().unwrap().parse().unwrap();
    let id: DocumentId = t.parse().unwrap();
    let link = alice_api
        .mutation("threads:createShareLink", json!({ "threadId": t }))
        .await;
    let link = link.value().clone();
    let token = link["token"].as_str().unwrap();
    let alice = relay.client("alice", "alice-laptop").await;
    alice.find(id, WAIT).await.unwrap();
    let reader = link_client(&relay, token).await.unwrap();
    reader.find(id, WAIT).await.unwrap();
    // Only its thread.
    assert!(reader.find(other, Duration::from_secs(2)).await.is_err());
    let a = alice.change(id, put("alice")).await.unwrap();
    reader.holds(id, a, WAIT).await.unwrap();
    // Read-only: its changes are refused, unstored.
    let r = reader.change(id, put("reader")).await.unwrap();
    assert!(reader.acknowledged(id, r, QUIET).await.is_err());
    assert!(!stored_has(&relay, &id, "reader").await);
    // Revoked: nothing more reaches a new session, nor the old one.
    let again = link_client(&relay, token).await.unwrap();
    again.find(id, WAIT).await.unwrap();
    alice_api
        .mutation(
            "threads:revokeShareLink",
            json!({ "linkId": link["linkId"] }),
        )
        .await
        .value();
    let after = alice.change(id, put("after")).await.unwrap();
    alice.acknowledged(id, after.clone(), WAIT).await.unwrap();
    assert!(
        again.holds(id, after, QUIET).await.is_err(),
        "a revoked link heard a change"
    );
    assert!(
        link_client(&relay, token).await.is_err(),
        "a revoked link connected"
    );
    // A forged link never connects.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert!(link_client(&relay, &forged).await.is_err());
    relay.stop().await;
}

#[tokio::test]
async fn an_expired_share_link_is_cut_off_and_never_connects_again() {
    let relay = TestRelay::start().await;
    let alice_api = relay.api("alice");
    let created = alice_api
        .mutation("threads:create", json!({ "title": "brief" }))
        .await;
    let t = created.value()["id"].as_str().unwrap().to_owned();
    let id: DocumentId = t.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let link = alice_api
        .mutation(
            "threads:createShareLink",
            json!({ "threadId": t, "expiresAt": now + 1_500 }),
        )
        .await;
    let token = link.value()["token"].as_str().unwrap().to_owned();
    let alice = relay.client("alice", "alice-laptop").await;
    alice.find(id, WAIT).await.unwrap();
    let reader = link_client(&relay, &token).await.unwrap();
    reader.find(id, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let after = alice.change(id, put("after")).await.unwrap();
    alice.acknowledged(id, after.clone(), WAIT).await.unwrap();
    assert!(
        reader.holds(id, after, QUIET).await.is_err(),
        "an expired link heard a change"
    );
    assert!(
        link_client(&relay, &token).await.is_err(),
        "an expired link connected"
    );
    relay.stop().await;
}
