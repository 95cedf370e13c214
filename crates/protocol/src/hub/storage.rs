//! Storage as the hub sees it: tasks it asks its driver to carry out over a validated key, and the
//! results the driver feeds back. SQLite, PostgreSQL or a simulation's memory all serve the same
//! tasks; the hub never waits on one.

use automerge::ChangeHash;

use crate::DocumentId;

/// Which stored document a task is about: its id and the user it belongs to. Made only by a hub
/// document, from the id and the owner it checked, so a task never names another user's document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StorageKey {
    document: DocumentId,
    owner: String,
}

impl StorageKey {
    pub(crate) fn new(document: DocumentId, owner: &str) -> Self {
        Self {
            document,
            owner: owner.to_owned(),
        }
    }

    /// The document.
    pub fn document(&self) -> &DocumentId {
        &self.document
    }

    /// The user who owns it: the first append creates the document for them, and storage refuses
    /// an append by anyone else ([`StorageFailure::NotOwner`]).
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// What the hub asks storage to do. Its result goes back through the hub document's matching
/// `handle_*` method: [`Load`](StorageTask::Load) → `handle_loaded`, [`Append`](StorageTask::Append) →
/// `handle_appended`, [`Compact`](StorageTask::Compact) → `handle_compacted`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageTask {
    /// Read the whole document (after a failed write, or when another relay stored changes).
    Load {
        /// Which.
        key: StorageKey,
    },
    /// Append a chunk of changes, after which storage holds `heads`.
    Append {
        /// Which.
        key: StorageKey,
        /// Automerge change bytes (`save_after` of what storage held).
        chunk: Vec<u8>,
        /// The document's heads once the chunk is stored.
        heads: Vec<ChangeHash>,
    },
    /// Replace the snapshot and every chunk so far with `snapshot`, in one transaction.
    Compact {
        /// Which.
        key: StorageKey,
        /// The whole document, saved.
        snapshot: Vec<u8>,
    },
}

impl StorageTask {
    /// The key the task is about.
    pub fn key(&self) -> &StorageKey {
        match self {
            Self::Load { key } | Self::Append { key, .. } | Self::Compact { key, .. } => key,
        }
    }
}

/// A stored document as loaded: enough to rebuild it with `load` + `load_incremental`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The user who stored it first.
    pub owner: String,
    /// The compacted document (empty before the first compaction).
    pub snapshot: Vec<u8>,
    /// Changes appended since, in order.
    pub chunks: Vec<Vec<u8>>,
    /// The heads of all of it (empty if written before heads were recorded).
    pub heads: Vec<ChangeHash>,
}

impl StoredDocument {
    /// Bytes stored: the snapshot and every chunk.
    pub fn size(&self) -> u64 {
        let chunks: usize = self.chunks.iter().map(Vec::len).sum();
        (self.snapshot.len() + chunks) as u64
    }
}

/// Why a storage task failed, as far as the hub's decisions go (the driver logs the details).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageFailure {
    /// The database refused or failed: nothing of the task is known to be stored.
    #[error("storage unavailable")]
    Unavailable,
    /// The document is another user's (two users raced to create one id).
    #[error("the document belongs to another user")]
    NotOwner,
}
