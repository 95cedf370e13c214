//! [`Link`]: the client side of one relay connection, as a passive state machine. The type's docs
//! say how it works and how a driver runs it; the pieces are a module each (state, backoff, events,
//! documents, config).

mod backoff;
mod by_id;
mod config;
mod documents;
mod events;
mod state;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};

pub use backoff::BackoffConfig;
pub use config::LinkConfig;
pub use documents::{Documents, SavedSync};
pub use events::{CredentialsRefusal, Disconnect, LinkError, LinkEvent, TOKEN_EXPIRED};
pub use state::ConnectionState;

use crate::{DocumentId, Message};
use backoff::Backoff;
use documents::DocumentSet;

/// The client side of one relay connection, as a passive state machine.
///
/// A link knows the protocol above one [`DocSession`](crate::DocSession): it asks its driver to dial, sends `join`,
/// waits for `peer`, then syncs every document it was given — `request` for one it is fetching
/// (until it holds everything the relay advertised), `sync` for one the driver holds — resuming each
/// session from the state last shared with the same relay storage. It tells the driver when the
/// relay's heads move (the relay advertises only stored changes: that is the acknowledgement), when
/// a document changed or arrived, and when to dial again after a drop, with backoff and seeded
/// jitter. It never touches a socket or a clock.
///
/// A driver is one loop that owns the socket:
/// - it feeds in what happens: [`Link::handle_connected`], [`Link::handle_frame`],
///   [`Link::handle_disconnected`], [`Link::handle_timeout`], and the document operations
///   [`Link::hold`], [`Link::fetch`], [`Link::local_change`], [`Link::release`];
/// - then carries out what the link wants: frames from [`Link::poll_transmit`], events from
///   [`Link::poll_event`] (dial now, joined, acknowledged, fetched…);
/// - and sleeps until [`Link::poll_timeout`] or the next input.
///
/// Time is a [`Duration`] since an epoch the driver picks (its start, say): no clock is read, so the
/// link runs the same on wasm32, natively and on a simulation's virtual time. Nothing here needs
/// `Send`. The driver's documents are lent through [`Documents`] (its docs say why).
///
/// ```
/// use std::collections::HashMap;
/// use std::time::Duration;
/// use chatsync_protocol::{DocumentId, Link, LinkConfig, LinkEvent, Message};
/// use chatsync_protocol::automerge::AutoCommit;
///
/// let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
/// let mut link = Link::new(LinkConfig::new("device-a"));
/// assert!(matches!(link.poll_event(), Some(LinkEvent::Dial)));
/// let now = Duration::ZERO;
/// link.handle_connected(now);
/// let join = Message::decode(&link.poll_transmit().unwrap())?;
/// assert_eq!(join.type_name(), "join");
/// let id = DocumentId::from_bytes([7; 16]);
/// docs.insert(id, AutoCommit::new());
/// link.hold(now, id, &mut docs);
/// assert!(link.poll_transmit().is_none(), "nothing is sent before the relay answers join");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Link {
    config: LinkConfig,
    state: ConnectionState,
    /// The relay to dial next, below `config.relays`.
    relay: usize,
    backoff: Backoff,
    documents: DocumentSet,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<LinkEvent>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("peer_id", &self.config.peer_id)
            .field("state", &self.state)
            .field("documents", &self.documents.len())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A link that wants to dial at once: its first event is [`LinkEvent::Dial`].
    pub fn new(config: LinkConfig) -> Self {
        Self {
            backoff: Backoff::new(config.backoff.clone(), config.rng_seed),
            documents: DocumentSet::new(config.batch_hold.map(millis)),
            config,
            state: ConnectionState::Dialing,
            relay: 0,
            transmits: VecDeque::new(),
            events: VecDeque::from([LinkEvent::Dial]),
        }
    }

    /// Where the connection is.
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// Which of the driver's relays to dial on [`LinkEvent::Dial`]: an index below
    /// [`LinkConfig::relays`]. It starts at 0 and moves to the next one, round the list, when the
    /// connection to it failed or was lost ([`Link::handle_disconnected`] with anything but
    /// [`Disconnect::HungUp`]): a client whose relay died (`kill -9`, a deploy) reaches another on
    /// its first retry, after the same backoff, and comes back round to the first later. A driver's
    /// own hang-up (going offline, a new token) stays with the relay it had. One rule for every
    /// driver.
    pub fn relay(&self) -> usize {
        self.relay
    }

    /// The socket is open: `join` goes out.
    pub fn handle_connected(&mut self, _now: Duration) {
        if matches!(self.state, ConnectionState::Closed) {
            return;
        }
        self.transmits.clear();
        self.state = ConnectionState::Joining;
        let join = Message::join(&self.config.peer_id, self.config.is_ephemeral);
        self.transmits.push_back(join.encode());
    }

    /// A frame arrived from the relay.
    pub fn handle_frame(
        &mut self,
        now: Duration,
        frame: &[u8],
        docs: &mut (impl Documents + ?Sized),
    ) -> Result<(), LinkError> {
        match Message::decode(frame)? {
            Message::Peer {
                sender_id,
                peer_metadata,
                ..
            } if matches!(self.state, ConnectionState::Joining) => {
                self.joined(now, sender_id, peer_metadata.storage_id, docs);
            }
            Message::Error { message, .. } => {
                self.events.push_back(LinkEvent::RelayError { message });
            }
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } if self.state.is_joined() => {
                let complete = self
                    .documents
                    .receive(document_id, &data, docs, &mut self.events)
                    .map_err(|error| LinkError::Sync {
                        document: document_id,
                        error: Box::new(error),
                    })?;
                // Reply first (still as a `request` while fetching), then hand a complete fetch over.
                self.flush(now, document_id, docs);
                if complete {
                    self.documents.finish_fetch(document_id, &mut self.events);
                }
            }
            Message::DocUnavailable { document_id, .. } if self.state.is_joined() => {
                self.documents.unavailable(document_id);
                self.events.push_back(LinkEvent::Unavailable {
                    document: document_id,
                });
            }
            // Presence, heads gossip, and frames that do not fit the state: nothing to act on.
            _ => {}
        }
        Ok(())
    }

    /// The socket closed, broke, or could not be opened. Frames not yet sent are dropped: the next
    /// connection resumes from what both sides are known to share.
    pub fn handle_disconnected(&mut self, now: Duration, reason: Disconnect) {
        if matches!(self.state, ConnectionState::Closed) {
            return;
        }
        self.documents.save_all(self.state.relay_storage());
        self.transmits.clear();
        if !matches!(reason, Disconnect::HungUp) {
            self.relay = (self.relay + 1) % self.config.relays.max(1);
        }
        let earliest = now + self.backoff.next_delay();
        let refusal = match &reason {
            Disconnect::Unauthorized => Some(CredentialsRefusal::Unauthorized),
            Disconnect::Closed { code, .. } if *code == TOKEN_EXPIRED => {
                Some(CredentialsRefusal::Expired)
            }
            _ => None,
        };
        let retry_at = match refusal {
            Some(refusal) => {
                self.state = ConnectionState::NeedsCredentials {
                    refusal: refusal.clone(),
                    earliest,
                };
                self.events
                    .push_back(LinkEvent::CredentialsRefused { refusal });
                None
            }
            None => {
                self.state = ConnectionState::Waiting { retry_at: earliest };
                Some(earliest)
            }
        };
        self.events
            .push_back(LinkEvent::Disconnected { reason, retry_at });
    }

    /// Time passed: a due reconnect asks for a dial; held batches due go out.
    pub fn handle_timeout(&mut self, now: Duration, docs: &mut (impl Documents + ?Sized)) {
        match self.state {
            ConnectionState::Waiting { retry_at } if retry_at <= now => self.dial(),
            ConnectionState::Joined { .. } => {
                for id in self.documents.due(millis(now)) {
                    self.flush(now, id, docs);
                }
            }
            _ => {}
        }
    }

    /// New credentials are at hand after [`LinkEvent::CredentialsRefused`]: dial once the backoff
    /// allows (at once if it already does).
    pub fn credentials_renewed(&mut self, now: Duration) {
        if let ConnectionState::NeedsCredentials { earliest, .. } = self.state {
            self.state = ConnectionState::Waiting { retry_at: earliest };
            if earliest <= now {
                self.dial();
            }
        }
    }

    /// Dials at once, with the shortest backoff again, when not connected (the browser came back
    /// online, the app switched sync on, a person supplied a token). No effect otherwise.
    pub fn reconnect_now(&mut self) {
        if matches!(
            self.state,
            ConnectionState::Waiting { .. } | ConnectionState::NeedsCredentials { .. }
        ) {
            self.backoff.reset();
            self.dial();
        }
    }

    /// Stops for good: no more dials, frames or events. The driver closes its socket.
    pub fn close(&mut self) {
        self.state = ConnectionState::Closed;
        self.transmits.clear();
    }

    /// Syncs a document the driver holds, from now on and on every later connection. A document
    /// being fetched becomes held (the driver got it some other way); a held one is left as it is.
    pub fn hold(&mut self, now: Duration, id: DocumentId, docs: &mut (impl Documents + ?Sized)) {
        self.hold_from(now, id, None, docs);
    }

    /// Like [`Link::hold`], resuming from a state saved on an earlier run ([`Link::saved_sync`]):
    /// its first message names the heads both sides shared, instead of a filter of the whole history.
    pub fn hold_resuming(
        &mut self,
        now: Duration,
        id: DocumentId,
        saved: SavedSync,
        docs: &mut (impl Documents + ?Sized),
    ) {
        self.hold_from(now, id, Some(saved), docs);
    }

    fn hold_from(
        &mut self,
        now: Duration,
        id: DocumentId,
        saved: Option<SavedSync>,
        docs: &mut (impl Documents + ?Sized),
    ) {
        let relay = self.state.relay();
        if self.documents.hold(id, saved, relay.as_ref(), docs) {
            self.flush(now, id, docs);
        }
    }

    /// Asks the relay for a document the driver does not hold, filling `empty` (made by the driver,
    /// with its actor) until it holds everything the relay advertised: then [`LinkEvent::Fetched`]
    /// hands it over, or [`LinkEvent::Unavailable`] says the relay has none for us. A fetch lasts
    /// across reconnects until one of those, or [`Link::release`]. Fetching a held document, or one
    /// already being fetched, does nothing.
    pub fn fetch(&mut self, now: Duration, id: DocumentId, empty: AutoCommit) {
        if self.documents.fetch(id, empty) {
            self.flush(now, id, &mut NoDocuments);
        }
    }

    /// Stops syncing a document (or fetching it).
    pub fn release(&mut self, id: DocumentId) {
        self.documents.release(id);
    }

    /// The driver changed a held document: what is new goes out (or waits for the batch in flight).
    pub fn local_change(
        &mut self,
        now: Duration,
        id: DocumentId,
        docs: &mut (impl Documents + ?Sized),
    ) {
        self.flush(now, id, docs);
    }

    /// Whether the relay has acknowledged `heads` of a held document: its advertised heads on this
    /// connection cover them (it advertises only what it stored). False for a document not held,
    /// and on a new connection until the relay has spoken of the document.
    pub fn acknowledged(
        &mut self,
        id: DocumentId,
        heads: &[ChangeHash],
        docs: &mut (impl Documents + ?Sized),
    ) -> bool {
        self.documents.acknowledged(id, heads, docs)
    }

    /// What a driver with storage keeps of a document's session, for [`Link::hold_resuming`] on a
    /// later run: the state shared on this connection, or the one saved from an earlier one.
    pub fn saved_sync(&self, id: DocumentId) -> Option<SavedSync> {
        let joined = self.state.is_joined().then(|| self.state.relay_storage());
        self.documents.saved_sync(id, joined)
    }

    /// The next frame to send on the socket.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// When to call [`Link::handle_timeout`] next, if anything waits for time.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match &self.state {
            ConnectionState::Waiting { retry_at } => Some(*retry_at),
            ConnectionState::Joined { .. } => self.documents.next_wake().map(Duration::from_millis),
            _ => None,
        }
    }

    fn dial(&mut self) {
        self.state = ConnectionState::Dialing;
        self.events.push_back(LinkEvent::Dial);
    }

    fn joined(
        &mut self,
        now: Duration,
        relay_peer: String,
        relay_storage: Option<String>,
        docs: &mut (impl Documents + ?Sized),
    ) {
        self.backoff.reset();
        self.events.push_back(LinkEvent::Joined {
            relay_peer: relay_peer.clone(),
            relay_storage: relay_storage.clone(),
        });
        self.state = ConnectionState::Joined {
            relay_peer,
            relay_storage,
        };
        let relay = self.state.relay().expect("joined just above");
        self.documents.start_all(&relay, docs);
        for id in self.documents.ids() {
            self.flush(now, id, docs);
        }
    }

    /// Queues every payload the document's session has ready (nothing unless joined).
    fn flush(&mut self, now: Duration, id: DocumentId, docs: &mut (impl Documents + ?Sized)) {
        let Some(relay) = self.state.relay() else {
            return;
        };
        let from = (self.config.peer_id.as_str(), &relay);
        self.documents
            .flush(millis(now), id, from, docs, &mut self.transmits);
    }
}

/// For the calls that need no driver document (a fetch lends its own).
struct NoDocuments;

impl Documents for NoDocuments {
    fn with_doc(&mut self, _: DocumentId, _: &mut dyn FnMut(&mut AutoCommit)) -> bool {
        false
    }
}

/// Milliseconds, saturating: the clock of [`DocSession`](crate::DocSession).
fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).unwrap_or(u64::MAX)
}
