//! One document's slow IO never holds up another's, and concurrent syncs on one document stay
//! correct: over a storage double whose loads, appends and compactions a test can hold.

mod cases;
mod slow_storage;

use std::sync::Arc;
use std::time::Duration;

use chatsync_protocol::automerge::sync::Message as SyncMessage;
use chatsync_protocol::automerge::{AutoCommit, ChangeHash};
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata};
use chatsync_relay::auth::Auth;
use chatsync_relay::relay::{Frame, Identity, Inbound, Limits, Relay, serve_connection};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use slow_storage::SlowStorage;

/// A relay over [`SlowStorage`].
pub struct Harness {
    pub relay: Arc<Relay<SlowStorage>>,
    pub storage: SlowStorage,
    shutdown: CancellationToken,
}

impl Default for Harness {
    fn default() -> Self {
        Self::with_limits(Limits::default())
    }
}

impl Harness {
    /// A relay with `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        let storage = SlowStorage::default();
        let identity = Identity {
            storage_id: "concurrency".into(),
            index_secret: b"index-secret".to_vec(),
        };
        let relay = Arc::new(Relay::new(
            storage.clone(),
            Auth::InsecureDev,
            limits,
            identity,
        ));
        Self {
            relay,
            storage,
            shutdown: CancellationToken::new(),
        }
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::default()
    }

    /// A joined connection of `user` whose peer holds `doc` of document `id`.
    pub async fn device(&self, user: &str, peer: &str, id: DocumentId, doc: AutoCommit) -> Device {
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
        let mut device = Device {
            to_relay,
            from_relay,
            peer: peer.to_owned(),
            id,
            doc,
            session: DocSession::new(),
        };
        device.send(Message::Join {
            sender_id: peer.to_owned(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec!["1".into()],
        });
        assert!(matches!(device.next().await, Some(Message::Peer { .. })));
        device
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One device: its copy of one document and its sync session with the relay.
pub struct Device {
    to_relay: mpsc::UnboundedSender<Inbound>,
    from_relay: mpsc::UnboundedReceiver<Frame>,
    peer: String,
    id: DocumentId,
    pub doc: AutoCommit,
    session: DocSession,
}

impl Device {
    fn send(&self, message: Message) {
        self.to_relay
            .send(Inbound::Binary(message.encode()))
            .unwrap();
    }

    /// Sends whatever the session has to say (a `sync`).
    pub fn sync(&mut self) {
        while let Some(data) = self.session.poll_message(&mut self.doc, 0) {
            self.send(Message::Sync {
                sender_id: self.peer.clone(),
                target_id: "relay".into(),
                document_id: self.id,
                data,
            });
        }
    }

    /// Asks for the document as a device holding nothing does (a `request`: the cold-load path).
    pub fn request(&mut self) {
        let data = self
            .session
            .poll_message(&mut self.doc, 0)
            .expect("a fresh session has something to say");
        self.send(Message::Request {
            sender_id: self.peer.clone(),
            target_id: "relay".into(),
            document_id: self.id,
            data,
        });
    }

    /// The next message from the relay, or `None` if there is none within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Message> {
        match tokio::time::timeout(wait, self.from_relay.recv()).await {
            Ok(Some(Frame::Binary(bytes))) => Some(Message::decode(&bytes).unwrap()),
            Ok(Some(other)) => panic!("expected a message, got {other:?}"),
            Ok(None) => panic!("the connection ended"),
            Err(_) => None,
        }
    }

    /// Waits (at most 5 s) until the relay closes the connection; its close code. Messages before
    /// the close are skipped.
    pub async fn until_closed(&mut self) -> u16 {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.from_relay.recv()).await {
                Ok(Some(Frame::Close { code, .. })) => return code,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the connection ended without a close"),
                Err(_) => panic!("not closed within 5 s"),
            }
        }
    }

    async fn next(&mut self) -> Option<Message> {
        self.next_within(Duration::from_secs(5)).await
    }

    /// Applies one sync message from the relay; returns the heads it advertised.
    pub fn apply(&mut self, message: Message) -> Vec<ChangeHash> {
        let Message::Sync { data, .. } = message else {
            panic!("expected a sync message, got {message:?}");
        };
        let heads = SyncMessage::decode(&data).unwrap().heads;
        self.session.receive(&mut self.doc, &data).unwrap();
        heads
    }

    /// [`Device::sync`] on a device not borrowed mutably elsewhere (a fresh session's first message).
    pub fn sync_now(mut self) -> Self {
        self.sync();
        self
    }

    /// Sends what the session has to say, then takes the relay's answer and answers it: the
    /// exchange after which a device's changes are on their way (Automerge's first message only
    /// says which heads it has).
    pub async fn offer(&mut self) {
        self.sync();
        let message = self.next().await.expect("no answer within 5 s");
        self.apply(message);
        self.sync();
    }

    /// Receives and answers until the relay advertises `heads` (its acknowledgement), at most 5 s.
    /// `check` sees every advertised set of heads first.
    pub async fn until_acknowledged(
        &mut self,
        heads: &[ChangeHash],
        mut check: impl FnMut(&[ChangeHash]),
    ) {
        loop {
            let message = self.next().await.expect("no acknowledgement within 5 s");
            let advertised = self.apply(message);
            check(&advertised);
            self.sync();
            if heads.iter().all(|h| advertised.contains(h)) {
                return;
            }
        }
    }
}

/// A document with one change, by a fresh actor.
pub fn doc_with(key: &str) -> AutoCommit {
    use chatsync_protocol::automerge::ROOT;
    use chatsync_protocol::automerge::transaction::Transactable;
    let mut doc = AutoCommit::new();
    doc.put(ROOT, key, 1).unwrap();
    doc
}

/// Document id number `n`.
pub fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}
