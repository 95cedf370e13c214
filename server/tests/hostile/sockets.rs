//! The HTTP surface over real TCP sockets: silent and half-sent requests, too many connections, large
//! bodies, and `/metrics` served without touching storage. Each case takes a second or two.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chatsync_relay::relay::Limits;
use chatsync_relay::server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Harness, doc_id, get, raw_request, serve_http};

const HEADER_TIMEOUT: Duration = Duration::from_millis(300);

fn quick_limits() -> Limits {
    Limits {
        http_header_timeout: HEADER_TIMEOUT,
        ..Limits::default()
    }
}

/// Reads until the relay closes `stream`; how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the relay held the socket for more than 5 s"),
        }
    }
}

#[tokio::test]
async fn a_silent_tcp_socket_is_closed_at_the_header_timeout() {
    let h = Harness::new(quick_limits());
    let addr = serve_http(&h, ServeOptions::default()).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let waited = closed_after(&mut silent).await;
    assert!(
        waited >= HEADER_TIMEOUT - Duration::from_millis(50),
        "{waited:?}"
    );
    assert_eq!(get(addr, "/healthz").await, (200, "ok".into()));
    assert_eq!(h.relay.metrics().refusals_for("http_header_timeout"), 1);
    h.shutdown.cancel();
}

#[tokio::test]
async fn a_half_sent_request_is_closed_at_the_header_timeout() {
    let h = Harness::new(quick_limits());
    let addr = serve_http(&h, ServeOptions::default()).await;
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ")
        .await
        .unwrap();
    let waited = closed_after(&mut half).await;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // An idle keep-alive connection is bounded the same way after its response.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let waited = closed_after(&mut idle).await;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    h.shutdown.cancel();
}

#[tokio::test]
async fn tcp_connections_beyond_the_cap_are_closed_as_they_are_accepted() {
    let h = Harness::new(Limits {
        max_tcp_connections: 3,
        http_header_timeout: Duration::from_secs(30),
        ..Limits::default()
    });
    let addr = serve_http(&h, ServeOptions::default()).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the relay accept them before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let waited = closed_after(&mut extra).await;
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert!(h.relay.metrics().refusals_for("tcp_connections") >= 1);
    // Once they go, the relay serves again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(addr, "/healthz").await, (200, "ok".into()));
    h.shutdown.cancel();
}

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused_with_413() {
    let h = Harness::new(Limits {
        max_request_body_bytes: 1_000,
        ..quick_limits()
    });
    let addr = serve_http(&h, ServeOptions::default()).await;
    let (status, _) = raw_request(
        addr,
        "POST /api/me HTTP/1.1\r\nHost: relay\r\nConnection: close\r\nContent-Length: 10000000\r\n\r\n",
    )
    .await;
    assert_eq!(status, 413);
    h.shutdown.cancel();
}

#[tokio::test]
async fn metrics_are_served_from_counters_without_touching_storage() {
    let h = Harness::new(quick_limits());
    let addr = serve_http(&h, ServeOptions::default()).await;
    let mut conn = h.connect("alice", "a");
    conn.join().await;
    conn.sync(doc_id(1), {
        use chatsync_protocol::automerge::transaction::Transactable;
        let mut doc = chatsync_protocol::automerge::AutoCommit::new();
        doc.put(chatsync_protocol::automerge::ROOT, "k", "v")
            .unwrap();
        doc.commit();
        chatsync_protocol::whole_document_message(doc.get_heads(), doc.save())
    });
    crate::support::eventually(async || h.storage.holds(&doc_id(1))).await;
    let queries_at_start = h.storage.size_queries.load(Ordering::SeqCst);
    assert_eq!(queries_at_start, 1, "read once at start-up");
    let mut body = String::new();
    for _ in 0..20 {
        let (status, text) = get(addr, "/metrics").await;
        assert_eq!(status, 200);
        body = text;
    }
    assert_eq!(h.storage.size_queries.load(Ordering::SeqCst), 1);
    // The running total matches what storage holds.
    let stored = chatsync_relay::storage::Storage::bytes_stored(&h.storage)
        .await
        .unwrap();
    assert!(
        body.contains(&format!("\nchatsync_bytes_stored {stored}\n")),
        "{stored} bytes stored, metrics say:\n{body}"
    );
    assert!(body.contains("\nchatsync_connections 1\n"), "{body}");
    assert!(body.contains("\nchatsync_documents_loaded 1\n"), "{body}");
    h.shutdown.cancel();
}

#[tokio::test]
async fn metrics_listen_serves_metrics_apart_from_the_api() {
    let h = Harness::new(quick_limits());
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = metrics_listener.local_addr().unwrap();
    let addr = serve_http(
        &h,
        ServeOptions {
            metrics_listener: Some(metrics_listener),
            ..ServeOptions::default()
        },
    )
    .await;
    let (status, body) = get(metrics_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("chatsync_connections"), "{body}");
    assert_eq!(get(addr, "/metrics").await.0, 404);
    assert_eq!(get(addr, "/healthz").await.0, 200);
    h.shutdown.cancel();
}

#[tokio::test]
async fn a_websocket_frame_over_the_default_limit_is_refused_with_1009() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Ws;
    let h = Harness::new(quick_limits());
    let addr = serve_http(&h, ServeOptions::default()).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/sync?token=alice"))
        .await
        .unwrap();
    // 6 MB: what 12 MB of text deflates to in one sync frame, which took the relay to 1.1 GB.
    let _ = socket.send(Ws::Binary(vec![0u8; 6 << 20].into())).await;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Ws::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1009));
    assert_eq!(h.relay.metrics().refusals_for("frame_too_large"), 1);
    h.shutdown.cancel();
}

const SECRET: &[u8] = b"hostile-suite-secret-0123456789";

#[tokio::test]
async fn a_real_socket_is_closed_with_4001_when_its_token_expires() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Ws;
    let auth = chatsync_relay::auth::Auth::jwt(SECRET);
    let h = Harness::with_auth(quick_limits(), auth.clone());
    let addr = serve_http(&h, ServeOptions::default()).await;
    // `exp` has whole seconds: this token expires one to two seconds from now.
    let token = auth.issue(
        "alice",
        Duration::from_secs(2),
        std::time::SystemTime::now(),
    );
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/sync?token={token}"))
            .await
            .unwrap();
    let join = chatsync_protocol::Message::Join {
        sender_id: "a".into(),
        peer_metadata: chatsync_protocol::PeerMetadata::default(),
        supported_protocol_versions: vec!["1".into()],
    };
    socket.send(Ws::Binary(join.encode().into())).await.unwrap();
    let mut error = None;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Ws::Binary(bytes)))) => {
                if let Ok(chatsync_protocol::Message::Error { message, .. }) =
                    chatsync_protocol::Message::decode(&bytes)
                {
                    error = Some(message);
                }
            }
            Ok(Some(Ok(Ws::Close(frame)))) => {
                break frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close, got {other:?}"),
        }
    };
    assert_eq!(error.as_deref(), Some("token expired"));
    assert_eq!(close, Some((4001, "token expired".into())));
    h.shutdown.cancel();
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused_at_the_upgrade() {
    let h = Harness::with_auth(quick_limits(), chatsync_relay::auth::Auth::jwt(SECRET));
    let addr = serve_http(&h, ServeOptions::default()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({ "sub": "alice", "exp": now + 3600, "nbf": now + 600 });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let upgrade = format!(
        "GET /sync?token={token} HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let (status, _) = raw_request(addr, &upgrade).await;
    assert_eq!(status, 401);
    h.shutdown.cancel();
}
