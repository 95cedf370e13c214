//! One WebSocket connection: the join handshake, then frames in and out until either side closes.
//!
//! Generic over the socket (any `Stream` of [`Inbound`] and `Sink` of [`Frame`]), so tests can drive it
//! with channels and the HTTP layer adapts axum's WebSocket to it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatsync_protocol::{DocumentId, Message, PeerMetadata};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::document::Speaker;
use super::outbox::Outbox;
use super::{Metrics, Relay};
use crate::storage::{Storage, StorageError};

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A binary message.
    Binary(Vec<u8>),
    /// Close the socket with this code and reason.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Why, for people.
        reason: String,
    },
}

/// What the socket delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A binary message.
    Binary(Vec<u8>),
    /// A text message (the protocol has none).
    Text,
    /// The peer closed.
    Closed,
    /// The socket failed or refused a frame (e.g. over the size limit).
    Error(String),
}

/// Why a connection is closed. Each maps to a close code and a message the client can read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("the first message must be join")]
    NotJoined,
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    #[error("invalid sync message: {0}")]
    BadSync(String),
    #[error("document over the size limit of {limit} bytes")]
    DocumentTooLarge { limit: u64 },
    #[error("more than {0} messages per second")]
    Flood(u32),
    #[error("more than {0} bytes per second")]
    ByteFlood(u64),
    #[error("binary frames only")]
    Text,
    #[error("frame refused: {0}")]
    Socket(String),
    #[error("storage unavailable")]
    Storage(#[source] StorageError),
    #[error("stored document is corrupt")]
    Corrupt(String),
    #[error("document unavailable")]
    Unavailable,
}

impl Refusal {
    fn close_code(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::BadSync(_) => 1007,
            Self::NotJoined | Self::Flood(_) | Self::ByteFlood(_) | Self::Unavailable => 1008,
            Self::UnsupportedVersion => 1002,
            Self::DocumentTooLarge { .. } => 1009,
            Self::Text => 1003,
            Self::Socket(_) => 1009,
            Self::Storage(_) | Self::Corrupt(_) => 1011,
        }
    }
}

/// Serves one connection of `user` until it closes or `shutdown` fires.
pub async fn serve_connection<S, In, Out>(
    relay: Arc<Relay<S>>,
    user: String,
    mut inbound: In,
    mut outbound: Out,
    shutdown: CancellationToken,
) where
    S: Storage,
    In: Stream<Item = Inbound> + Unpin,
    Out: Sink<Frame> + Unpin,
{
    let conn = relay.next_conn_id();
    Metrics::inc(&relay.metrics.connections);
    let (outbox, mut queued) = Outbox::new(relay.limits.max_queued_frames);
    let mut state = Connection {
        relay: &relay,
        conn,
        user: &user,
        peer_id: None,
        outbox: &outbox,
        documents: HashSet::new(),
        window: (Instant::now(), 0, 0),
    };
    tracing::debug!(conn, user, "connection opened");
    // Once refused, the connection reads nothing more: it only sends the error and the close.
    let mut refused = false;
    loop {
        tokio::select! {
            frame = inbound.next(), if !refused => {
                let result = match frame {
                    None | Some(Inbound::Closed) => break,
                    Some(Inbound::Text) => Err(Refusal::Text),
                    Some(Inbound::Error(e)) if is_size_error(&e) => Err(Refusal::Socket(e)),
                    Some(Inbound::Error(e)) => {
                        // A peer that vanishes without a closing handshake is a close, not an offence.
                        tracing::info!(conn, user, error = %e, "connection lost");
                        break;
                    }
                    Some(Inbound::Binary(bytes)) => state.handle(&bytes).await,
                };
                if let Err(refusal) = result {
                    state.refuse(&refusal);
                    refused = true;
                }
            }
            Some(frame) = queued.recv() => {
                let closing = matches!(frame, Frame::Close { .. });
                // A socket that stops taking frames must not hold the connection forever: give up
                // when its queue overflows or the relay shuts down.
                let sent = tokio::select! {
                    sent = outbound.send(frame) => sent.is_ok(),
                    () = outbox.overflowed() => {
                        Metrics::inc(&relay.metrics.refusals);
                        tracing::warn!(conn, user, "dropping a connection whose socket stopped taking frames");
                        false
                    }
                    () = shutdown.cancelled() => false,
                };
                if !sent || closing {
                    break;
                }
            }
            () = outbox.overflowed() => {
                Metrics::inc(&relay.metrics.refusals);
                tracing::warn!(conn, user, "closing connection: it cannot keep up with its documents");
                let _ = outbound.send(Frame::Close { code: 1008, reason: "too slow to keep up; reconnect to resync".into() }).await;
                break;
            }
            () = shutdown.cancelled() => {
                let _ = outbound.send(Frame::Close { code: 1001, reason: "relay shutting down".into() }).await;
                break;
            }
        }
    }
    let documents = std::mem::take(&mut state.documents);
    relay.remove_connection(conn, documents).await;
    relay
        .metrics
        .connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(conn, user, "connection closed");
}

struct Connection<'a, S> {
    relay: &'a Relay<S>,
    conn: super::ConnId,
    user: &'a str,
    /// The client's peer id, once it has joined.
    peer_id: Option<String>,
    outbox: &'a Outbox,
    /// Documents this connection has a session on.
    documents: HashSet<DocumentId>,
    /// Start of the current one-second window, and the frames and bytes seen in it.
    window: (Instant, u32, u64),
}

impl<S: Storage> Connection<'_, S> {
    async fn handle(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        self.count_frame(bytes.len())?;
        let message = Message::decode(bytes).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let Some(peer_id) = self.peer_id.clone() else {
            return self.join(message);
        };
        if sender_of(&message) != Some(peer_id.as_str()) {
            // As the reference server does: a frame claiming another sender is ignored.
            tracing::warn!(
                conn = self.conn,
                "ignoring a frame whose senderId is not the joined peer"
            );
            return Ok(());
        }
        let speaker = Speaker {
            conn: self.conn,
            user: self.user,
            peer_id: &peer_id,
            outbox: self.outbox,
        };
        match message {
            Message::Sync {
                document_id, data, ..
            } => {
                self.documents.insert(document_id);
                self.relay
                    .handle_sync(&speaker, document_id, &data, false)
                    .await
            }
            Message::Request {
                document_id, data, ..
            } => {
                self.documents.insert(document_id);
                self.relay
                    .handle_sync(&speaker, document_id, &data, true)
                    .await
            }
            message @ Message::Ephemeral { .. } => {
                self.relay.handle_ephemeral(&speaker, message).await;
                Ok(())
            }
            Message::Leave { .. } => {
                self.outbox.send(Frame::Close {
                    code: 1000,
                    reason: "leave".into(),
                });
                Ok(())
            }
            // Heads gossip, unavailability notices and repeated joins need no answer.
            _ => Ok(()),
        }
    }

    fn join(&mut self, message: Message) -> Result<(), Refusal> {
        let Message::Join {
            sender_id,
            supported_protocol_versions,
            ..
        } = message
        else {
            return Err(Refusal::NotJoined);
        };
        if !supported_protocol_versions.iter().any(|v| v == "1") {
            return Err(Refusal::UnsupportedVersion);
        }
        self.outbox.send(Frame::Binary(
            Message::Peer {
                sender_id: self.relay.peer_id.clone(),
                target_id: sender_id.clone(),
                peer_metadata: PeerMetadata {
                    storage_id: Some(self.relay.storage_id.clone()),
                    is_ephemeral: Some(false),
                },
                selected_protocol_version: "1".into(),
            }
            .encode(),
        ));
        tracing::info!(
            conn = self.conn,
            user = self.user,
            peer = sender_id,
            "peer joined"
        );
        self.peer_id = Some(sender_id);
        Ok(())
    }

    fn count_frame(&mut self, bytes: usize) -> Result<(), Refusal> {
        let now = Instant::now();
        if now.duration_since(self.window.0) >= Duration::from_secs(1) {
            self.window = (now, 0, 0);
        }
        self.window.1 += 1;
        self.window.2 += bytes as u64;
        let limits = &self.relay.limits;
        if self.window.1 > limits.max_frames_per_second {
            return Err(Refusal::Flood(limits.max_frames_per_second));
        }
        if self.window.2 > limits.max_bytes_per_second {
            return Err(Refusal::ByteFlood(limits.max_bytes_per_second));
        }
        Ok(())
    }

    /// Tells the client why, logs it, and closes.
    fn refuse(&self, refusal: &Refusal) {
        Metrics::inc(&self.relay.metrics.refusals);
        tracing::warn!(conn = self.conn, user = self.user, error = ?refusal, "closing connection: {refusal}");
        self.outbox.send(Frame::Binary(
            Message::Error {
                sender_id: self.relay.peer_id.clone(),
                target_id: self.peer_id.clone().unwrap_or_default(),
                message: refusal.to_string(),
            }
            .encode(),
        ));
        self.outbox.send(Frame::Close {
            code: refusal.close_code(),
            reason: refusal.to_string(),
        });
    }
}

/// Whether the socket refused a frame for its size (tungstenite's "Space limit exceeded: Message too
/// long") rather than failing.
fn is_size_error(error: &str) -> bool {
    error.contains("too long") || error.contains("Space limit")
}

fn sender_of(message: &Message) -> Option<&str> {
    match message {
        Message::Join { sender_id, .. }
        | Message::Peer { sender_id, .. }
        | Message::Error { sender_id, .. }
        | Message::Request { sender_id, .. }
        | Message::Sync { sender_id, .. }
        | Message::DocUnavailable { sender_id, .. }
        | Message::Ephemeral { sender_id, .. }
        | Message::RemoteSubscriptionChange { sender_id, .. }
        | Message::RemoteHeadsChanged { sender_id, .. }
        | Message::Leave { sender_id } => Some(sender_id),
        _ => None,
    }
}
