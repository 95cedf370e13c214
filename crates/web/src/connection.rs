//! The sync task's connection loop: connect, join, hand frames to the sync state (`sync.rs`), send
//! what it has ready when kicked, and reconnect with backoff and jitter; stop while offline.

use std::rc::Rc;

use chatsync_protocol::Message;
use futures_channel::mpsc;
use futures_util::{FutureExt, StreamExt, select};
use gloo_timers::future::TimeoutFuture;

use crate::error::StoreError;
use crate::inner::StoreInner;
use crate::socket::{Socket, SocketEvent};
use crate::sync::Kick;
use crate::util::random_hex;

const MIN_BACKOFF_MS: u32 = 500;
const MAX_BACKOFF_MS: u32 = 30_000;

/// The peer id of a store instance: one per tab, like its actor.
pub(crate) fn new_peer_id() -> String {
    format!("chatsync-web-{}", random_hex(8))
}

/// The sync task of a store: connects, syncs, reconnects, until the store closes.
pub(crate) async fn run(inner: Rc<StoreInner>, mut kicks: mpsc::UnboundedReceiver<Kick>) {
    let Some(relay) = inner.relay.clone() else {
        return;
    };
    let mut enabled = browser_online();
    let mut backoff = MIN_BACKOFF_MS;
    loop {
        if inner.closed.get() {
            return;
        }
        if !enabled {
            match kicks.next().await {
                Some(Kick::Online(on)) => enabled = on,
                Some(Kick::Close) | None => return,
                Some(Kick::Poll) => {}
            }
            continue;
        }
        let url = with_token(&relay.url, relay.token.as_deref());
        let (socket, mut events) = match Socket::connect(&url) {
            Ok(pair) => pair,
            Err(e) => {
                inner.emit_error(&e, None);
                return;
            }
        };
        let socket = Rc::new(socket);
        inner.sync.borrow_mut().socket = Some(Rc::clone(&socket));
        let mut joined = false;
        loop {
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
                            backoff = MIN_BACKOFF_MS;
                        }
                    }
                    Some(SocketEvent::Closed { code, reason }) => {
                        if joined {
                            web_sys::console::info_1(&format!("chatsync: relay connection closed ({code} {reason}); reconnecting").into());
                        }
                        break;
                    }
                    None => break,
                },
                kick = kicks.next() => match kick {
                    Some(Kick::Poll) => inner.poll_all(),
                    Some(Kick::Online(true)) => {}
                    Some(Kick::Online(false)) => { enabled = false; break; }
                    Some(Kick::Close) | None => { inner.disconnected(); return; }
                },
            }
        }
        drop(socket);
        inner.disconnected();
        if !enabled {
            continue;
        }
        if !joined
            && matches!(
                crate::me::index_id(&relay).await,
                Err(StoreError::Unauthorized)
            )
        {
            // A browser sees a refused WebSocket only as a close; the HTTP API says why. Retrying a
            // refused token cannot help: stay offline until the app switches sync on again.
            inner.emit_error(&StoreError::Unauthorized, None);
            enabled = false;
            continue;
        }
        // Back off before the next attempt; an `online` event or the app's switch retries at once.
        let delay = backoff + (f64::from(backoff) * 0.5 * js_sys::Math::random()) as u32;
        backoff = (backoff * 2).min(MAX_BACKOFF_MS);
        let mut sleep = TimeoutFuture::new(delay).fuse();
        loop {
            select! {
                () = sleep => break,
                kick = kicks.next() => match kick {
                    Some(Kick::Online(on)) => { enabled = on; backoff = MIN_BACKOFF_MS; break; }
                    Some(Kick::Close) | None => return,
                    Some(Kick::Poll) => {}
                },
            }
        }
    }
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
