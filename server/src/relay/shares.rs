//! Sharing at the relay: who a user is to a document — its owner, a grantee with read or write
//! access, or nobody — decided on every path before the document is opened, and a revoked grantee's
//! sessions dropped at once.
//!
//! A grantee opens the document as its owner would (it is loaded and stored under the owner), so
//! the hub's rule stays "only the owner opens it" and the grant is the driver's to check: storage's
//! `shares` table is read for every message of a grantee (one indexed lookup; never for the owner),
//! so a grant taken back holds from the next message on, on every relay sharing the database. A
//! read-only grantee's sync message that carries changes is refused and nothing of it is applied or
//! stored: the device is told the document is unavailable and its session ends (what it already
//! holds stays on it).

use chatsync_protocol::hub::Refusal;
use chatsync_protocol::{DocumentId, Message};

use super::Relay;
use super::connection::Frame;
use crate::storage::{ShareAccess, Storage};

/// Who a user is to a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Theirs, or nobody's yet (the normal rules decide whether it may be created).
    Own,
    /// Shared with them by `owner`.
    Grantee {
        /// Whose it is: the document is opened as theirs.
        owner: String,
        /// What the grantee may do.
        access: ShareAccess,
    },
    /// Another user's, not shared with them: answered exactly like a missing document.
    Stranger,
}

impl Standing {
    /// The user the document is opened as: its owner for a grantee.
    pub(crate) fn opener<'a>(&'a self, user: &'a str) -> &'a str {
        match self {
            Self::Grantee { owner, .. } => owner,
            _ => user,
        }
    }
}

/// Whether an Automerge sync message carries changes (one that does not decode counts as carrying
/// them: a read-only grantee's message is let through only when it provably changes nothing).
pub(crate) fn carries_changes(data: &[u8]) -> bool {
    automerge::sync::Message::decode(data).map_or(true, |m| !m.changes.is_empty())
}

impl<S: Storage> Relay<S> {
    /// Who `user` is to document `id`: one lookup of its owner (none when it is in memory), and for
    /// anyone but the owner one of their grant.
    pub async fn standing(&self, id: &DocumentId, user: &str) -> Result<Standing, Refusal> {
        if let Some(link) = super::share_links::link_of_user(user) {
            return self.link_standing(id, link).await;
        }
        let owner = match self.loaded(id) {
            Some(document) => Some(document.owner.clone()),
            None => self.owner_of(id).await?,
        };
        let Some(owner) = owner.filter(|owner| owner != user) else {
            return Ok(Standing::Own);
        };
        let access = self.storage.share_access(id, user).await.map_err(|e| {
            tracing::error!(document = %id, error = %e, "looking up a share failed");
            Refusal::Storage
        })?;
        Ok(match access {
            Some(access) => Standing::Grantee { owner, access },
            None => Standing::Stranger,
        })
    }

    /// `grantee`'s access to `id` was taken back: their sessions on this relay's copy end now, each
    /// told the document is unavailable, so no change reaches them from here on. Other relays on
    /// the same database do the same when they hear of it ([`ChangeNotice::Revoked`]); and every
    /// relay refuses the grantee's next message whatever it heard, since grants are read from
    /// storage for each one.
    ///
    /// [`ChangeNotice::Revoked`]: crate::storage::ChangeNotice::Revoked
    pub async fn drop_grantee(&self, id: &DocumentId, grantee: &str) -> usize {
        let Some(document) = self.loaded(id) else {
            return 0;
        };
        let relay_peer = self.with_hub(|hub| hub.config().relay_peer_id.clone());
        let now = self.now();
        let mut state = document.state.lock().await;
        let leaving: Vec<_> = state
            .guests
            .iter()
            .filter(|(_, guest)| guest.user == grantee)
            .map(|(conn, guest)| (*conn, guest.peer_id.clone()))
            .collect();
        for (conn, peer_id) in &leaving {
            state.guests.remove(conn);
            state.hub.handle_leave(now, *conn);
            if let Some(outbox) = state.outboxes.remove(conn) {
                let frame = Message::DocUnavailable {
                    sender_id: relay_peer.clone(),
                    target_id: peer_id.clone(),
                    document_id: *id,
                }
                .encode();
                outbox.send(Frame::Binary(frame));
            }
        }
        if !leaving.is_empty() {
            tracing::info!(document = %id, grantee, sessions = leaving.len(), "a revoked grantee's sessions ended");
        }
        leaving.len()
    }
}
