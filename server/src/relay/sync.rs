//! Sync messages on a document: apply them, hand new changes to the document's writer, and answer
//! every peer — only ever with heads storage holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chatsync_protocol::{DocSession, DocumentId, Message};

use super::connection::Frame;
use super::cpu::{HEAVY_BYTES, Weight};
use super::document::{DocState, LoadedDocument, Peer, Speaker};
use super::outbox::Outbox;
use super::refusal::Refusal;
use super::writer::{Compaction, Writer};
use super::{ConnId, Metrics, Relay};
use crate::storage::Storage;

/// A sync message as the in-memory step needs it (owned, so the step can run on the blocking pool).
struct Incoming {
    conn: ConnId,
    peer_id: String,
    outbox: Outbox,
    relay_peer: String,
    id: DocumentId,
    max_document_bytes: u64,
}

/// What the in-memory step left to do.
enum Next {
    /// Nothing: the replies (if any) are sent, or the document's writer will send them once what it
    /// is storing is stored.
    Done { sent: u64 },
    /// New changes and no writer: this task is now the writer.
    Write,
    /// Storage failed under this copy: open the document again.
    Reopen,
}

impl<S: Storage> Relay<S> {
    /// A `sync` or `request` from a connection: apply it, store what is new, then answer every peer.
    pub(crate) async fn handle_sync(
        self: &Arc<Self>,
        from: &Speaker<'_>,
        id: DocumentId,
        data: &[u8],
        is_request: bool,
    ) -> Result<(), Refusal> {
        Metrics::inc(&self.metrics.sync_in);
        if is_request && self.serve_cold_load(from, id, data).await? {
            return Ok(());
        }
        // A second try only after storage failed under the first copy (it left memory meanwhile).
        for _ in 0..2 {
            let Some(document) = self.open_document(&id, from.user, !is_request).await? else {
                self.answer_unavailable(from, id);
                return Ok(());
            };
            let result = self.sync_on(&document, from, id, data).await;
            if matches!(result, Err(Refusal::Panicked)) {
                // Automerge panicked mid-change on the blocking pool: this copy may be half-changed.
                self.forget_documents([&id]);
            }
            match result? {
                Next::Done { sent } => {
                    self.metrics.sync_out.fetch_add(sent, Ordering::Relaxed);
                    return Ok(());
                }
                Next::Write => {
                    let writer = Writer::Connection;
                    return self
                        .write(&id, &document, Compaction::WhenLarge, writer)
                        .await;
                }
                Next::Reopen => continue,
            }
        }
        Err(Refusal::Unavailable)
    }

    /// The in-memory step, on the blocking pool when it is Automerge-heavy: a big incoming message,
    /// or the first message to a peer with nothing (the whole document).
    async fn sync_on(
        &self,
        document: &Arc<LoadedDocument>,
        from: &Speaker<'_>,
        id: DocumentId,
        data: &[u8],
    ) -> Result<Next, Refusal> {
        let incoming = Incoming {
            conn: from.conn,
            peer_id: from.peer_id.to_owned(),
            outbox: from.outbox.clone(),
            relay_peer: self.peer_id.clone(),
            id,
            max_document_bytes: self.limits.max_document_bytes,
        };
        let mut state = document.state.clone().lock_owned().await;
        let from_empty = chatsync_protocol::is_from_empty_peer(data);
        let heavy =
            data.len() as u64 > HEAVY_BYTES || (from_empty && state.stored_bytes() > HEAVY_BYTES);
        if !heavy {
            return receive(&mut state, &document.writing, &incoming, data, from_empty);
        }
        let (document, data) = (document.clone(), data.to_vec());
        self.cpu
            .run(Weight::Heavy, move || {
                receive(&mut state, &document.writing, &incoming, &data, from_empty)
            })
            .await?
    }

    fn answer_unavailable(&self, from: &Speaker<'_>, id: DocumentId) {
        self.metrics.refused("document_unavailable");
        tracing::info!(user = from.user, document = %id, "document unavailable to this user");
        from.outbox.send(Frame::Binary(
            Message::DocUnavailable {
                sender_id: self.peer_id.clone(),
                target_id: from.peer_id.to_owned(),
                document_id: id,
            }
            .encode(),
        ));
    }

    /// A device opening a thread it has none of, while the relay does not have it in memory: answer
    /// with the stored bytes at once, instead of loading the document into Automerge first (which
    /// for a long thread is most of a cold load). The device's next message starts a normal session,
    /// which loads the document then. Returns whether it answered.
    async fn serve_cold_load(
        &self,
        from: &Speaker<'_>,
        id: DocumentId,
        data: &[u8],
    ) -> Result<bool, Refusal> {
        if !chatsync_protocol::is_from_empty_peer(data) || self.loaded(&id).is_some() {
            return Ok(false);
        }
        let Some(stored) = self.storage.load(&id).await.map_err(Refusal::Storage)? else {
            return Ok(false);
        };
        if stored.owner != from.user || stored.heads.is_empty() {
            // Another user's (answered as unavailable on the normal path), or stored before heads were.
            return Ok(false);
        }
        let mut bytes = stored.snapshot;
        for chunk in &stored.chunks {
            bytes.extend_from_slice(chunk);
        }
        Metrics::inc(&self.metrics.sync_out);
        from.outbox.send(Frame::Binary(
            Message::Sync {
                sender_id: self.peer_id.clone(),
                target_id: from.peer_id.to_owned(),
                document_id: id,
                data: chatsync_protocol::whole_document_message(stored.heads, bytes),
            }
            .encode(),
        ));
        tracing::debug!(document = %id, "cold load served from storage");
        Ok(true)
    }

    /// An `ephemeral` message: forwarded, once per (session, count), to the document's other
    /// connections — all the owner's, since nobody else can open it.
    pub(crate) async fn handle_ephemeral(&self, from: &Speaker<'_>, message: Message) {
        let Message::Ephemeral {
            sender_id,
            document_id,
            session_id,
            count,
            data,
            ..
        } = message
        else {
            return;
        };
        let document = match self.open_document(&document_id, from.user, false).await {
            Ok(Some(document)) => document,
            _ => return,
        };
        let mut d = document.state.lock().await;
        let seen = d.ephemeral_seen.entry(session_id.clone()).or_insert(0);
        if count <= *seen && *seen != 0 {
            return;
        }
        *seen = count;
        for (conn, peer) in &d.peers {
            if *conn == from.conn {
                continue;
            }
            peer.outbox.send(Frame::Binary(
                Message::Ephemeral {
                    sender_id: sender_id.clone(),
                    target_id: peer.peer_id.clone(),
                    document_id,
                    session_id: session_id.clone(),
                    count,
                    data: data.clone(),
                }
                .encode(),
            ));
        }
    }
}

/// Applies one sync message in memory. If it brought changes and nobody is writing the document,
/// the caller becomes its writer; while someone is, the writer answers every peer once what it
/// stores is stored — so no reply ever advertises a change storage does not hold yet.
fn receive(
    s: &mut DocState,
    writing: &AtomicBool,
    incoming: &Incoming,
    data: &[u8],
    from_empty: bool,
) -> Result<Next, Refusal> {
    if s.broken {
        return Ok(Next::Reopen);
    }
    s.last_used = Instant::now();
    if s.stored_bytes() + data.len() as u64 > incoming.max_document_bytes {
        return Err(Refusal::DocumentTooLarge {
            limit: incoming.max_document_bytes,
        });
    }
    let peer = s.peers.entry(incoming.conn).or_insert_with(|| Peer {
        session: DocSession::new(),
        peer_id: incoming.peer_id.clone(),
        outbox: incoming.outbox.clone(),
        fresh: false,
    });
    peer.fresh |= from_empty;
    // DocSession::receive also empties Automerge's patch log, which otherwise grows with every
    // text splice (84 MB over the relay benchmark).
    peer.session
        .receive(&mut s.doc, data)
        .map_err(|e| Refusal::BadSync(e.to_string()))?;
    s.unstored_bytes += data.len() as u64;
    // Read and claimed under the state lock, and given back by the writer under it too.
    if writing.load(Ordering::Acquire) {
        return Ok(Next::Done { sent: 0 });
    }
    if s.doc.get_heads() != s.stored_heads {
        writing.store(true, Ordering::Release);
        return Ok(Next::Write);
    }
    Ok(Next::Done {
        sent: answer(s, &incoming.relay_peer, incoming.id, false),
    })
}

/// Sends every peer what its session has to say. With `advertise`, each also hears the newly stored
/// heads — its acknowledgement — even one Automerge would leave silent because it holds them already.
/// Only called when memory holds nothing storage lacks. Returns how many messages went out.
pub(crate) fn answer(s: &mut DocState, relay_peer: &str, id: DocumentId, advertise: bool) -> u64 {
    let mut sent = 0;
    for peer in s.peers.values_mut() {
        if advertise {
            peer.session.advertise_heads();
        }
        peer.fresh = false;
        while let Some(data) = peer.session.poll_message(&mut s.doc, 0) {
            sent += 1;
            peer.outbox.send(Frame::Binary(
                Message::Sync {
                    sender_id: relay_peer.to_owned(),
                    target_id: peer.peer_id.clone(),
                    document_id: id,
                    data,
                }
                .encode(),
            ));
        }
    }
    sent
}
