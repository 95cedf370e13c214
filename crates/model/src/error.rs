//! The one error type of the model: every refused operation says exactly why, and leaves the document
//! as it was.

use automerge::AutomergeError;

/// Why an operation on a thread or index document was refused.
///
/// A refused write never changes the document: every operation validates its input and the current
/// state before it writes anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An id was empty, too long, or held characters outside `A–Z a–z 0–9 _ - . :`.
    #[error("invalid {kind} id {id:?}: {reason}")]
    InvalidId {
        /// What the id names ("thread", "message", …).
        kind: &'static str,
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A field held a value outside its set (an unknown role or status, a rating of 7, …).
    #[error("invalid {field} {value:?}: expected {expected}")]
    InvalidValue {
        /// The field ("role", "status", "rating", …).
        field: &'static str,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// No such message, artifact, tool call, approval or context entry in this document.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// An id that must be new is already used in this document.
    #[error("{kind} {id:?} already exists")]
    AlreadyExists {
        /// What the id names.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A text or JSON value is over the configured [`Limits`](crate::Limits).
    #[error("{field} is too large: {actual} > {limit} (see Limits)")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// The configured limit.
        limit: usize,
        /// The size the write would have produced.
        actual: usize,
    },
    /// The operation is not allowed in the current state (finishing a finished message, deciding a
    /// decided approval, …).
    #[error("cannot {action} {kind} {id:?}: it is {state}")]
    InvalidTransition {
        /// What was acted on.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The state it is in.
        state: String,
        /// What was attempted.
        action: &'static str,
    },
    /// A JSON value had the wrong shape (metadata must be an object).
    #[error("{field} must be {expected}")]
    InvalidJson {
        /// The field.
        field: &'static str,
        /// The shape it must have.
        expected: &'static str,
    },
    /// The thread was purged: its id is a tombstone that refuses every write, so no device brings
    /// it back.
    #[error("thread {id:?} was purged")]
    Purged {
        /// The thread's id.
        id: String,
    },
    /// The document was written by a newer chatsync: it can be read, never written.
    #[error(
        "document has schema version {found}; this build supports up to {supported}, so it is read-only"
    )]
    ReadOnlySchema {
        /// The document's schema version.
        found: u64,
        /// The newest version this build understands.
        supported: u64,
    },
    /// A document claiming the current schema lacks a container it must have (written by a foreign or
    /// buggy peer).
    #[error("the {what} document has no `{missing}` container")]
    Malformed {
        /// Which document ("thread", "index").
        what: &'static str,
        /// The missing container's key.
        missing: &'static str,
    },
    /// The bytes are not an Automerge document, or automerge refused an operation.
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
}

impl ModelError {
    /// A stable, machine-readable code for this error, shared with the JS API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidId { .. }
            | Self::InvalidValue { .. }
            | Self::InvalidJson { .. }
            | Self::TooLarge { .. } => "invalid_input",
            Self::NotFound { .. } => "not_found",
            Self::AlreadyExists { .. } => "already_exists",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::Purged { .. } => "purged",
            Self::ReadOnlySchema { .. } => "read_only_schema",
            Self::Malformed { .. } | Self::Automerge(_) => "corrupt_document",
        }
    }
}
