//! What a [`Link`](super::Link) is told about its socket ([`Disconnect`]) and what it tells its driver
//! ([`LinkEvent`]). Both are plain data: the driver matches on them and does the IO they ask for.

use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};

use crate::{DecodeError, DocumentId, SyncError};

/// Close code with which a relay says the socket's token expired (reason "token expired").
pub const TOKEN_EXPIRED: u16 = 4001;

/// How a socket ended (or failed to open), as the driver saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnect {
    /// The socket could not be opened: no route, refused, a TLS or HTTP failure other than a refusal
    /// of the credentials.
    DialFailed,
    /// The relay refused the WebSocket handshake for the credentials (HTTP 401 or 403).
    Unauthorized,
    /// The peer closed the socket with a close frame.
    Closed {
        /// The WebSocket close code.
        code: u16,
        /// The close reason, for people.
        reason: String,
    },
    /// The socket broke without a close frame (or the driver could not send on it).
    Lost,
    /// The driver closed the socket, or declined to dial, on purpose: its user went offline, or
    /// a new token needs a new connection. Nothing is wrong with the relay: the next dial goes to
    /// the same one.
    HungUp,
}

/// Why the link will not dial again until its driver renews the credentials
/// ([`Link::credentials_renewed`](super::Link::credentials_renewed)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsRefusal {
    /// The relay closed the socket with [`TOKEN_EXPIRED`].
    Expired,
    /// The relay refused the handshake ([`Disconnect::Unauthorized`]).
    Unauthorized,
}

/// Something the driver must act on or may tell its users, from [`Link::poll_event`](super::Link::poll_event).
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkEvent {
    /// Open a socket to the relay now; report the outcome with
    /// [`Link::handle_connected`](super::Link::handle_connected) or
    /// [`Link::handle_disconnected`](super::Link::handle_disconnected).
    Dial,
    /// The relay answered `join`: documents sync from now on.
    Joined {
        /// The relay's peer id.
        relay_peer: String,
        /// The relay's storage id, which saved sync states belong to (none if it keeps nothing).
        relay_storage: Option<String>,
    },
    /// The connection ended. Unless `retry_at` is `None` (see [`LinkEvent::CredentialsRefused`]),
    /// the link asks for a [`LinkEvent::Dial`] at that time by itself.
    Disconnected {
        /// How it ended.
        reason: Disconnect,
        /// When the next dial is due (the clock of the `now` values passed in).
        retry_at: Option<Duration>,
    },
    /// The relay refused the credentials: get new ones, then call
    /// [`Link::credentials_renewed`](super::Link::credentials_renewed). No dial happens until then.
    CredentialsRefused {
        /// Expired, or refused outright.
        refusal: CredentialsRefusal,
    },
    /// The relay sent an `error` message (it closes the socket next).
    RelayError {
        /// What it said.
        message: String,
    },
    /// The relay's advertised heads of a document moved. It advertises only stored changes, so
    /// everything they cover is acknowledged; ask [`Link::acknowledged`](super::Link::acknowledged)
    /// about particular heads.
    Acknowledged {
        /// The document.
        document: DocumentId,
        /// The heads the relay now advertises.
        heads: Vec<ChangeHash>,
    },
    /// A held document received changes from the relay (the driver may repaint or store it).
    Changed {
        /// The document.
        document: DocumentId,
    },
    /// A fetched document arrived whole: the driver holds it from now on (the link already does).
    Fetched {
        /// The document.
        document: DocumentId,
        /// Its content, as the relay sent it.
        doc: Box<AutoCommit>,
    },
    /// The relay does not have the document, or will not show it to this user. A fetch of it ends.
    Unavailable {
        /// The document.
        document: DocumentId,
    },
}

/// Why an input was refused. The link's state is unchanged when it is; the driver logs it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The frame is not a wire message.
    #[error("malformed frame from the relay: {0}")]
    Decode(#[from] DecodeError),
    /// A sync payload for a document was refused.
    #[error("refused a sync message for {document}: {error}")]
    Sync {
        /// The document.
        document: DocumentId,
        /// Why.
        error: Box<SyncError>,
    },
}
