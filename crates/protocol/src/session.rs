//! [`DocSession`]: the Automerge sync state between this peer and one other peer, for one document.
//!
//! A passive state machine: feed it the `data` of each `sync`/`request` message received
//! ([`DocSession::receive`]) and ask it for the next payload to send ([`DocSession::poll_message`])
//! until it has none. It owns no document — the caller lends one to each call — and does no IO, so the
//! relay, the native client and the browser share it, and tests drive it over a simulated network.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};

use crate::sync_check::{self, SyncMessageError};

/// Why a sync payload was refused. The document is unchanged when it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The payload declares sizes Automerge would trust and must not (see [`SyncMessageError`]):
    /// refused before Automerge reads it.
    #[error(transparent)]
    Invalid(#[from] SyncMessageError),
    /// Automerge could not decode the payload.
    #[error("not an Automerge sync message: {0}")]
    Decode(#[from] sync::ReadMessageError),
    /// The message decoded but Automerge refused to apply it (e.g. a change that does not parse).
    #[error("Automerge refused the sync message: {0}")]
    Apply(#[from] automerge::AutomergeError),
}

/// Sync state for one (peer, document) pair.
#[derive(Debug, Default)]
pub struct DocSession {
    state: sync::State,
    /// With batching: how long new changes wait for the reply to the message in flight.
    hold_ms: Option<u64>,
    /// When the message now in flight was sent, if it is sure of a reply: it carries changes (the
    /// peer stores them, then advertises its heads) or opens the session. Only such a message holds
    /// new changes back. A message of heads alone, later in a session, often gets
    /// none — a peer with nothing new stays silent — and a change made after it (a reply typed
    /// once the other side's message arrived) would wait out the whole hold.
    in_flight_since: Option<u64>,
    /// A digest of the last payload sent, until a payload is received. Automerge answers a peer whose
    /// `have` names changes it lacks (its sync state is from before this side lost data, or made
    /// up) with a reset message, and answers every later poll with the same reset without waiting
    /// for a reply: a caller polling until `None` would spin forever.
    last_sent: Option<u64>,
}

impl DocSession {
    /// A session with a peer this document has never synced with (or whose state was lost). Every
    /// local change is sent as soon as it is polled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Like [`DocSession::new`], but while a message that awaits a reply is in flight, new local
    /// changes wait up to `hold_ms` for it and then go out together: a writer streaming many small changes
    /// sends one message per round trip instead of one per change. The caller polls again at
    /// [`DocSession::wake_at`].
    pub fn batching(hold_ms: u64) -> Self {
        Self {
            hold_ms: Some(hold_ms),
            ..Self::default()
        }
    }

    /// Resumes a session from [`DocSession::saved_state`], kept from an earlier connection to the same
    /// peer: its first message then says which heads both sides already shared, and carries a bloom
    /// filter of the changes since those rather than of the whole history. Bytes that do not decode,
    /// or name heads `doc` does not hold (its storage lost a write the peer acknowledged), leave the
    /// session fresh: the peer would otherwise never send those changes back. A peer that no longer
    /// holds the saved heads (it lost data) answers with Automerge's sync reset.
    pub fn resume(mut self, saved: &[u8], doc: &mut AutoCommit) -> Self {
        if let Ok(state) = sync::State::decode(saved)
            && holds_all(doc, &state.shared_heads)
        {
            self.state = state;
        }
        self
    }

    /// Makes the first message of this new session ask the peer to start over too: this side
    /// dropped an earlier session with the same peer that the peer keeps (a relay keeps one per
    /// connection and document, and hears of no release). Kept, the peer's side would count what
    /// it sent meanwhile as delivered and its heads as told, and send this session neither.
    /// `understood` is the dropped session's [`DocSession::peer_understands_reset`]: then the ask
    /// is Automerge's sync-reset flag (the relay's hub takes it as a new start: see
    /// [`asks_to_start_over`]); otherwise empty heads, Automerge's "lost everything", which any
    /// peer answers in full.
    pub fn start_over(&mut self, understood: bool) {
        self.state.needs_reset = true;
        if understood {
            self.state.their_capabilities = Some(vec![
                sync::Capability::MessageV2,
                sync::Capability::SyncReset,
            ]);
        }
    }

    /// Whether the peer said it understands Automerge's sync-reset flag.
    pub fn peer_understands_reset(&self) -> bool {
        self.state
            .their_capabilities
            .as_ref()
            .is_some_and(|caps| caps.contains(&sync::Capability::SyncReset))
    }

    /// What is worth keeping of this session for the next connection to the same peer: the heads
    /// both sides are known to share (a few dozen bytes).
    pub fn saved_state(&self) -> Vec<u8> {
        self.state.encode()
    }

    /// When a held batch should be sent even if no reply has come (ms, the clock of `poll_message`).
    pub fn wake_at(&self) -> Option<u64> {
        match (self.state.in_flight, self.in_flight_since, self.hold_ms) {
            (true, Some(since), Some(hold)) => Some(since.saturating_add(hold)),
            _ => None,
        }
    }

    /// Applies a received sync payload to `doc`. The payload is checked before Automerge reads it, so
    /// no peer can make this or a later [`DocSession::poll_message`] panic, allocate or compute
    /// without bound.
    pub fn receive(&mut self, doc: &mut AutoCommit, data: &[u8]) -> Result<(), SyncError> {
        sync_check::check(data)?;
        let message = sync::Message::decode(data)?;
        let received = doc.sync().receive_sync_message(&mut self.state, message);
        // Automerge 0.12 records every text splice a sync applies in the document's patch log even
        // while that log is inactive, and only a reset empties it: unchecked, it grew to 84 MB over
        // the relay benchmark's 15,000 changes. Nobody here asks Automerge for patches.
        doc.reset_diff_cursor();
        received?;
        self.in_flight_since = None;
        self.last_sent = None;
        Ok(())
    }

    /// The next payload to send the peer, or `None` when it is up to date or a reply is awaited.
    /// `now_ms` is any monotonic clock in milliseconds; it matters only for a batching session.
    pub fn poll_message(&mut self, doc: &mut AutoCommit, now_ms: u64) -> Option<Vec<u8>> {
        if self.state.in_flight && self.state.have_responded {
            // Automerge answers `None` here anyway, but only after building a bloom filter and the
            // list of changes to send: skip that work.
            if self.state.last_sent_heads == doc.get_heads() {
                return None;
            }
            if self.wake_at().is_some_and(|wake| now_ms < wake) {
                return None;
            }
        }
        let opens = !self.state.have_responded;
        let message = doc.sync().generate_sync_message(&mut self.state)?;
        let awaits_reply = opens || !message.changes.is_empty();
        let payload = message.encode();
        let digest = {
            let mut hasher = DefaultHasher::new();
            payload.hash(&mut hasher);
            hasher.finish()
        };
        // Nothing was received since an identical payload went out: the peer has it already.
        if self.last_sent.replace(digest) == Some(digest) {
            return None;
        }
        self.in_flight_since = awaits_reply.then_some(now_ms);
        Some(payload)
    }

    /// Makes the next poll advertise our heads even if Automerge thinks the peer need not hear them.
    ///
    /// Automerge stays silent towards a peer whose latest message showed it already holds our heads —
    /// but then that peer never learns that *we* hold them, and cannot count its changes as
    /// acknowledged. A relay calls this after storing new changes.
    pub fn advertise_heads(&mut self) {
        self.state.last_sent_heads.clear();
    }

    /// Whether `doc` holds everything the peer has advertised — a document being fetched is complete
    /// (not merely its first chunk). False until the peer has advertised some heads.
    pub fn holds_what_they_advertised(&self, doc: &mut AutoCommit) -> bool {
        self.their_heads()
            .is_some_and(|theirs| !theirs.is_empty() && holds_all(doc, theirs))
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
        // Fast paths: the heads are theirs, or theirs are our whole document.
        if heads.iter().all(|h| theirs.contains(h)) {
            return true;
        }
        let ours = doc.get_heads();
        if ours.iter().all(|h| theirs.contains(h)) {
            return heads
                .iter()
                .all(|h| doc.get_change_meta_by_hash(h).is_some());
        }
        // Otherwise: every change of ours that their heads do not cover. Theirs may include changes we
        // lack, which cannot serve as a base, so start from the ones we know. Metadata only: no change
        // is encoded.
        let known: Vec<ChangeHash> = theirs
            .iter()
            .copied()
            .filter(|h| doc.get_change_meta_by_hash(h).is_some())
            .collect();
        let uncovered: HashSet<ChangeHash> = doc
            .get_changes_meta(&known)
            .iter()
            .map(|c| c.hash)
            .collect();
        heads
            .iter()
            .all(|h| doc.get_change_meta_by_hash(h).is_some() && !uncovered.contains(h))
    }
}

/// Whether `doc` holds every change in `heads`.
pub fn holds_all(doc: &mut AutoCommit, heads: &[ChangeHash]) -> bool {
    heads
        .iter()
        .all(|h| doc.get_change_meta_by_hash(h).is_some())
}

/// Whether a sync payload comes from a peer that holds nothing of the document yet (its heads are
/// empty): the usual first `request` of a device opening a thread it has never seen. False for a
/// payload [`DocSession::receive`] would refuse.
pub fn is_from_empty_peer(data: &[u8]) -> bool {
    // The check reads the whole envelope, so this need not decode (and copy) the changes.
    sync_check::check(data).is_ok_and(|envelope| envelope.heads == 0)
}

/// Whether a sync payload carries Automerge's sync-reset flag: its sender dropped its session and
/// started a new one ([`DocSession::start_over`]), so the receiver's session with it starts over
/// too — kept, it would count what it sent the old one as delivered and its heads as told, and
/// send the new one neither. False for a payload [`DocSession::receive`] would refuse.
pub fn asks_to_start_over(data: &[u8]) -> bool {
    // Automerge's flags: a legacy byte, then one with the high bit set whose low bits are the flags.
    sync_check::check(data).is_ok_and(|envelope| {
        envelope
            .flags
            .iter()
            .any(|byte| byte & 0x80 != 0 && byte & sync::MessageFlags::SYNC_RESET != 0)
    })
}

/// A sync payload that hands a peer holding nothing the whole document at once: `stored` is saved
/// document bytes (a snapshot and/or change chunks, concatenated) whose heads are `heads`. Lets a
/// relay answer a cold load from storage without loading the document into memory first. The
/// peer applies it like any Automerge sync message and carries on with a normal session.
pub fn whole_document_message(heads: Vec<ChangeHash>, stored: Vec<u8>) -> Vec<u8> {
    let mut flags = sync::MessageFlags::new();
    flags.set(sync::MessageFlags::SUPPORTS_SYNC_RESET);
    sync::Message {
        heads,
        need: Vec::new(),
        have: Vec::new(),
        changes: sync::ChunkList::from(vec![stored]),
        flags: Some(flags),
        version: sync::MessageVersion::V2,
    }
    .encode()
}
