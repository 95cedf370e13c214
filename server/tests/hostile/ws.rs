//! A client WebSocket to a relay, speaking just enough of the protocol to store a document and to
//! see how the relay answers a hostile frame. Shared by the suite and the probe.

use std::net::SocketAddr;
use std::time::Duration;

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ROOT};
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any answer may take. Generous for a debug build on a shared machine; the hostile cases
/// held a release relay for seconds, or forever.
pub const PROMPTLY: Duration = Duration::from_secs(3);

/// How the relay answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It closed the socket, with this code.
    Closed(Option<u16>),
    /// It answered with a message of this type, as if the input were fine.
    Answered(&'static str),
    /// The socket ended without a close frame (the connection's task died).
    Ended,
}

/// A WebSocket of `user` to the relay at `addr` (development auth: the token is the user id), not
/// yet joined.
pub async fn connect(addr: SocketAddr, user: &str) -> Ws {
    let url = format!("ws://{addr}/sync?token={user}");
    let (stream, _) = tokio::time::timeout(PROMPTLY, tokio_tungstenite::connect_async(url))
        .await
        .expect("the relay did not accept a WebSocket in time")
        .expect("connect");
    Ws {
        stream,
        peer: format!("{user}-device"),
    }
}

/// One client WebSocket.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub peer: String,
}

impl Ws {
    pub async fn send(&mut self, frame: Vec<u8>) {
        self.stream
            .send(WsMessage::Binary(frame.into()))
            .await
            .unwrap();
    }

    /// Joins, and reads the relay's `peer`.
    pub async fn join(&mut self) {
        let join = Message::Join {
            sender_id: self.peer.clone(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec!["1".into()],
        };
        self.send(join.encode()).await;
        assert!(matches!(self.message().await, Message::Peer { .. }));
    }

    pub async fn sync(&mut self, document_id: DocumentId, data: Vec<u8>) {
        let sync = Message::Sync {
            sender_id: self.peer.clone(),
            target_id: "relay".into(),
            document_id,
            data,
        };
        self.send(sync.encode()).await;
    }

    /// The next wire message from the relay.
    pub async fn message(&mut self) -> Message {
        loop {
            let frame = tokio::time::timeout(PROMPTLY, self.stream.next())
                .await
                .expect("the relay said nothing in time")
                .expect("the socket ended")
                .expect("the socket failed");
            if let WsMessage::Binary(bytes) = frame {
                return Message::decode(&bytes).unwrap();
            }
        }
    }

    /// How the relay answers what was just sent: the first thing it sends besides an `error`.
    pub async fn outcome(&mut self) -> Outcome {
        loop {
            match self.stream.next().await {
                Some(Ok(WsMessage::Close(frame))) => {
                    return Outcome::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(WsMessage::Binary(bytes))) => match Message::decode(&bytes) {
                    Ok(Message::Error { .. }) => {}
                    Ok(message) => return Outcome::Answered(message.type_name()),
                    Err(_) => return Outcome::Answered("garbage"),
                },
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return Outcome::Ended,
            }
        }
    }

    /// Syncs a document of `changes` changes to the relay until the relay has acknowledged it all.
    pub async fn store(&mut self, document_id: DocumentId, changes: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        for i in 0..changes {
            doc.put(ROOT, format!("key{i}"), i as i64).unwrap();
            doc.commit();
        }
        let mut session = DocSession::new();
        for _ in 0..20 {
            while let Some(data) = session.poll_message(&mut doc, 0) {
                self.sync(document_id, data).await;
            }
            match self.message().await {
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

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
        // Read to the end, so the relay's side has seen the close.
        while let Some(Ok(_)) = self.stream.next().await {}
    }
}
