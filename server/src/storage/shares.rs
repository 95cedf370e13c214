//! Sharing as storage keeps it: who besides its owner may open a document, and with what access
//! ([`Share`]); and the read-only links to one document ([`ShareLink`]), which a signed token names
//! so that the link can be revoked or expire whatever the token says.

use chatsync_protocol::DocumentId;

/// What a grantee may do with a shared document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShareAccess {
    /// Open it and receive its changes; every change of theirs is refused.
    Read,
    /// Read, and write changes that are stored and merged like the owner's.
    Write,
}

impl ShareAccess {
    /// The word stored and shown: `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// The access named `word` (`read` or `write`).
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }
}

/// One grant: `grantee` may open `document` (owned by `owner`) with `access`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The shared document.
    pub document: DocumentId,
    /// Its owner, who granted it.
    pub owner: String,
    /// Who it is shared with.
    pub grantee: String,
    /// What they may do.
    pub access: ShareAccess,
    /// When it was granted (or last changed), ms since the Unix epoch.
    pub granted_at_ms: u64,
}

/// A read-only link to one document. The token handed out names `id` and is signed by the relay;
/// this row decides whether it still opens anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLink {
    /// Random, unguessable; the token carries it.
    pub id: String,
    /// The document it opens, read-only.
    pub document: DocumentId,
    /// The owner who made it.
    pub created_by: String,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// After this (ms since the Unix epoch) it opens nothing; `None`: until revoked.
    pub expires_at_ms: Option<u64>,
    /// Revoked by its owner: it opens nothing.
    pub revoked: bool,
}

/// At most this many threads shared with one user are listed (the newest grants): a user cannot
/// make another's `threads:listShared` unbounded work by sharing thousands of threads with them.
pub(crate) const MAX_LISTED_SHARES: usize = 200;

pub(crate) fn to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

pub(crate) fn from_i64(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
