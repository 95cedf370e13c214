//! Why the relay closes a connection: one variant per reason, each with its WebSocket close code, the
//! message the client reads, and a stable label for the relay's refusal counters.

use std::time::Duration;

use crate::{DecodeError, Message, SyncError};

/// Which budget of in-memory document bytes was spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BudgetScope {
    /// One connection's documents.
    Connection,
    /// All documents of one user.
    User,
    /// Every document the relay holds.
    Relay,
}

impl std::fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connection => "connection",
            Self::User => "user",
            Self::Relay => "relay",
        })
    }
}

/// Why a connection is closed. Each maps to a close code ([`Refusal::close_code`]) and a message the
/// client reads (its `Display`); internal details (a database's error) stay with the driver's log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The frame is not a wire message.
    #[error("malformed message: {0}")]
    Malformed(#[source] DecodeError),
    /// The first message was not `join`.
    #[error("the first message must be join")]
    NotJoined,
    /// `join` offered no protocol version this relay speaks.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// A sync payload was refused (before or by Automerge).
    #[error("invalid sync message: {0}")]
    BadSync(#[source] Box<SyncError>),
    /// The document would outgrow its size limit.
    #[error("document over the size limit of {limit} bytes")]
    DocumentTooLarge {
        /// The limit, in stored bytes.
        limit: u64,
    },
    /// Too many frames in one second.
    #[error("more than {0} messages per second")]
    Flood(u32),
    /// Too many bytes in one second.
    #[error("more than {0} bytes per second")]
    ByteFlood(u64),
    /// A text frame (the protocol has none).
    #[error("binary frames only")]
    Text,
    /// The socket layer refused a frame (over its size limit); its own words.
    #[error("frame refused: {0}")]
    Socket(String),
    /// Storage failed (the driver logs why).
    #[error("storage unavailable")]
    Storage,
    /// What storage holds does not load.
    #[error("stored document is corrupt")]
    Corrupt(#[source] Box<automerge::AutomergeError>),
    /// The document is another user's (found out only when storing).
    #[error("document unavailable")]
    Unavailable,
    /// The socket's token reached its `exp`. The contract with clients: close code 4001, reason
    /// exactly "token expired"; the browser store reconnects with a fresh token when it sees it.
    #[error("token expired")]
    TokenExpired,
    /// No `join` in time.
    #[error("no join message within {} s", .0.as_secs())]
    JoinDeadline(Duration),
    /// Nothing heard (no frame, no pong) in time.
    #[error("no frame or pong for {} s", .0.as_secs())]
    Idle(Duration),
    /// The user has as many connections open as allowed.
    #[error("more than {0} connections for this user; try again later")]
    TooManyConnections(usize),
    /// The connection has sessions on as many documents as allowed.
    #[error("more than {0} documents open on one connection")]
    TooManyDocuments(usize),
    /// A memory budget of documents is spent.
    #[error(
        "the {scope}'s budget of {limit} bytes of documents in memory is full; try again later"
    )]
    MemoryBudget {
        /// Whose budget.
        scope: BudgetScope,
        /// Its size in bytes.
        limit: u64,
    },
    /// The socket does not take frames as fast as they come.
    #[error("too slow to keep up; reconnect to resync")]
    TooSlow,
    /// Handling the frame panicked (a bug, or a library refusing hostile input by panicking).
    #[error("internal error")]
    Panicked,
}

impl Refusal {
    /// The WebSocket close code.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::BadSync(_) => 1007,
            Self::NotJoined
            | Self::Flood(_)
            | Self::ByteFlood(_)
            | Self::Unavailable
            | Self::JoinDeadline(_)
            | Self::TooManyDocuments(_)
            | Self::TooSlow => 1008,
            Self::UnsupportedVersion => 1002,
            Self::DocumentTooLarge { .. } => 1009,
            Self::Text => 1003,
            Self::Socket(_) => 1009,
            Self::Storage | Self::Corrupt(_) | Self::Panicked => 1011,
            // The peer has gone quiet: it is most likely gone, and if not, reconnecting is right.
            Self::Idle(_) => 1001,
            // "Try again later": these pass once other connections close or documents are evicted.
            Self::TooManyConnections(_) | Self::MemoryBudget { .. } => 1013,
            Self::TokenExpired => 4001,
        }
    }

    /// A stable label for this reason (`chatsync_connections_refused_total{reason=…}`).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::NotJoined => "not_joined",
            Self::UnsupportedVersion => "unsupported_version",
            Self::BadSync(_) => "bad_sync",
            Self::DocumentTooLarge { .. } => "document_too_large",
            Self::Flood(_) => "flood",
            Self::ByteFlood(_) => "byte_flood",
            Self::Text => "text",
            Self::Socket(_) => "frame_too_large",
            Self::Storage => "storage",
            Self::Corrupt(_) => "corrupt",
            Self::Unavailable => "unavailable",
            Self::TokenExpired => "token_expired",
            Self::JoinDeadline(_) => "join_deadline",
            Self::Idle(_) => "idle",
            Self::TooManyConnections(_) => "connections_per_user",
            Self::TooManyDocuments(_) => "documents_per_connection",
            Self::MemoryBudget {
                scope: BudgetScope::Connection,
                ..
            } => "memory_budget_connection",
            Self::MemoryBudget {
                scope: BudgetScope::User,
                ..
            } => "memory_budget_user",
            Self::MemoryBudget {
                scope: BudgetScope::Relay,
                ..
            } => "memory_budget_relay",
            Self::TooSlow => "too_slow",
            Self::Panicked => "panic",
        }
    }

    /// What the client is sent: an `error` message naming the reason, then the close.
    pub fn to_close(&self, relay_peer: &str, target_peer: &str) -> Close {
        Close {
            error_frame: Message::Error {
                sender_id: relay_peer.to_owned(),
                target_id: target_peer.to_owned(),
                message: self.to_string(),
            }
            .encode(),
            code: self.close_code(),
            reason: self.to_string(),
            label: self.label(),
        }
    }
}

/// A refusal as the driver carries it out: send `error_frame`, then close with `code` and `reason`,
/// and count it under `label`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// The encoded `error` message.
    pub error_frame: Vec<u8>,
    /// WebSocket close code.
    pub code: u16,
    /// The close reason (the same words as the error message).
    pub reason: String,
    /// [`Refusal::label`].
    pub label: &'static str,
}
