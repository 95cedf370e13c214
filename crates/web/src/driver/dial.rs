//! Dialing: a token from the app's source (`token.rs`) for each attempt, the offline switch, what
//! a closed socket tells the link — a browser sees a refused WebSocket only as a close, so the HTTP
//! API says whether the token was refused — and asking the source again after a refusal.

use chatsync_protocol::{ConnectionState, Disconnect};

use super::{Connection, Driver};
use crate::error::StoreError;
use crate::socket::Socket;

impl Driver {
    /// Opens a socket with a token from the source (the one already fetched, if any) — unless
    /// sync is switched off: then the link waits, and the switch dials again.
    pub(super) async fn dial(&mut self) -> bool {
        if !self.inner.sync().is_enabled() {
            let now = self.inner.sync().now();
            self.inner
                .sync()
                .link()
                .handle_disconnected(now, Disconnect::HungUp);
            return true;
        }
        let token = match self.next_token.take() {
            Some(token) => Ok(token),
            None => self.relay.tokens.get().await,
        };
        let token = match token {
            Ok(token) => token,
            Err(e) => {
                self.inner.emit_error(&e, None);
                let now = self.inner.sync().now();
                self.inner
                    .sync()
                    .link()
                    .handle_disconnected(now, Disconnect::DialFailed);
                return true;
            }
        };
        let url = with_token(&self.relay_urls()[0], token.as_deref());
        self.token = token;
        match Socket::connect(&url) {
            Ok((socket, events)) => {
                self.connection = Some(Connection { socket, events });
                true
            }
            // Not a URL a WebSocket can open: no retry would help.
            Err(e) => {
                self.inner.emit_error(&e, None);
                self.close();
                false
            }
        }
    }

    /// The relay the link says to dial (or dialled last: it moves on when told of the disconnect),
    /// as a list of one.
    fn relay_urls(&self) -> &[String] {
        let relay = self.inner.sync().read_link().relay();
        let urls = &self.relay.urls;
        &urls[relay.min(urls.len() - 1)..][..1]
    }

    /// The socket closed. One that never opened may have been refused for its token: the HTTP
    /// API says, and the link hears it as [`Disconnect::Unauthorized`].
    pub(super) async fn socket_closed(&mut self, code: u16, reason: String) {
        self.connection = None;
        let state = self.inner.sync().read_link().state().clone();
        let reason = match state {
            ConnectionState::Joined { .. } => {
                web_sys::console::info_1(
                    &format!("chatsync: relay connection closed ({code} {reason}); reconnecting")
                        .into(),
                );
                Disconnect::Closed { code, reason }
            }
            ConnectionState::Dialing | ConnectionState::Joining
                if code != chatsync_protocol::TOKEN_EXPIRED =>
            {
                if refused(self.relay_urls(), self.token.as_deref()).await {
                    Disconnect::Unauthorized
                } else if matches!(state, ConnectionState::Dialing) {
                    Disconnect::DialFailed
                } else {
                    Disconnect::Closed { code, reason }
                }
            }
            _ => Disconnect::Closed { code, reason },
        };
        let now = self.inner.sync().now();
        self.inner.sync().link().handle_disconnected(now, reason);
    }

    /// The relay refused the token: the source is asked again — a function may have a fresh one;
    /// the same token is refused still, and the link then stays refused (status `unauthorized`)
    /// until `setToken` or the app's or browser's switch.
    pub(super) async fn credentials_refused(&mut self) {
        let now = self.inner.sync().now();
        match self.relay.tokens.get().await {
            Ok(fresh) if fresh == self.token => {
                self.inner.emit_error(&StoreError::Unauthorized, None);
            }
            Ok(fresh) => {
                self.next_token = Some(fresh);
                self.inner.sync().link().credentials_renewed(now);
            }
            Err(e) => {
                self.inner.emit_error(&e, None);
                self.inner.sync().link().credentials_renewed(now);
            }
        }
    }

    /// Closes the socket, if one is open, and tells the link: on purpose, so the next dial goes to
    /// the same relay.
    pub(super) fn hang_up(&mut self) {
        if self.connection.take().is_some() {
            let now = self.inner.sync().now();
            self.inner
                .sync()
                .link()
                .handle_disconnected(now, Disconnect::HungUp);
        }
    }
}

/// Whether a connection that never joined was refused for its token. A browser sees a refused
/// WebSocket only as a close; the HTTP API says why.
async fn refused(relay_url: &[String], token: Option<&str>) -> bool {
    matches!(
        crate::me::index_id(relay_url, token).await,
        Err(StoreError::Unauthorized)
    )
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
