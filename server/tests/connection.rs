//! The connection loop driven through channels (no socket): handshake, refusals with their close
//! codes, ephemeral fan-out, and that one bad connection never disturbs another.

use std::sync::Arc;
use std::time::Duration;

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ROOT, ReadDoc};
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata};
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Frame, Identity, Inbound, Limits, Relay, serve_connection};
use chatsync_relay::storage::SqliteStorage;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Conn {
    to_relay: mpsc::UnboundedSender<Inbound>,
    from_relay: mpsc::UnboundedReceiver<Frame>,
    peer: String,
}

impl Conn {
    async fn send(&mut self, message: Message) {
        self.to_relay
            .send(Inbound::Binary(message.encode()))
            .unwrap();
    }

    /// A `sync` from this connection's peer.
    async fn sync(&mut self, document_id: DocumentId, data: Vec<u8>) {
        let sender_id = self.peer.clone();
        self.send(Message::Sync {
            sender_id,
            target_id: "r".into(),
            document_id,
            data,
        })
        .await;
    }

    /// A `request` from this connection's peer.
    async fn request(&mut self, document_id: DocumentId, data: Vec<u8>) {
        let sender_id = self.peer.clone();
        self.send(Message::Request {
            sender_id,
            target_id: "r".into(),
            document_id,
            data,
        })
        .await;
    }

    async fn send_raw(&mut self, inbound: Inbound) {
        self.to_relay.send(inbound).unwrap();
    }

    async fn next(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(5), self.from_relay.recv())
            .await
            .expect("the relay said nothing")
            .expect("the connection ended")
    }

    async fn next_message(&mut self) -> Message {
        match self.next().await {
            Frame::Binary(bytes) => Message::decode(&bytes).unwrap(),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The error message and close code that end a refused connection.
    async fn refusal(&mut self) -> (String, u16) {
        let message = match self.next_message().await {
            Message::Error { message, .. } => message,
            other => panic!("expected an error, got {other:?}"),
        };
        match self.next().await {
            Frame::Close { code, .. } => (message, code),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    async fn join(&mut self) {
        let peer = self.peer.clone();
        self.send(Message::Join {
            sender_id: peer,
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec!["1".into()],
        })
        .await;
        assert!(matches!(self.next_message().await, Message::Peer { .. }));
    }
}

struct Harness {
    relay: Arc<Relay<SqliteStorage>>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new(limits: Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        let relay = Arc::new(Relay::new(
            storage,
            Auth::InsecureDev,
            limits,
            test_identity(),
        ));
        Self {
            relay,
            shutdown: CancellationToken::new(),
            _dir: dir,
        }
    }

    fn connect(&self, user: &str, peer: &str) -> Conn {
        let (to_relay, inbound) = mpsc::unbounded_channel();
        let (outbound, from_relay) = mpsc::unbounded_channel();
        let inbound = Box::pin(futures_util::stream::unfold(inbound, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        }));
        let outbound = Box::pin(futures_util::sink::unfold(
            outbound,
            |tx, frame: Frame| async move {
                tx.send(frame).map_err(|_| ())?;
                Ok::<_, ()>(tx)
            },
        ));
        tokio::spawn(serve_connection(
            self.relay.clone(),
            user.to_owned(),
            inbound,
            outbound,
            self.shutdown.clone(),
        ));
        Conn {
            to_relay,
            from_relay,
            peer: peer.to_owned(),
        }
    }
}

fn test_identity() -> Identity {
    Identity {
        storage_id: "test".into(),
        index_secret: b"index-secret".to_vec(),
    }
}

fn doc_id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

/// Syncs a one-key document to the relay through `conn`, until the relay has stored it.
async fn store_document(conn: &mut Conn, id: DocumentId) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "hello").unwrap();
    doc.commit();
    let mut session = DocSession::new();
    for _ in 0..10 {
        if let Some(data) = session.poll_message(&mut doc, 0) {
            conn.sync(id, data).await;
        }
        match conn.next_message().await {
            Message::Sync { data, .. } => session.receive(&mut doc, &data).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
        let heads = doc.get_heads();
        if session.has_acknowledged(&mut doc, &heads) {
            return doc;
        }
    }
    panic!("the relay never acknowledged the document");
}

#[tokio::test]
async fn join_is_answered_with_peer_and_the_relays_storage_id() {
    let h = Harness::new(Limits::default()).await;
    let mut conn = h.connect("alice", "alice-a");
    conn.send(Message::Join {
        sender_id: "alice-a".into(),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: vec!["1".into()],
    })
    .await;
    match conn.next_message().await {
        Message::Peer {
            target_id,
            peer_metadata,
            selected_protocol_version,
            ..
        } => {
            assert_eq!(target_id, "alice-a");
            assert_eq!(peer_metadata.storage_id.as_deref(), Some("test"));
            assert_eq!(selected_protocol_version, "1");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_bad_input_is_refused_with_a_reason_and_a_close_code() {
    let h = Harness::new(Limits {
        max_frames_per_second: 20,
        max_document_bytes: 2_000,
        ..Limits::default()
    })
    .await;

    let mut c = h.connect("alice", "p1");
    c.send_raw(Inbound::Binary(vec![0xff, 0x00, 0x13])).await;
    let (message, code) = c.refusal().await;
    assert!(message.starts_with("malformed message"), "{message}");
    assert_eq!(code, 1007);

    let mut c = h.connect("alice", "p2");
    c.send(Message::Leave {
        sender_id: "p2".into(),
    })
    .await;
    assert_eq!(
        c.refusal().await,
        ("the first message must be join".into(), 1008)
    );

    let mut c = h.connect("alice", "p3");
    c.send(Message::Join {
        sender_id: "p3".into(),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: vec!["999".into()],
    })
    .await;
    assert_eq!(
        c.refusal().await,
        ("unsupported protocol version".into(), 1002)
    );

    let mut c = h.connect("alice", "p4");
    c.send_raw(Inbound::Text).await;
    assert_eq!(c.refusal().await.1, 1003);

    let mut c = h.connect("alice", "p5");
    c.send_raw(Inbound::Error(
        "Space limit exceeded: Message too long".into(),
    ))
    .await;
    assert_eq!(c.refusal().await.1, 1009);

    let mut c = h.connect("alice", "p6");
    c.join().await;
    c.sync(doc_id(1), b"junk".to_vec()).await;
    let (message, code) = c.refusal().await;
    assert!(message.starts_with("invalid sync message"), "{message}");
    assert_eq!(code, 1007);

    let mut c = h.connect("alice", "p7");
    c.join().await;
    let mut big = AutoCommit::new();
    // Incompressible text: Automerge deflates large columns, and the limit is on stored bytes.
    let mut seed = 7u64;
    let noise: String = (0..5_000)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'!' + (seed >> 58) as u8)
        })
        .collect();
    big.put(ROOT, "blob", noise).unwrap();
    let mut session = DocSession::new();
    let data = session.poll_message(&mut big, 0).unwrap();
    c.sync(doc_id(2), data).await;
    // The relay asks for the changes; sending them puts the document over the limit.
    let Message::Sync { data: need, .. } = c.next_message().await else {
        panic!("expected the relay's sync reply");
    };
    session.receive(&mut big, &need).unwrap();
    let data = session.poll_message(&mut big, 0).expect("the changes");
    c.sync(doc_id(2), data).await;
    let (message, code) = c.refusal().await;
    assert!(message.contains("size limit"), "{message}");
    assert_eq!(code, 1009);

    let mut c = h.connect("alice", "p8");
    c.join().await;
    for _ in 0..30 {
        c.send(Message::DocUnavailable {
            sender_id: "p8".into(),
            target_id: "r".into(),
            document_id: doc_id(3),
        })
        .await;
    }
    let (message, code) = c.refusal().await;
    assert!(message.contains("messages per second"), "{message}");
    assert_eq!(code, 1008);

    // After all that, a well-behaved connection is served normally.
    let mut good = h.connect("alice", "good");
    good.join().await;
    store_document(&mut good, doc_id(4)).await;
}

#[tokio::test]
async fn ephemeral_messages_reach_the_owners_other_connections_once_and_nobody_else() {
    let h = Harness::new(Limits::default()).await;
    let mut a = h.connect("alice", "alice-a");
    a.join().await;
    store_document(&mut a, doc_id(9)).await;
    let mut b = h.connect("alice", "alice-b");
    b.join().await;
    // B opens the document (a request), so the relay knows B is on it.
    let mut b_doc = AutoCommit::new();
    let mut b_session = DocSession::new();
    let data = b_session.poll_message(&mut b_doc, 0).unwrap();
    b.request(doc_id(9), data).await;
    assert!(matches!(b.next_message().await, Message::Sync { .. }));
    let mut mallory = h.connect("mallory", "mallory");
    mallory.join().await;

    let ephemeral = |count| Message::Ephemeral {
        sender_id: "alice-a".into(),
        target_id: "r".into(),
        document_id: doc_id(9),
        session_id: "s1".into(),
        count,
        data: vec![0xa0],
    };
    a.send(ephemeral(1)).await;
    a.send(ephemeral(1)).await; // a duplicate
    a.send(ephemeral(2)).await;
    for expected in [1, 2] {
        match b.next_message().await {
            Message::Ephemeral {
                sender_id,
                target_id,
                count,
                ..
            } => {
                assert_eq!(
                    (sender_id.as_str(), target_id.as_str(), count),
                    ("alice-a", "alice-b", expected)
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // Mallory neither receives them nor can send into the document.
    let nothing = tokio::time::timeout(Duration::from_millis(200), mallory.from_relay.recv()).await;
    assert!(nothing.is_err(), "mallory received {nothing:?}");
    mallory
        .send(Message::Ephemeral {
            sender_id: "mallory".into(),
            target_id: "r".into(),
            document_id: doc_id(9),
            session_id: "m".into(),
            count: 1,
            data: vec![0xa0],
        })
        .await;
    let nothing = tokio::time::timeout(Duration::from_millis(200), b.from_relay.recv()).await;
    assert!(nothing.is_err(), "mallory reached alice: {nothing:?}");
}

#[tokio::test]
async fn another_users_document_is_reported_exactly_like_a_missing_one() {
    let h = Harness::new(Limits::default()).await;
    let mut alice = h.connect("alice", "alice-a");
    alice.join().await;
    store_document(&mut alice, doc_id(5)).await;
    let mut bob = h.connect("bob", "bob-a");
    bob.join().await;
    for id in [doc_id(5), doc_id(6)] {
        let mut doc = AutoCommit::new();
        let data = DocSession::new().poll_message(&mut doc, 0).unwrap();
        bob.request(id, data).await;
        match bob.next_message().await {
            Message::DocUnavailable {
                document_id,
                target_id,
                ..
            } => {
                assert_eq!((document_id, target_id.as_str()), (id, "bob-a"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away() {
    let h = Harness::new(Limits::default()).await;
    let mut c = h.connect("alice", "a");
    c.join().await;
    h.shutdown.cancel();
    match c.next().await {
        Frame::Close { code, .. } => assert_eq!(code, 1001),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn documents_beyond_the_memory_budget_are_evicted_and_still_served_from_storage() {
    let h = Harness::new(Limits {
        memory_budget_bytes: 1,
        idle_eviction: Duration::from_secs(3600),
        ..Limits::default()
    })
    .await;
    let mut writer = h.connect("alice", "writer");
    writer.join().await;
    for n in 20..40 {
        store_document(&mut writer, doc_id(n)).await;
    }
    assert_eq!(h.relay.documents_loaded().await, 20);
    // Connected documents stay; once the connection is gone they are evicted to fit the budget.
    assert_eq!(h.relay.evict(std::time::Instant::now()).await, 0);
    drop(writer);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.relay.evict(std::time::Instant::now()).await == 0
        && h.relay.documents_loaded().await > 0
    {
        assert!(std::time::Instant::now() < deadline, "nothing was evicted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.relay.documents_loaded().await, 0);

    let mut reader = h.connect("alice", "reader");
    reader.join().await;
    for n in [20, 39] {
        let mut doc = AutoCommit::new();
        let mut session = DocSession::new();
        let data = session.poll_message(&mut doc, 0).unwrap();
        reader.request(doc_id(n), data).await;
        let Message::Sync { data, .. } = reader.next_message().await else {
            panic!("not served")
        };
        session.receive(&mut doc, &data).unwrap();
        let title = doc.get(ROOT, "title").unwrap().map(|(v, _)| v.to_string());
        assert_eq!(title.as_deref(), Some("\"hello\""));
    }
}

#[tokio::test]
async fn a_byte_flood_is_refused() {
    let h = Harness::new(Limits {
        max_bytes_per_second: 1_000,
        ..Limits::default()
    })
    .await;
    let mut c = h.connect("alice", "p");
    c.join().await;
    // Well-formed and harmless on its own (presence for a document nobody has), but large.
    let ephemeral = |count| Message::Ephemeral {
        sender_id: "p".into(),
        target_id: "r".into(),
        document_id: doc_id(50),
        session_id: "s".into(),
        count,
        data: vec![0xa0; 600],
    };
    c.send(ephemeral(1)).await;
    c.send(ephemeral(2)).await;
    let (message, code) = c.refusal().await;
    assert_eq!(message, "more than 1000 bytes per second");
    assert_eq!(code, 1008);
}

#[tokio::test]
async fn a_connection_whose_socket_stops_taking_frames_is_dropped_not_buffered() {
    let h = Harness::new(Limits {
        max_queued_frames: 4,
        ..Limits::default()
    })
    .await;
    let mut writer = h.connect("alice", "writer");
    writer.join().await;
    let mut doc = store_document(&mut writer, doc_id(60)).await;

    // A reader that joins and opens the document, then never reads again.
    let (to_relay, inbound) = mpsc::unbounded_channel();
    let inbound = Box::pin(futures_util::stream::unfold(inbound, |mut rx| async move {
        rx.recv().await.map(|frame| (frame, rx))
    }));
    let delivered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = delivered.clone();
    let stuck = Box::pin(futures_util::sink::unfold((), move |(), _frame: Frame| {
        let count = count.clone();
        async move {
            // The first two frames (peer, the document) go through; then the socket stalls.
            if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2 {
                std::future::pending::<()>().await;
            }
            Ok::<_, ()>(())
        }
    }));
    let reader = tokio::spawn(serve_connection(
        h.relay.clone(),
        "alice".into(),
        inbound,
        stuck,
        h.shutdown.clone(),
    ));
    to_relay
        .send(Inbound::Binary(
            Message::Join {
                sender_id: "reader".into(),
                peer_metadata: PeerMetadata::default(),
                supported_protocol_versions: vec!["1".into()],
            }
            .encode(),
        ))
        .unwrap();
    let mut empty = AutoCommit::new();
    let data = DocSession::new().poll_message(&mut empty, 0).unwrap();
    to_relay
        .send(Inbound::Binary(
            Message::Request {
                sender_id: "reader".into(),
                target_id: "r".into(),
                document_id: doc_id(60),
                data,
            }
            .encode(),
        ))
        .unwrap();

    // The writer keeps changing the document; the reader's queue fills and the relay drops it.
    let mut session = DocSession::new();
    for i in 0..200 {
        doc.put(ROOT, "n", i).unwrap();
        doc.commit();
        if let Some(data) = session.poll_message(&mut doc, 0) {
            writer.sync(doc_id(60), data).await;
        }
        while let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_millis(5), writer.from_relay.recv()).await
        {
            if let Frame::Binary(bytes) = frame
                && let Ok(Message::Sync { data, .. }) = Message::decode(&bytes)
            {
                session.receive(&mut doc, &data).unwrap();
            }
        }
        if reader.is_finished() {
            break;
        }
    }
    tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("the stuck reader was dropped")
        .unwrap();
    // The writer is unaffected.
    assert!(!writer.to_relay.is_closed());
}
