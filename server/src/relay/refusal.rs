//! Why the relay closes a connection: one variant per reason, each with its WebSocket close code, the
//! message the client reads, and a stable label for the `/metrics` counter.

use std::time::Duration;

use crate::storage::StorageError;

/// Which budget of in-memory document bytes was full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BudgetScope {
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
    /// The socket's token reached its `exp`. The contract with clients: close code 4001, reason
    /// exactly "token expired"; the browser store reconnects with a fresh token when it sees it.
    #[error("token expired")]
    TokenExpired,
    #[error("no join message within {} s", .0.as_secs())]
    JoinDeadline(Duration),
    #[error("no frame or pong for {} s", .0.as_secs())]
    Idle(Duration),
    #[error("more than {0} connections for this user; try again later")]
    TooManyConnections(usize),
    #[error("more than {0} documents open on one connection")]
    TooManyDocuments(usize),
    #[error(
        "the {scope}'s budget of {limit} bytes of documents in memory is full; try again later"
    )]
    MemoryBudget { scope: BudgetScope, limit: u64 },
    #[error("too slow to keep up; reconnect to resync")]
    TooSlow,
    #[error("internal error")]
    Panicked,
}

impl Refusal {
    pub(crate) fn close_code(&self) -> u16 {
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
            Self::Storage(_) | Self::Corrupt(_) | Self::Panicked => 1011,
            // The peer has gone quiet: it is most likely gone, and if not, reconnecting is right.
            Self::Idle(_) => 1001,
            // "Try again later": these pass once other connections close or documents are evicted.
            Self::TooManyConnections(_) | Self::MemoryBudget { .. } => 1013,
            Self::TokenExpired => 4001,
        }
    }

    /// The label of this reason in `chatsync_connections_refused_total{reason=…}`.
    pub(crate) fn label(&self) -> &'static str {
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
            Self::Storage(_) => "storage",
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
}
