//! What a hub document asks its driver to do after a step, as plain data.

use super::ConnId;
use super::refusal::Close;
use super::storage::StorageTask;

/// The effects of the steps since they were last taken ([`HubDocument::take_effects`]).
///
/// [`HubDocument::take_effects`]: super::HubDocument::take_effects
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct HubEffects {
    /// Frames to send, each to one connection, in order.
    pub transmits: Vec<(ConnId, Vec<u8>)>,
    /// Connections to refuse and close (their sessions on this document are already gone).
    pub closes: Vec<(ConnId, Close)>,
    /// Storage work, to carry out in order; each result goes back to the document.
    pub tasks: Vec<StorageTask>,
    /// The document would load faster compacted: call
    /// [`HubDocument::compact`](super::HubDocument::compact) with
    /// [`Compaction::WhenLarge`](super::Compaction::WhenLarge) when convenient (it saves the
    /// whole document, so off the path of the replies that came with this step).
    pub compaction_due: bool,
    /// The document must leave memory: storage says it is another user's, or could not be read
    /// back after a failed write. Its sessions are gone already.
    pub forget: bool,
}

impl HubEffects {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.transmits.is_empty()
            && self.closes.is_empty()
            && self.tasks.is_empty()
            && !self.compaction_due
            && !self.forget
    }
}
