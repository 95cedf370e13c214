//! Sharing over the HTTP API: the owner grants read or write access and takes it back, a grantee's
//! writes merge with the owner's, a read-only grantee's writes are refused, only the owner shares;
//! read-only share links read their one thread until revoked or expired, and forged ones are refused.

use serde_json::{Value, json};

use crate::support::{Api, TestRelay};

async fn thread_of(api: &Api, title: &str) -> String {
    let created = api
        .mutation("threads:create", json!({ "title": title }))
        .await;
    created.value()["id"].as_str().unwrap().to_owned()
}

fn contents(view: &Value) -> Vec<String> {
    let mut contents: Vec<String> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    contents.sort();
    contents
}

#[tokio::test]
async fn a_write_grantee_edits_alongside_the_owner_and_sees_it_in_their_list() {
    let relay = TestRelay::start().await;
    let (alice, bob) = (relay.api("alice"), relay.api("bob"));
    let t = thread_of(&alice, "plans").await;
    // Before the grant, bob is told it does not exist.
    let before = bob.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(before.error(404), "not_found");
    let granted = alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "bob", "access": "write" }),
        )
        .await;
    assert_eq!(granted.value()["access"], "write");
    assert_eq!(granted.value()["sharedBy"], "alice");
    // Both write at once: both messages are kept.
    let (a, b) = tokio::join!(
        alice.mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "from alice" })
        ),
        bob.mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "from bob" })
        ),
    );
    a.value();
    b.value();
    for api in [&alice, &bob] {
        let view = api.query("threads:get", json!({ "threadId": t })).await;
        assert_eq!(contents(view.value()), ["from alice", "from bob"]);
    }
    let shared = bob.query("threads:listShared", json!({})).await;
    let shared = shared.value().as_array().unwrap().clone();
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(shared[0]["id"], t.as_str());
    assert_eq!(shared[0]["sharedBy"], "alice");
    assert_eq!(shared[0]["access"], "write");
    assert_eq!(shared[0]["title"], "plans");
    // Bob's own list is his own; the owner's list shows bob's message.
    let own = bob.query("threads:list", json!({})).await;
    assert!(own.value().as_array().unwrap().is_empty());
    let grants = alice
        .query("threads:shares", json!({ "threadId": t }))
        .await;
    assert_eq!(grants.value()[0]["userId"], "bob");
    relay.stop().await;
}

#[tokio::test]
async fn a_read_grantee_reads_and_every_write_of_theirs_is_refused() {
    let relay = TestRelay::start().await;
    let (alice, bob) = (relay.api("alice"), relay.api("bob"));
    let t = thread_of(&alice, "notes").await;
    alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "bob", "access": "read" }),
        )
        .await
        .value();
    bob.query("threads:get", json!({ "threadId": t }))
        .await
        .value();
    let refused = bob
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "sneaky" }),
        )
        .await;
    assert_eq!(refused.error(403), "forbidden");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("read-only"),
        "{}",
        refused.body
    );
    let title = bob
        .mutation(
            "threads:setTitle",
            json!({ "threadId": t, "title": "mine" }),
        )
        .await;
    assert_eq!(title.error(403), "forbidden");
    let view = alice.query("threads:get", json!({ "threadId": t })).await;
    assert!(view.value()["messages"].as_array().unwrap().is_empty());
    assert_eq!(view.value()["title"], "notes");
    relay.stop().await;
}

#[tokio::test]
async fn a_revoked_grantee_is_refused_from_then_on() {
    let relay = TestRelay::start().await;
    let (alice, bob) = (relay.api("alice"), relay.api("bob"));
    let t = thread_of(&alice, "plans").await;
    alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "bob", "access": "write" }),
        )
        .await
        .value();
    bob.mutation(
        "messages:append",
        json!({ "threadId": t, "role": "user", "content": "before" }),
    )
    .await
    .value();
    let revoked = alice
        .mutation("threads:unshare", json!({ "threadId": t, "userId": "bob" }))
        .await;
    assert_eq!(revoked.value()["revoked"], true);
    let write = bob
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "after" }),
        )
        .await;
    assert_eq!(write.error(404), "not_found");
    let read = bob.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(read.error(404), "not_found");
    let listed = bob.query("threads:listShared", json!({})).await;
    assert!(listed.value().as_array().unwrap().is_empty());
    let view = alice.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(contents(view.value()), ["before"]);
    relay.stop().await;
}

#[tokio::test]
async fn only_the_owner_shares_and_bad_arguments_are_named() {
    let relay = TestRelay::start().await;
    let (alice, bob, carol) = (relay.api("alice"), relay.api("bob"), relay.api("carol"));
    let t = thread_of(&alice, "plans").await;
    let stranger = carol
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "dave", "access": "write" }),
        )
        .await;
    assert_eq!(stranger.error(404), "not_found");
    alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "bob", "access": "write" }),
        )
        .await
        .value();
    for (path, args) in [
        (
            "threads:share",
            json!({ "threadId": t, "userId": "carol", "access": "write" }),
        ),
        (
            "threads:unshare",
            json!({ "threadId": t, "userId": "alice" }),
        ),
        ("threads:createShareLink", json!({ "threadId": t })),
    ] {
        let refused = bob.mutation(path, args).await;
        assert_eq!(refused.error(403), "forbidden", "{path}");
    }
    let access = alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "carol", "access": "admin" }),
        )
        .await;
    assert_eq!(access.error(400), "invalid_input");
    let himself = alice
        .mutation(
            "threads:share",
            json!({ "threadId": t, "userId": "alice", "access": "read" }),
        )
        .await;
    assert_eq!(himself.error(400), "invalid_input");
    // The user's index is not a thread: it cannot be shared.
    let index = relay.index_of("alice").to_string();
    let refused = alice
        .mutation(
            "threads:share",
            json!({ "threadId": index, "userId": "bob", "access": "read" }),
        )
        .await;
    assert_eq!(refused.error(404), "not_found");
    relay.stop().await;
}

#[tokio::test]
async fn a_share_link_reads_its_thread_only_until_revoked_or_expired_and_a_forged_one_never() {
    let relay = TestRelay::start().await;
    let alice = relay.api("alice");
    let t = thread_of(&alice, "public notes").await;
    let other = thread_of(&alice, "private").await;
    alice
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "hello" }),
        )
        .await
        .value();
    let link = alice
        .mutation("threads:createShareLink", json!({ "threadId": t }))
        .await;
    let link = link.value().clone();
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("csl_"), "{token}");
    let holder = Api {
        addr: relay.api("x").addr,
        token: Some(token.clone()),
    };
    let view = holder.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(contents(view.value()), ["hello"]);
    // It reads that thread, and nothing else.
    let elsewhere = holder
        .query("threads:get", json!({ "threadId": other }))
        .await;
    assert_eq!(elsewhere.error(403), "forbidden");
    let list = holder.query("threads:list", json!({})).await;
    assert_eq!(list.error(403), "forbidden");
    let write = holder
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "x" }),
        )
        .await;
    assert_eq!(write.error(401), "unauthorized");
    // A forged token: another signature, or a link id made up.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [forged, "csl_not.a.token".to_owned()] {
        let forger = Api {
            addr: holder.addr,
            token: Some(bad),
        };
        let refused = forger.query("threads:get", json!({ "threadId": t })).await;
        assert_eq!(refused.error(401), "unauthorized");
    }
    // Revoked: refused from then on.
    let revoked = alice
        .mutation(
            "threads:revokeShareLink",
            json!({ "linkId": link["linkId"] }),
        )
        .await;
    revoked.value();
    let refused = holder.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(refused.error(403), "forbidden");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    // Another user cannot revoke alice's link.
    let bob = relay.api("bob");
    let not_theirs = bob
        .mutation(
            "threads:revokeShareLink",
            json!({ "linkId": link["linkId"] }),
        )
        .await;
    assert_eq!(not_theirs.error(404), "not_found");
    // Expired: refused once its time has passed.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let past = alice
        .mutation(
            "threads:createShareLink",
            json!({ "threadId": t, "expiresAt": now - 1 }),
        )
        .await;
    assert_eq!(past.error(400), "invalid_input");
    let short = alice
        .mutation(
            "threads:createShareLink",
            json!({ "threadId": t, "expiresAt": now + 300 }),
        )
        .await;
    let short_holder = Api {
        addr: holder.addr,
        token: Some(short.value()["token"].as_str().unwrap().to_owned()),
    };
    short_holder
        .query("threads:get", json!({ "threadId": t }))
        .await
        .value();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let expired = short_holder
        .query("threads:get", json!({ "threadId": t }))
        .await;
    assert_eq!(expired.error(403), "forbidden");
    assert!(
        expired.body["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    relay.stop().await;
}
