//! [`DocSession`]: the Automerge sync state between this peer and one other peer, for one document.
//!
//! A passive state machine: feed it the `data` of each `sync`/`request` message received
//! ([`DocSession::receive`]) and ask it for the next payload to send ([`DocSession::poll_message`])
//! until it has none. It owns no document — the caller lends one to each call — and does no IO, so the
//! relay, the native client and the browser share it, and tests drive it over a simulated network.

use std::collections::HashSet;

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};

/// Why a sync payload was refused. The document is unchanged when it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The bytes are not an Automerge sync message.
    #[error("not an Automerge sync message: {0}")]
    Decode(String),
    /// The message decoded but Automerge refused to apply it (e.g. a change that does not parse).
    #[error("Automerge refused the sync message: {0}")]
    Apply(#[from] automerge::AutomergeError),
}

/// Sync state for one (peer, document) pair.
#[derive(Debug, Default)]
pub struct DocSession {
    state: sync::State,
}

impl DocSession {
    /// A session with a peer this document has never synced with (or whose state was lost).
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a received sync payload to `doc`.
    pub fn receive(&mut self, doc: &mut AutoCommit, data: &[u8]) -> Result<(), SyncError> {
        let message = sync::Message::decode(data).map_err(|e| SyncError::Decode(e.to_string()))?;
        doc.sync().receive_sync_message(&mut self.state, message)?;
        Ok(())
    }

    /// The next payload to send the peer, or `None` when it is up to date or a reply is awaited.
    pub fn poll_message(&mut self, doc: &mut AutoCommit) -> Option<Vec<u8>> {
        doc.sync()
            .generate_sync_message(&mut self.state)
            .map(sync::Message::encode)
    }

    /// The heads the peer last advertised, if it has spoken.
    pub fn their_heads(&self) -> Option<&[ChangeHash]> {
        self.state.their_heads.as_deref()
    }

    /// Whether the peer has said it holds every change in `heads` (and so all of their history).
    ///
    /// A peer "holds" a change once its advertised heads are that change or descend from it. For the
    /// relay, whose heads only ever include durably stored changes, this is the acknowledgement.
    pub fn has_acknowledged(&self, doc: &mut AutoCommit, heads: &[ChangeHash]) -> bool {
        let Some(theirs) = &self.state.their_heads else {
            return heads.is_empty();
        };
        // Every change of ours that their heads do not cover; theirs may include changes we lack, which
        // `get_changes` cannot use as a base, so start from the ones we know.
        let known: Vec<ChangeHash> = theirs
            .iter()
            .copied()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .collect();
        let uncovered: HashSet<ChangeHash> =
            doc.get_changes(&known).iter().map(|c| c.hash()).collect();
        heads
            .iter()
            .all(|h| doc.get_change_by_hash(h).is_some() && !uncovered.contains(h))
    }
}
