//! The relay's HTTP surface: health, metrics, and `/api/me`, which tells every device of a user where
//! their thread list lives.

use std::time::Duration;

use chatsync_client::ClientError;
use chatsync_integration::{TestRelay, http_get, init_logging};
use chatsync_model::automerge::ActorId;
use chatsync_model::{Index, ListOptions, ThreadId, ThreadStatus, ThreadSummary};
use chatsync_protocol::DocumentId;

const WAIT: Duration = Duration::from_secs(10);

fn index_id(body: &str) -> DocumentId {
    let key = "\"indexDocumentId\":\"";
    let start = body.find(key).expect(body) + key.len();
    body[start..start + body[start..].find('"').unwrap()]
        .parse()
        .unwrap()
}

#[tokio::test]
async fn health_and_metrics_answer() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    assert_eq!(
        http_get(relay.addr, "/healthz", &[]).await,
        (200, "ok".into())
    );
    let _client = relay.client("alice", "a").await;
    let (status, body) = http_get(relay.addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    for metric in [
        "chatsync_connections 1",
        "chatsync_documents_loaded",
        "chatsync_bytes_stored",
        "chatsync_sync_messages_in_total",
        "chatsync_storage_write_seconds_total",
    ] {
        assert!(body.contains(metric), "{metric} missing from:\n{body}");
    }
    relay.stop().await;
}

#[tokio::test]
async fn api_me_names_the_user_and_their_index_which_every_device_can_find() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let bearer = format!("Bearer {}", relay.token("alice"));
    let (status, body) = http_get(relay.addr, "/api/me", &[("Authorization", &bearer)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"userId\":\"alice\""), "{body}");
    let alice_index = index_id(&body);
    let (_, again) = http_get(
        relay.addr,
        &format!("/api/me?token={}", relay.token("alice")),
        &[],
    )
    .await;
    assert_eq!(index_id(&again), alice_index, "the index id must be stable");
    let (_, bob) = http_get(
        relay.addr,
        &format!("/api/me?token={}", relay.token("bob")),
        &[],
    )
    .await;
    assert_ne!(index_id(&bob), alice_index);

    let (status, body) = http_get(relay.addr, "/api/me", &[]).await;
    assert_eq!(status, 401);
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");

    // Device A starts the thread list; device B, knowing only /api/me, finds it. Bob cannot.
    let a = relay.client("alice", "alice-a").await;
    let mut index = Index::new(ActorId::from(b"alice-a".to_vec()));
    let summary = ThreadSummary {
        id: ThreadId::new("t1").unwrap(),
        title: "First".into(),
        status: ThreadStatus::Active,
        created_at: 1,
        last_activity_at: 1,
        message_count: 0,
        preview: String::new(),
        project_id: None,
        ..ThreadSummary::new(ThreadId::new("t1").unwrap())
    };
    index.upsert(&summary, 1).unwrap();
    let doc = index.with_automerge(|doc| doc.clone());
    let heads = doc.clone().get_heads();
    a.insert(alice_index, doc).await.unwrap();
    a.acknowledged(alice_index, heads, WAIT).await.unwrap();

    let b = relay.client("alice", "alice-b").await;
    b.find(alice_index, WAIT).await.unwrap();
    let listed = b
        .list_threads(alice_index, ListOptions::default())
        .await
        .unwrap();
    assert_eq!(listed, std::slice::from_ref(&summary));

    // B archives it through the model; A's list follows.
    let id = summary.id.clone();
    let (_, heads) = b
        .change_index(alice_index, move |index| {
            index.set_status(&id, ThreadStatus::Archived, 2)
        })
        .await
        .unwrap();
    a.holds(alice_index, heads, WAIT).await.unwrap();
    assert!(
        a.list_threads(alice_index, ListOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
    let all = ListOptions {
        include_archived: true,
        ..ListOptions::default()
    };
    assert_eq!(
        a.list_threads(alice_index, all).await.unwrap()[0].status,
        ThreadStatus::Archived
    );

    let mallory = relay.client("bob", "bob-a").await;
    assert!(matches!(
        mallory.find(alice_index, WAIT).await,
        Err(ClientError::Unavailable(_))
    ));
    relay.stop().await;
}

#[tokio::test]
async fn a_relay_with_real_auth_offers_no_development_login() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(dir.path()).await;
    let (status, body) = http_get(relay.addr, "/api/auth-mode", &[]).await;
    assert_eq!((status, body.as_str()), (200, r#"{"mode":"jwt"}"#));
    let (status, body) = http_get(relay.addr, "/api/dev-login?user=alice", &[]).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("token"), "{body}");
    relay.stop().await;
}
