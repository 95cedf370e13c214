//! Where a [`Link`](super::Link)'s connection is: dialing, joining, joined, or waiting to dial again.

use std::time::Duration;

use super::CredentialsRefusal;
use super::documents::Relay;

/// The connection state of a link, for a status line and for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The driver was asked to open a socket ([`LinkEvent::Dial`](super::LinkEvent::Dial)).
    Dialing,
    /// The socket is open and `join` is sent; the relay has not answered yet.
    Joining,
    /// The relay answered `join`: documents sync.
    Joined {
        /// The relay's peer id (the `targetId` of what this link sends).
        relay_peer: String,
        /// The relay's storage id, if it has one.
        relay_storage: Option<String>,
    },
    /// No socket; the next dial is due at `retry_at`.
    Waiting {
        /// When [`Link::handle_timeout`](super::Link::handle_timeout) asks for the dial.
        retry_at: Duration,
    },
    /// The relay refused the credentials: no dial until
    /// [`Link::credentials_renewed`](super::Link::credentials_renewed), and then not before
    /// `earliest` (so credentials refused again and again cannot make the link dial in a loop).
    NeedsCredentials {
        /// Expired or refused.
        refusal: CredentialsRefusal,
        /// The backoff deadline that applies once credentials are renewed.
        earliest: Duration,
    },
    /// [`Link::close`](super::Link::close) was called: the link does nothing more.
    Closed,
}

impl ConnectionState {
    /// Whether documents sync now.
    pub fn is_joined(&self) -> bool {
        matches!(self, Self::Joined { .. })
    }

    /// The relay's storage id while joined.
    pub(crate) fn relay_storage(&self) -> Option<&str> {
        match self {
            Self::Joined { relay_storage, .. } => relay_storage.as_deref(),
            _ => None,
        }
    }

    /// The relay while joined, as the documents need it.
    pub(crate) fn relay(&self) -> Option<Relay<'_>> {
        match self {
            Self::Joined {
                relay_peer,
                relay_storage,
            } => Some(Relay {
                peer: relay_peer,
                storage: relay_storage.as_deref(),
            }),
            _ => None,
        }
    }
}
