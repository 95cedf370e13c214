//! [`HubConnection`]: one client connection as the relay sees it — the join handshake, the
//! per-second frame and byte budgets, its clocks, and where each message goes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::ConnId;
use super::HubConfig;
use super::deadlines::{Deadlines, Due};
use super::ephemeral::Ephemeral;
use super::refusal::{Close, Refusal};
use super::storage::StoredDocument;
use crate::{DocumentId, Message, PeerMetadata, is_from_empty_peer, whole_document_message};

/// Where a frame goes, once [`HubConnection::handle_frame`] accepted it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// Nothing to do (heads gossip, a repeated join, a frame claiming another sender).
    Nothing,
    /// Send this frame back (the `peer` answering `join`).
    Reply(Vec<u8>),
    /// A sync message for a document: open a session on it ([`Hub::open_session`]), open the
    /// document, and hand the message to it ([`HubDocument::handle_sync`]).
    ///
    /// [`Hub::open_session`]: super::Hub::open_session
    /// [`HubDocument::handle_sync`]: super::HubDocument::handle_sync
    Sync(SyncRequest),
    /// An ephemeral message for a document the user owns: [`HubDocument::handle_ephemeral`], if the
    /// document exists (it is never created for one).
    ///
    /// [`HubDocument::handle_ephemeral`]: super::HubDocument::handle_ephemeral
    Ephemeral {
        /// The document.
        document: DocumentId,
        /// The message.
        message: Ephemeral,
    },
    /// The peer leaves: close the socket normally (1000, "leave").
    Leave,
}

/// A `sync` or `request` from the connection's peer.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncRequest {
    /// The document.
    pub document: DocumentId,
    /// The Automerge sync payload.
    pub data: Vec<u8>,
    /// A `request`: the peer wants a document it lacks; one nobody stored is unavailable, not made.
    pub request: bool,
}

impl SyncRequest {
    /// Whether a document nobody has stored is created for the user (a `sync`), rather than
    /// reported unavailable (a `request`).
    pub fn creates(&self) -> bool {
        !self.request
    }

    /// A `request` from a peer holding nothing: the device opening a thread it has never seen. If
    /// the document is not in memory, [`HubConnection::cold_load_reply`] answers from storage.
    pub fn is_cold_load(&self) -> bool {
        self.request && is_from_empty_peer(&self.data)
    }
}

/// One connection, as a passive state machine: frames in ([`HubConnection::handle_frame`]), where
/// each goes ([`Route`]) or why the connection is refused ([`Refusal`]); clocks through
/// [`HubConnection::poll_timeout`] and [`HubConnection::handle_timeout`].
#[derive(Debug)]
pub struct HubConnection {
    id: ConnId,
    user: String,
    peer_id: Option<String>,
    /// Documents this connection has a session on.
    documents: HashSet<DocumentId>,
    /// Start of the current one-second window, and the frames and bytes seen in it.
    window: (Duration, u32, u64),
    deadlines: Deadlines,
    config: Arc<HubConfig>,
    /// Whether the user's connection count includes this connection.
    pub(super) admitted: bool,
}

impl HubConnection {
    pub(super) fn new(
        id: ConnId,
        user: &str,
        now: Duration,
        expires_at: Option<Duration>,
        config: Arc<HubConfig>,
    ) -> Self {
        Self {
            id,
            user: user.to_owned(),
            peer_id: None,
            documents: HashSet::new(),
            window: (now, 0, 0),
            deadlines: Deadlines::new(now, config.deadlines, expires_at),
            config,
            admitted: false,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The user whose token opened it.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The client's peer id, once it has joined.
    pub fn peer_id(&self) -> Option<&str> {
        self.peer_id.as_deref()
    }

    /// The documents it has a session on.
    pub fn documents(&self) -> &HashSet<DocumentId> {
        &self.documents
    }

    pub(super) fn add_document(&mut self, id: DocumentId) {
        self.documents.insert(id);
    }

    /// A binary frame arrived at `now`.
    pub fn handle_frame(&mut self, now: Duration, bytes: &[u8]) -> Result<Route, Refusal> {
        self.deadlines.heard(now);
        self.count_frame(now, bytes.len())?;
        let message = Message::decode(bytes).map_err(Refusal::Malformed)?;
        let Some(peer_id) = &self.peer_id else {
            let reply = self.join(message)?;
            self.deadlines.joined();
            return Ok(Route::Reply(reply));
        };
        if sender_of(&message) != peer_id {
            // As the reference server does: a frame claiming another sender is ignored.
            return Ok(Route::Nothing);
        }
        Ok(match message {
            Message::Sync {
                document_id, data, ..
            } => Route::Sync(SyncRequest {
                document: document_id,
                data,
                request: false,
            }),
            Message::Request {
                document_id, data, ..
            } => Route::Sync(SyncRequest {
                document: document_id,
                data,
                request: true,
            }),
            Message::Ephemeral {
                sender_id,
                document_id,
                session_id,
                count,
                data,
                ..
            } => Route::Ephemeral {
                document: document_id,
                message: Ephemeral {
                    sender_id,
                    session_id,
                    count,
                    data,
                },
            },
            Message::Leave { .. } => Route::Leave,
            // Heads gossip, unavailability notices and repeated joins need no answer.
            _ => Route::Nothing,
        })
    }

    /// A ping or pong arrived at `now`: the peer is alive.
    pub fn handle_keepalive(&mut self, now: Duration) {
        self.deadlines.heard(now);
    }

    /// When [`HubConnection::handle_timeout`] is next worth calling.
    pub fn poll_timeout(&self) -> Duration {
        self.deadlines.next_wake()
    }

    /// What the clocks ask for at `now`: a ping, or closing the connection.
    pub fn handle_timeout(&mut self, now: Duration) -> Option<Due> {
        self.deadlines.poll(now)
    }

    /// What the client is sent when the connection is refused.
    pub fn refuse(&self, refusal: &Refusal) -> Close {
        refusal.to_close(&self.config.relay_peer_id, self.peer_id().unwrap_or(""))
    }

    /// The answer to a sync for a document this user may not open: it is missing, or another
    /// user's — the same words for both.
    pub fn unavailable(&self, document: DocumentId) -> Vec<u8> {
        Message::DocUnavailable {
            sender_id: self.config.relay_peer_id.clone(),
            target_id: self.peer_id().unwrap_or("").to_owned(),
            document_id: document,
        }
        .encode()
    }

    /// The answer to a cold load ([`SyncRequest::is_cold_load`]) of a document not in memory, from
    /// what storage holds, without loading it into Automerge first (for a long thread, most of a
    /// cold load): the whole document in one sync message. The peer's next message starts a normal
    /// session. `None` if the user may not have it, or it was stored before heads were recorded: the
    /// normal path answers then.
    pub fn cold_load_reply(&self, document: DocumentId, stored: StoredDocument) -> Option<Vec<u8>> {
        if stored.owner != self.user || stored.heads.is_empty() {
            return None;
        }
        let mut bytes = stored.snapshot;
        for chunk in &stored.chunks {
            bytes.extend_from_slice(chunk);
        }
        let frame = Message::Sync {
            sender_id: self.config.relay_peer_id.clone(),
            target_id: self.peer_id().unwrap_or("").to_owned(),
            document_id: document,
            data: whole_document_message(stored.heads, bytes),
        };
        Some(frame.encode())
    }

    fn join(&mut self, message: Message) -> Result<Vec<u8>, Refusal> {
        let Message::Join {
            sender_id,
            supported_protocol_versions,
            ..
        } = message
        else {
            return Err(Refusal::NotJoined);
        };
        if !supported_protocol_versions.iter().any(|v| v == "1") {
            return Err(Refusal::UnsupportedVersion);
        }
        let peer = Message::Peer {
            sender_id: self.config.relay_peer_id.clone(),
            target_id: sender_id.clone(),
            peer_metadata: PeerMetadata {
                storage_id: Some(self.config.storage_id.clone()),
                is_ephemeral: Some(false),
            },
            selected_protocol_version: "1".into(),
        };
        self.peer_id = Some(sender_id);
        Ok(peer.encode())
    }

    fn count_frame(&mut self, now: Duration, bytes: usize) -> Result<(), Refusal> {
        if now.saturating_sub(self.window.0) >= Duration::from_secs(1) {
            self.window = (now, 0, 0);
        }
        self.window.1 += 1;
        self.window.2 += bytes as u64;
        if self.window.1 > self.config.max_frames_per_second {
            return Err(Refusal::Flood(self.config.max_frames_per_second));
        }
        if self.window.2 > self.config.max_bytes_per_second {
            return Err(Refusal::ByteFlood(self.config.max_bytes_per_second));
        }
        Ok(())
    }
}

fn sender_of(message: &Message) -> &str {
    match message {
        Message::Join { sender_id, .. }
        | Message::Peer { sender_id, .. }
        | Message::Error { sender_id, .. }
        | Message::Request { sender_id, .. }
        | Message::Sync { sender_id, .. }
        | Message::DocUnavailable { sender_id, .. }
        | Message::Ephemeral { sender_id, .. }
        | Message::RemoteSubscriptionChange { sender_id, .. }
        | Message::RemoteHeadsChanged { sender_id, .. }
        | Message::Leave { sender_id } => sender_id,
    }
}
