//! Ephemeral messages (presence and the like): forwarded to the document's other sessions, never
//! stored, each (session, count) once.

use super::ConnId;
use super::document::HubDocument;
use crate::Message;

/// An ephemeral message as received, for [`HubDocument::handle_ephemeral`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ephemeral {
    /// The original sender (kept when forwarded).
    pub sender_id: String,
    /// The sender's ephemeral session.
    pub session_id: String,
    /// Increases per message within a session.
    pub count: u64,
    /// CBOR-encoded application data.
    pub data: Vec<u8>,
}

impl HubDocument {
    /// Forwards an ephemeral message from connection `from` to every other session on the document,
    /// unless this (session, count) or a later one was seen already (an echo or a duplicate).
    pub fn handle_ephemeral(&mut self, from: ConnId, message: &Ephemeral) {
        let seen = self
            .ephemeral_seen
            .entry(message.session_id.clone())
            .or_insert(0);
        if message.count <= *seen && *seen != 0 {
            return;
        }
        *seen = message.count;
        for (conn, session) in &self.sessions {
            if *conn == from {
                continue;
            }
            let frame = Message::Ephemeral {
                sender_id: message.sender_id.clone(),
                target_id: session.peer_id.clone(),
                document_id: self.id,
                session_id: message.session_id.clone(),
                count: message.count,
                data: message.data.clone(),
            }
            .encode();
            self.effects.transmits.push((*conn, frame));
        }
    }
}
