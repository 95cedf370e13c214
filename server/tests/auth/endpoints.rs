//! The same rules on `/sync` and `/api/me`, end to end over real sockets.

use std::time::Duration;

use chatsync_client::{Client, ClientConfig, ClientError};
use chatsync_relay::auth::TokenRules;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

fn new_document_id() -> chatsync_protocol::DocumentId {
    chatsync_protocol::DocumentId::new_v4(rand::random())
}

#[tokio::test]
async fn sync_and_api_me_accept_provider_tokens_end_to_end() {
    let rsa = SigningKey::rsa("rsa", 0);
    let ec = SigningKey::p256("ec");
    let provider = Provider::start(&[&rsa, &ec]).await;
    let relay = TestRelay::start(jwks_auth(
        jwks_config(&provider.url()),
        TokenRules {
            user_claim: "user_id".into(),
            ..provider_rules()
        },
    ))
    .await;
    let token = rsa.sign(&with(claims("subject"), json!({ "user_id": "alice" })));
    let (status, me) = relay.me(&token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userId"], "alice");
    assert_eq!(
        me["indexDocumentId"],
        relay.relay.index_document_id("alice").to_string()
    );
    // One device writes with an RS256 token, another of the same user reads with an ES256 one.
    let url = format!("ws://{}/sync", relay.addr);
    let laptop = Client::connect(ClientConfig::new(&url, &token, "laptop"))
        .await
        .expect("an RS256 token opens /sync");
    let id = new_document_id();
    let mut doc = chatsync_protocol::automerge::AutoCommit::new();
    {
        use chatsync_protocol::automerge::transaction::Transactable;
        doc.put(chatsync_protocol::automerge::ROOT, "title", "hello")
            .unwrap();
    }
    let heads = doc.get_heads();
    laptop.insert(id, doc).await.unwrap();
    laptop.acknowledged(id, heads, WAIT).await.unwrap();
    let phone_token = ec.sign(&with(claims("subject"), json!({ "user_id": "alice" })));
    let phone = Client::connect(ClientConfig::new(&url, &phone_token, "phone"))
        .await
        .expect("an ES256 token opens /sync");
    phone.find(id, WAIT).await.expect("alice's document");
    // Another user (by the user claim) does not see it.
    let mallory_token = rsa.sign(&with(claims("subject"), json!({ "user_id": "mallory" })));
    let mallory = Client::connect(ClientConfig::new(&url, &mallory_token, "mallory"))
        .await
        .unwrap();
    assert!(mallory.find(id, Duration::from_secs(2)).await.is_err());
}

#[tokio::test]
async fn a_socket_opened_with_a_provider_token_closes_with_4001_when_it_expires() {
    let key = SigningKey::p256("k");
    let provider = Provider::start(&[&key]).await;
    let relay = TestRelay::start(jwks_auth(jwks_config(&provider.url()), provider_rules())).await;
    // `exp` has whole seconds: this token expires one to two seconds from now.
    let token = key.sign(&with(claims("alice"), json!({ "exp": unix_now() + 2 })));
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/sync?token={token}", relay.addr))
            .await
            .expect("upgrade");
    let join = chatsync_protocol::Message::Join {
        sender_id: "a".into(),
        peer_metadata: chatsync_protocol::PeerMetadata::default(),
        supported_protocol_versions: vec!["1".into()],
    };
    socket.send(Ws::Binary(join.encode().into())).await.unwrap();
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Ws::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close, got {other:?}"),
        }
    };
    assert_eq!(close, Some(4001));
}

/// The HTTP status of a `/sync` upgrade with `token`.
async fn upgrade_status(relay: &TestRelay, token: &str) -> u16 {
    match tokio_tungstenite::connect_async(format!("ws://{}/sync?token={token}", relay.addr)).await
    {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn bad_provider_tokens_are_401_on_sync_and_api_me() {
    let key = SigningKey::rsa("k", 0);
    let stranger = SigningKey::rsa("stranger", 1);
    let provider = Provider::start(&[&key]).await;
    let relay = TestRelay::start(jwks_auth(jwks_config(&provider.url()), provider_rules())).await;
    let now = unix_now();
    let bad = [
        stranger.sign(&claims("alice")),
        key.sign(&with(claims("alice"), json!({ "exp": now - 60 }))),
        key.sign(&with(claims("alice"), json!({ "nbf": now + 60 }))),
        key.sign(&with(
            claims("alice"),
            json!({ "iss": "https://else.test/" }),
        )),
        key.sign(&with(claims("alice"), json!({ "aud": "else" }))),
        key.sign(&with(claims("alice"), json!({ "sub": null }))),
    ];
    for token in &bad {
        let (status, body) = relay.me(token).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
        assert_eq!(upgrade_status(&relay, token).await, 401);
    }
    let good = key.sign(&claims("alice"));
    assert_eq!(relay.me(&good).await.0, 200);
    assert_eq!(upgrade_status(&relay, &good).await, 101);
}

#[tokio::test]
async fn a_provider_that_is_down_is_503_auth_unavailable_on_sync_and_api_me() {
    let key = SigningKey::p256("k");
    let provider = Provider::start(&[&key]).await;
    provider.behave(Behaviour::Fail(502));
    let relay = TestRelay::start(jwks_auth(jwks_config(&provider.url()), provider_rules())).await;
    let token = key.sign(&claims("alice"));
    let (status, body) = relay.me(&token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("auth_unavailable"))
    );
    assert!(body["message"].as_str().unwrap().contains("try again"));
    assert_eq!(upgrade_status(&relay, &token).await, 503);
    // A client is told why it could not connect.
    let url = format!("ws://{}/sync", relay.addr);
    match Client::connect(ClientConfig::new(&url, &token, "d")).await {
        Err(ClientError::Connect(reason)) => assert!(reason.contains("503"), "{reason}"),
        other => panic!("{other:?}"),
    }
    provider.behave(Behaviour::Serve);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(relay.me(&token).await.0, 200);
}
