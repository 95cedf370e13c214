//! One WebSocket connection: the join handshake, then frames in and out until either side closes.
//!
//! Generic over the socket (any `Stream` of [`Inbound`] and `Sink` of [`Frame`]), so tests can drive it
//! with channels and the HTTP layer adapts axum's WebSocket to it. What each frame means, and when
//! the connection's clocks fire, the hub connection decides; this loop carries it out.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chatsync_protocol::hub::{Due, HubConnection, Refusal, Route};
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Relay;
use super::outbox::Outbox;
use super::registration::Registration;
use super::sync::{Ended, Speaker};
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
    // The connection's clocks count from its opening, on tokio's clock (which tests can pause).
    let epoch = Instant::now();
    let since = move |at: Instant| at.saturating_duration_since(epoch);
    let expires_at = instant_of(expires_at).map(since);
    let (mut registration, admitted) = Registration::new(relay.clone(), &user, expires_at);
    let conn = registration.hub().id();
    let (outbox, mut queued) = Outbox::new(limits.max_queued_frames, limits.max_queued_bytes);
    tracing::debug!(conn, user, "connection opened");
    // Once refused, the connection reads nothing more: it only sends the error and the close.
    let mut refused = false;
    let mut panicked = false;
    if let Err(refusal) = admitted {
        refuse(&relay, registration.hub(), &outbox, refusal.into());
        refused = true;
    }
    loop {
        let wake = epoch + registration.hub().poll_timeout();
        tokio::select! {
            frame = inbound.next(), if !refused => {
                let now = since(Instant::now());
                let hub = registration.hub_mut();
                let result = match frame {
                    None | Some(Inbound::Closed) => break,
                    Some(Inbound::Keepalive) => {
                        hub.handle_keepalive(now);
                        Ok(())
                    }
                    Some(Inbound::Text) => Err(Refusal::Text.into()),
                    Some(Inbound::Error(e)) if is_size_error(&e) => Err(Refusal::Socket(e).into()),
                    Some(Inbound::Error(e)) => {
                        // A peer that vanishes without a closing handshake is a close, not an offence.
                        tracing::info!(conn, user, error = %e, "connection lost");
                        break;
                    }
                    Some(Inbound::Binary(bytes)) => {
                        // A panic while handling one frame (a bug, or a library refusing hostile
                        // input by panicking) ends this connection, never the bookkeeping.
                        match AssertUnwindSafe(handle(&relay, hub, &outbox, now, &bytes)).catch_unwind().await {
                            Ok(result) => result,
                            Err(panic) => {
                                panicked = true;
                                tracing::error!(conn, user, panic = panic_message(&*panic), "a frame's handling panicked");
                                Err(Refusal::Panicked.into())
                            }
                        }
                    }
                };
                if let Err(ended) = result {
                    refuse(&relay, registration.hub(), &outbox, ended);
                    refused = true;
                }
            }
            () = tokio::time::sleep_until(wake), if !refused => {
                match registration.hub_mut().handle_timeout(since(Instant::now())) {
                    Some(Due::Ping) => outbox.send(Frame::Ping(Vec::new())),
                    Some(Due::Close(refusal)) => {
                        refuse(&relay, registration.hub(), &outbox, refusal.into());
                        refused = true;
                    }
                    _ => {}
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
                let close = registration.hub().refuse(&Refusal::TooSlow);
                relay.metrics.refused(close.label);
                tracing::warn!(conn, user, limit_frames = limits.max_queued_frames, limit_bytes = limits.max_queued_bytes, "closing connection: {}", close.reason);
                let _ = outbound.send(Frame::Close { code: close.code, reason: close.reason }).await;
                break;
            }
            () = shutdown.cancelled() => {
                let _ = outbound.send(Frame::Close { code: 1001, reason: "relay shutting down".into() }).await;
                break;
            }
        }
    }
    registration.finish(panicked).await;
    tracing::debug!(conn, user, "connection closed");
}

/// One binary frame: the hub connection says where it goes, and it goes there.
async fn handle<S: Storage>(
    relay: &Arc<Relay<S>>,
    hub: &mut HubConnection,
    outbox: &Outbox,
    now: Duration,
    bytes: &[u8],
) -> Result<(), Ended> {
    match hub.handle_frame(now, bytes)? {
        Route::Reply(frame) => {
            tracing::info!(
                conn = hub.id(),
                user = hub.user(),
                peer = hub.peer_id(),
                "peer joined"
            );
            outbox.send(Frame::Binary(frame));
            Ok(())
        }
        Route::Sync(request) => {
            relay.with_hub(|relay_hub| relay_hub.open_session(hub, request.document))?;
            let from = Speaker { hub, outbox };
            relay.handle_sync(&from, request).await
        }
        Route::Ephemeral { document, message } => {
            let from = Speaker { hub, outbox };
            relay.handle_ephemeral(&from, document, message).await;
            Ok(())
        }
        Route::Leave => {
            outbox.send(Frame::Close {
                code: 1000,
                reason: "leave".into(),
            });
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Tells the client why, logs it, counts it, and closes.
fn refuse<S: Storage>(relay: &Relay<S>, hub: &HubConnection, outbox: &Outbox, ended: Ended) {
    let close = match ended {
        Ended::Refused(refusal) => {
            tracing::warn!(conn = hub.id(), user = hub.user(), error = ?refusal, "closing connection: {refusal}");
            hub.refuse(&refusal)
        }
        Ended::Closed(close) => {
            tracing::warn!(
                conn = hub.id(),
                user = hub.user(),
                "closing connection: {}",
                close.reason
            );
            close
        }
    };
    relay.metrics.refused(close.label);
    outbox.send(Frame::Binary(close.error_frame));
    outbox.send(Frame::Close {
        code: close.code,
        reason: close.reason,
    });
}

/// What a caught panic said, for the log.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// Whether the socket refused a frame for its size (tungstenite's "Space limit exceeded: Message too
/// long") rather than failing.
fn is_size_error(error: &str) -> bool {
    error.contains("too long") || error.contains("Space limit")
}

/// A wall-clock expiry as an instant of tokio's clock (which tests can pause): `None` stays `None`,
/// a time already past is `now`.
fn instant_of(expires_at: Option<std::time::SystemTime>) -> Option<Instant> {
    let left = expires_at?
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now().checked_add(left)
}
