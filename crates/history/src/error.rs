//! [`HistoryError`]: why a history call was refused.

use chatsync_model::ModelError;

/// Why a history call was refused. Each refusal leaves the document as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The bytes are not an Automerge document (or automerge refused an operation).
    #[error("not a thread's Automerge document: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// The model refused the document (e.g. it is no chatsync thread).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A version string that is no version (versions come from `history()`).
    #[error("invalid version {0:?}: versions come from history()")]
    InvalidVersion(String),
    /// A well-formed version that is not in this thread's history.
    #[error("version {0:?} is not in this thread's history")]
    UnknownVersion(String),
    /// The message to restore did not exist at that version.
    #[error("message {message:?} did not exist at version {version:?}")]
    MessageNotFound {
        /// The message.
        message: String,
        /// The version.
        version: String,
    },
}

impl HistoryError {
    /// The stable code JavaScript sees as `error.code` (the same codes as the store's errors).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Automerge(_) => "corrupt_document",
            Self::Model(e) => e.code(),
            Self::InvalidVersion(_) => "invalid_input",
            Self::UnknownVersion(_) | Self::MessageNotFound { .. } => "not_found",
        }
    }
}
