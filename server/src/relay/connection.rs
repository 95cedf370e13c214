//! One WebSocket connection: the join handshake, then frames in and out until either side closes.
//!
//! Generic over the socket (any `Stream` of [`Inbound`] and `Sink` of [`Frame`]), so tests can drive it
//! with channels and the HTTP layer adapts axum's WebSocket to it.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatsync_protocol::{DocumentId, Message, PeerMetadata};
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::deadlines::{Deadlines, Due, instant_of};
use super::document::Speaker;
use super::outbox::Outbox;
use super::refusal::Refusal;
use super::registration::Registration;
use super::{ConnId, Relay};
use crate::auth::Verified;
use crate::storage::Storage;

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A binary message.
    Binary(Vec<u8>),
    /// A WebSocket ping; the peer's pong (or any frame) shows it is still there.
    Ping(Vec<u8>),
    /// Close the socket with this code and reason.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Why, for people.
        reason: String,
    },
}

impl Frame {
    /// Bytes this frame holds, for the outbox's byte budget.
    pub(crate) fn size(&self) -> usize {
        match self {
            Self::Binary(bytes) | Self::Ping(bytes) => bytes.len(),
            Self::Close { reason, .. } => reason.len(),
        }
    }
}

/// What the socket delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A binary message.
    Binary(Vec<u8>),
    /// A text message (the protocol has none).
    Text,
    /// A ping or pong: nothing to handle (the WebSocket layer answers pings), but the peer is alive.
    Keepalive,
    /// The peer closed.
    Closed,
    /// The socket failed or refused a frame (e.g. over the size limit).
    Error(String),
}

/// Serves one connection of `user`, whose token never expires, until it closes or `shutdown` fires.
pub async fn serve_connection<S, In, Out>(
    relay: Arc<Relay<S>>,
    user: String,
    inbound: In,
    outbound: Out,
    shutdown: CancellationToken,
) where
    S: Storage,
    In: Stream<Item = Inbound> + Unpin,
    Out: Sink<Frame> + Unpin,
{
    let verified = Verified {
        user,
        expires_at: None,
    };
    serve_verified_connection(relay, verified, inbound, outbound, shutdown).await;
}

/// Serves one connection opened with a verified token until it closes, `shutdown` fires, or the token
/// expires (then it is closed with code 4001, "token expired").
///
/// Whatever happens inside — a refusal, a panic while handling a frame, the future being dropped — the
/// connection's bookkeeping is released: its sessions leave their documents, the connection gauge and
/// the user's connection count go down.
pub async fn serve_verified_connection<S, In, Out>(
    relay: Arc<Relay<S>>,
    verified: Verified,
    mut inbound: In,
    mut outbound: Out,
    shutdown: CancellationToken,
) where
    S: Storage,
    In: Stream<Item = Inbound> + Unpin,
    Out: Sink<Frame> + Unpin,
{
    let Verified { user, expires_at } = verified;
    let limits = relay.limits.clone();
    let mut registration = Registration::new(relay.clone(), user.clone());
    let conn = registration.conn();
    let (outbox, mut queued) = Outbox::new(limits.max_queued_frames, limits.max_queued_bytes);
    let mut deadlines =
        Deadlines::new(tokio::time::Instant::now(), &limits, instant_of(expires_at));
    let admitted = registration.admit(limits.max_connections_per_user);
    let mut state = Connection {
        relay: &relay,
        conn,
        user: &user,
        peer_id: None,
        outbox: &outbox,
        documents: registration.documents(),
        window: (Instant::now(), 0, 0),
    };
    tracing::debug!(conn, user, "connection opened");
    // Once refused, the connection reads nothing more: it only sends the error and the close.
    let mut refused = false;
    let mut panicked = false;
    if let Err(refusal) = admitted {
        state.refuse(&refusal);
        refused = true;
    }
    loop {
        tokio::select! {
            frame = inbound.next(), if !refused => {
                deadlines.heard(tokio::time::Instant::now());
                let result = match frame {
                    None | Some(Inbound::Closed) => break,
                    Some(Inbound::Keepalive) => Ok(()),
                    Some(Inbound::Text) => Err(Refusal::Text),
                    Some(Inbound::Error(e)) if is_size_error(&e) => Err(Refusal::Socket(e)),
                    Some(Inbound::Error(e)) => {
                        // A peer that vanishes without a closing handshake is a close, not an offence.
                        tracing::info!(conn, user, error = %e, "connection lost");
                        break;
                    }
                    Some(Inbound::Binary(bytes)) => {
                        // A panic while handling one frame (a bug, or a library refusing hostile
                        // input by panicking) ends this connection, never the bookkeeping.
                        match AssertUnwindSafe(state.handle(&bytes, &mut deadlines)).catch_unwind().await {
                            Ok(result) => result,
                            Err(panic) => {
                                panicked = true;
                                tracing::error!(conn, user, panic = panic_message(&*panic), "a frame's handling panicked");
                                Err(Refusal::Panicked)
                            }
                        }
                    }
                };
                if let Err(refusal) = result {
                    state.refuse(&refusal);
                    refused = true;
                }
            }
            () = tokio::time::sleep_until(deadlines.next_wake()), if !refused => {
                match deadlines.poll(tokio::time::Instant::now()) {
                    Some(Due::Ping) => outbox.send(Frame::Ping(Vec::new())),
                    Some(Due::Close(refusal)) => {
                        state.refuse(&refusal);
                        refused = true;
                    }
                    None => {}
                }
            }
            Some(frame) = queued.recv() => {
                let closing = matches!(frame, Frame::Close { .. });
                // A socket that stops taking frames must not hold the connection forever: give up
                // when its queue overflows, when one frame takes longer than the idle timeout to go
                // out (the peer is gone, or too slow to be served), or when the relay shuts down.
                let sent = tokio::select! {
                    sent = tokio::time::timeout(limits.idle_timeout, outbound.send(frame)) => match sent {
                        Ok(sent) => sent.is_ok(),
                        Err(_) => {
                            relay.metrics.refused("send_timeout");
                            tracing::warn!(conn, user, limit_secs = limits.idle_timeout.as_secs(), "dropping a connection: one frame took longer than the idle timeout to send");
                            false
                        }
                    },
                    () = outbox.overflowed() => {
                        relay.metrics.refused(Refusal::TooSlow.label());
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
                let refusal = Refusal::TooSlow;
                relay.metrics.refused(refusal.label());
                tracing::warn!(conn, user, limit_frames = limits.max_queued_frames, limit_bytes = limits.max_queued_bytes, "closing connection: {refusal}");
                let _ = outbound.send(Frame::Close { code: refusal.close_code(), reason: refusal.to_string() }).await;
                break;
            }
            () = shutdown.cancelled() => {
                let _ = outbound.send(Frame::Close { code: 1001, reason: "relay shutting down".into() }).await;
                break;
            }
        }
    }
    drop(state);
    registration.finish(panicked).await;
    tracing::debug!(conn, user, "connection closed");
}

/// What a caught panic said, for the log.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

struct Connection<'a, S> {
    relay: &'a Arc<Relay<S>>,
    conn: ConnId,
    user: &'a str,
    /// The client's peer id, once it has joined.
    peer_id: Option<String>,
    outbox: &'a Outbox,
    /// Documents this connection has a session on (held by its [`Registration`], which removes the
    /// sessions however the connection ends).
    documents: &'a mut HashSet<DocumentId>,
    /// Start of the current one-second window, and the frames and bytes seen in it.
    window: (Instant, u32, u64),
}

impl<S: Storage> Connection<'_, S> {
    async fn handle(&mut self, bytes: &[u8], deadlines: &mut Deadlines) -> Result<(), Refusal> {
        self.count_frame(bytes.len())?;
        let message = Message::decode(bytes).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let Some(peer_id) = self.peer_id.clone() else {
            self.join(message)?;
            deadlines.joined();
            return Ok(());
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
                self.add_document(document_id)?;
                self.relay
                    .handle_sync(&speaker, document_id, &data, false)
                    .await
            }
            Message::Request {
                document_id, data, ..
            } => {
                self.add_document(document_id)?;
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

    /// Counts a session on `id` against the connection's cap on documents.
    fn add_document(&mut self, id: DocumentId) -> Result<(), Refusal> {
        let max = self.relay.limits.max_documents_per_connection;
        if self.documents.contains(&id) {
            return Ok(());
        }
        if self.documents.len() >= max {
            return Err(Refusal::TooManyDocuments(max));
        }
        self.relay.admit_session(self.documents)?;
        self.documents.insert(id);
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
        self.relay.metrics.refused(refusal.label());
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
