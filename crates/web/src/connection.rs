//! The sync task's connection loop: connect, join, hand frames to the sync state (`sync.rs`), send
//! what it has ready when kicked, and reconnect with backoff and jitter; stop while offline, and while
//! the relay refuses every token the source gives (`token.rs`).

use std::rc::Rc;

use chatsync_protocol::Message;
use futures_channel::mpsc;
use futures_util::{FutureExt, StreamExt, select};
use gloo_timers::future::TimeoutFuture;

use crate::error::StoreError;
use crate::inner::StoreInner;
use crate::socket::{Socket, SocketEvent};
use crate::status::Phase;
use crate::sync::Kick;
use crate::util::random_hex;

const MIN_BACKOFF_MS: u32 = 500;
const MAX_BACKOFF_MS: u32 = 30_000;

/// The peer id of a store instance: one per tab, like its actor.
pub(crate) fn new_peer_id() -> String {
    format!("chatsync-web-{}", random_hex(8))
}

/// How one connection ended.
enum Ended {
    /// The store closed: the task stops.
    Closed,
    /// The token was replaced: reconnect at once.
    Reconnect,
    /// The app or the browser switched sync off.
    SwitchedOff,
    /// The socket closed (or never opened); `expired` when the relay said the token expired.
    Lost { joined: bool, expired: bool },
}

/// The sync task of a store: connects, syncs, reconnects, until the store closes.
pub(crate) async fn run(inner: Rc<StoreInner>, mut kicks: mpsc::UnboundedReceiver<Kick>) {
    let Some(relay) = inner.relay.clone() else {
        return;
    };
    let mut enabled = browser_online();
    // The source gave only a token the relay refused: wait for `setToken` (or the app's switch).
    let mut unauthorized = false;
    // A token already taken from the source for the next attempt.
    let mut next_token = None;
    let mut backoff = MIN_BACKOFF_MS;
    loop {
        if inner.closed.get() {
            return;
        }
        if !enabled || unauthorized {
            inner.set_phase(if enabled {
                Phase::Unauthorized
            } else {
                Phase::Offline
            });
            match kicks.next().await {
                Some(Kick::Online(on)) => {
                    enabled = on;
                    unauthorized &= !on;
                }
                Some(Kick::Reconnect) => unauthorized = false,
                Some(Kick::Close) | None => return,
                Some(Kick::Poll) => {}
            }
            continue;
        }
        inner.set_phase(Phase::Connecting);
        let token = match next_token.take() {
            Some(token) => Ok(token),
            None => relay.tokens.get().await,
        };
        let ended = match token {
            Ok(token) => {
                let url = with_token(&relay.url, token.as_deref());
                let ended = connect(&inner, &url, &mut kicks, &mut backoff).await;
                if let Ended::Lost { joined, expired } = ended
                    && (expired || (!joined && refused(&relay.url, token.as_deref()).await))
                {
                    // Ask the source again: a function may have a fresh token; the same one is
                    // refused still.
                    match relay.tokens.get().await {
                        Ok(fresh) if fresh != token => next_token = Some(fresh),
                        Ok(_) => {
                            inner.emit_error(&StoreError::Unauthorized, None);
                            unauthorized = true;
                            continue;
                        }
                        Err(e) => inner.emit_error(&e, None),
                    }
                }
                ended
            }
            Err(e) => {
                inner.emit_error(&e, None);
                Ended::Lost {
                    joined: false,
                    expired: false,
                }
            }
        };
        match ended {
            Ended::Closed => return,
            Ended::Reconnect => {
                backoff = MIN_BACKOFF_MS;
                continue;
            }
            Ended::SwitchedOff => {
                enabled = false;
                continue;
            }
            Ended::Lost { .. } => {}
        }
        // Back off before the next attempt; an `online` event, the app's switch or a new token
        // retries at once.
        inner.set_phase(Phase::Offline);
        let delay = backoff + (f64::from(backoff) * 0.5 * js_sys::Math::random()) as u32;
        backoff = (backoff * 2).min(MAX_BACKOFF_MS);
        let mut sleep = TimeoutFuture::new(delay).fuse();
        loop {
            select! {
                () = sleep => break,
                kick = kicks.next() => match kick {
                    Some(Kick::Online(on)) => { enabled = on; backoff = MIN_BACKOFF_MS; break; }
                    Some(Kick::Reconnect) => { next_token = None; backoff = MIN_BACKOFF_MS; break; }
                    Some(Kick::Close) | None => return,
                    Some(Kick::Poll) => {}
                },
            }
        }
    }
}

/// One connection, from opening the socket until it ends.
async fn connect(
    inner: &Rc<StoreInner>,
    url: &str,
    kicks: &mut mpsc::UnboundedReceiver<Kick>,
    backoff: &mut u32,
) -> Ended {
    let (socket, mut events) = match Socket::connect(url) {
        Ok(pair) => pair,
        Err(e) => {
            inner.emit_error(&e, None);
            return Ended::Closed;
        }
    };
    let socket = Rc::new(socket);
    inner.sync.borrow_mut().socket = Some(Rc::clone(&socket));
    let mut joined = false;
    let ended = loop {
        select! {
            event = events.next() => match event {
                Some(SocketEvent::Open) => {
                    // Not ephemeral: this store keeps what it syncs.
                    socket.send(&Message::join(&inner.peer_id, false).encode());
                }
                Some(SocketEvent::Frame(bytes)) => {
                    inner.handle_frame(&bytes);
                    if inner.sync.borrow().online && !joined {
                        joined = true;
                        *backoff = MIN_BACKOFF_MS;
                    }
                }
                Some(SocketEvent::Closed { code, reason }) => {
                    if joined {
                        web_sys::console::info_1(&format!("chatsync: relay connection closed ({code} {reason}); reconnecting").into());
                    }
                    break Ended::Lost { joined, expired: code == crate::token::TOKEN_EXPIRED };
                }
                None => break Ended::Lost { joined, expired: false },
            },
            kick = kicks.next() => match kick {
                Some(Kick::Poll) => inner.poll_all(),
                Some(Kick::Online(true)) => {}
                Some(Kick::Online(false)) => break Ended::SwitchedOff,
                Some(Kick::Reconnect) => break Ended::Reconnect,
                Some(Kick::Close) | None => break Ended::Closed,
            },
        }
    };
    drop(socket);
    // Where the connection goes next, set before listeners hear it is down, so they hear one change.
    inner.sync.borrow_mut().phase = match ended {
        Ended::Reconnect => Phase::Connecting,
        _ => Phase::Offline,
    };
    inner.disconnected();
    ended
}

/// Whether a connection that never joined was refused for its token. A browser sees a refused
/// WebSocket only as a close; the HTTP API says why.
async fn refused(relay_url: &str, token: Option<&str>) -> bool {
    matches!(
        crate::me::index_id(relay_url, token).await,
        Err(StoreError::Unauthorized)
    )
}

/// Whether the browser thinks it is online (`navigator.onLine`; true where there is no window).
fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// The sync URL with the token as its `token` query parameter (browsers cannot set WebSocket headers).
fn with_token(url: &str, token: Option<&str>) -> String {
    match token {
        None => url.to_owned(),
        Some(token) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let token = js_sys::encode_uri_component(token);
            format!("{url}{separator}token={token}")
        }
    }
}
