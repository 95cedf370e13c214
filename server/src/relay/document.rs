//! Documents in memory: loading on demand, the store-before-acknowledge rule, and fan-out of sync
//! messages to every connection on a document. Which documents may stay in memory is in
//! [`super::residency`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use automerge::{AutoCommit, ChangeHash};
use chatsync_protocol::{DocSession, DocumentId, Message};
use tokio::sync::Mutex;

use super::connection::Frame;
use super::outbox::Outbox;
use super::refusal::Refusal;
use super::{ConnId, Metrics, Relay};
use crate::storage::{Storage, StorageError};

/// Chunks below this many bytes are never worth compacting while the document is in use.
const COMPACT_AFTER_BYTES: u64 = 64 << 10;

/// A document held in memory with its sync sessions.
pub(crate) struct LoadedDocument {
    doc: AutoCommit,
    /// The user who stored it first — or, before the first store, the user whose sync created it.
    pub(super) owner: String,
    /// The heads of what storage holds. Never ahead of storage: replies advertise only stored changes.
    stored_heads: Vec<ChangeHash>,
    snapshot_bytes: u64,
    chunk_bytes: u64,
    peers: HashMap<ConnId, Peer>,
    pub(super) last_used: Instant,
    /// The highest ephemeral `count` seen per session, to drop echoes and duplicates.
    ephemeral_seen: HashMap<String, u64>,
}

/// One connection's view of a document.
struct Peer {
    session: DocSession,
    peer_id: String,
    outbox: Outbox,
}

/// Who is speaking, as the document code needs to know it.
pub(crate) struct Speaker<'a> {
    pub conn: ConnId,
    pub user: &'a str,
    pub peer_id: &'a str,
    pub outbox: &'a Outbox,
}

impl LoadedDocument {
    pub(super) fn stored_bytes(&self) -> u64 {
        self.snapshot_bytes + self.chunk_bytes
    }

    /// Whether no connection has a session on it (it may leave memory).
    pub(super) fn is_idle(&self) -> bool {
        self.peers.is_empty()
    }

    /// Ends `conn`'s session on it, if any.
    pub(super) fn remove_session(&mut self, conn: ConnId) {
        self.peers.remove(&conn);
        self.last_used = Instant::now();
    }

    /// How many connections have a session on it.
    pub(crate) fn sessions(&self) -> usize {
        self.peers.len()
    }
}

impl<S: Storage> Relay<S> {
    /// The document, if it exists and `user` owns it; with `create`, a document nobody has stored yet
    /// is made in memory for `user`. Another user's document is reported exactly like a missing one.
    async fn open_document(
        &self,
        id: &DocumentId,
        user: &str,
        create: bool,
    ) -> Result<Option<Arc<Mutex<LoadedDocument>>>, Refusal> {
        if let Some(handle) = self.documents.lock().await.get(id).cloned() {
            let owner_matches = handle.lock().await.owner == user;
            return Ok(owner_matches.then_some(handle));
        }
        self.admit_load(user).await?;
        let started = Instant::now();
        let loaded = match self.storage.load(id).await.map_err(Refusal::Storage)? {
            Some(stored) => {
                if stored.owner != user {
                    return Ok(None);
                }
                let read = started.elapsed();
                let mut doc = if stored.snapshot.is_empty() {
                    AutoCommit::new()
                } else {
                    AutoCommit::load(&stored.snapshot)
                        .map_err(|e| Refusal::Corrupt(e.to_string()))?
                };
                // One call for all chunks: Automerge reads a concatenation of chunks, and applying them
                // one by one re-indexes the document each time (seconds for thousands of chunks).
                let chunks = stored.chunks.concat();
                let chunk_bytes = chunks.len() as u64;
                if !chunks.is_empty() {
                    doc.load_incremental(&chunks)
                        .map_err(|e| Refusal::Corrupt(e.to_string()))?;
                }
                tracing::debug!(
                    document = %id,
                    snapshot_bytes = stored.snapshot.len(),
                    chunks = stored.chunks.len(),
                    read_ms = read.as_millis() as u64,
                    total_ms = started.elapsed().as_millis() as u64,
                    "loaded from storage"
                );
                LoadedDocument {
                    stored_heads: doc.get_heads(),
                    doc,
                    owner: stored.owner,
                    snapshot_bytes: stored.snapshot.len() as u64,
                    chunk_bytes,
                    peers: HashMap::new(),
                    last_used: Instant::now(),
                    ephemeral_seen: HashMap::new(),
                }
            }
            None if create => LoadedDocument {
                doc: AutoCommit::new(),
                owner: user.to_owned(),
                stored_heads: Vec::new(),
                snapshot_bytes: 0,
                chunk_bytes: 0,
                peers: HashMap::new(),
                last_used: Instant::now(),
                ephemeral_seen: HashMap::new(),
            },
            None => return Ok(None),
        };
        // Another connection may have loaded it meanwhile: keep the first, so sessions share one copy.
        let handle = match self.documents.lock().await.entry(*id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.get().clone(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let (owner, bytes) = (loaded.owner.clone(), loaded.stored_bytes());
                self.with_ledger(|ledger| ledger.insert(*id, &owner, bytes));
                entry.insert(Arc::new(Mutex::new(loaded))).clone()
            }
        };
        let owner_matches = handle.lock().await.owner == user;
        Ok(owner_matches.then_some(handle))
    }

    /// A `sync` or `request` from a connection: apply it, store what is new, then answer every peer.
    pub(crate) async fn handle_sync(
        &self,
        from: &Speaker<'_>,
        id: DocumentId,
        data: &[u8],
        is_request: bool,
    ) -> Result<(), Refusal> {
        Metrics::inc(&self.metrics.sync_in);
        if is_request && self.serve_cold_load(from, id, data).await? {
            return Ok(());
        }
        let Some(handle) = self.open_document(&id, from.user, !is_request).await? else {
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
            return Ok(());
        };
        let mut guard = handle.lock().await;
        let d = &mut *guard;
        d.last_used = Instant::now();
        let incoming = d.stored_bytes() + data.len() as u64;
        if incoming > self.limits.max_document_bytes {
            return Err(Refusal::DocumentTooLarge {
                limit: self.limits.max_document_bytes,
            });
        }
        let peer = d.peers.entry(from.conn).or_insert_with(|| Peer {
            session: DocSession::new(),
            peer_id: from.peer_id.to_owned(),
            outbox: from.outbox.clone(),
        });
        // DocSession::receive also empties Automerge's patch log, which otherwise grows with every
        // text splice (84 MB over the relay benchmark).
        peer.session
            .receive(&mut d.doc, data)
            .map_err(|e| Refusal::BadSync(e.to_string()))?;
        let stored_before = d.stored_heads.clone();
        if let Err(refusal) = self.store_new_changes(&id, d).await {
            // What is in memory is now ahead of storage: drop it, so nothing unstored is ever
            // advertised. Peers resync from storage on their next message.
            drop(guard);
            self.forget_documents([&id]).await;
            return Err(refusal);
        }
        let stored_new = d.stored_heads != stored_before;
        for peer in d.peers.values_mut() {
            if stored_new {
                // Every peer hears the newly stored heads — its acknowledgement — even one Automerge
                // would leave silent because it already holds them.
                peer.session.advertise_heads();
            }
            while let Some(data) = peer.session.poll_message(&mut d.doc, 0) {
                Metrics::inc(&self.metrics.sync_out);
                peer.outbox.send(Frame::Binary(
                    Message::Sync {
                        sender_id: self.peer_id.clone(),
                        target_id: peer.peer_id.clone(),
                        document_id: id,
                        data,
                    }
                    .encode(),
                ));
            }
        }
        // Compact once the chunks are bigger than the snapshot (and worth the rewrite) — after the
        // replies have gone out: saving the whole document takes milliseconds that the change's
        // acknowledgement and its delivery to the other devices need not wait for.
        if d.chunk_bytes > d.snapshot_bytes.max(COMPACT_AFTER_BYTES) {
            self.compact(&id, d).await;
        }
        Ok(())
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
        if !chatsync_protocol::is_from_empty_peer(data)
            || self.documents.lock().await.contains_key(&id)
        {
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

    /// Appends the changes storage lacks.
    async fn store_new_changes(
        &self,
        id: &DocumentId,
        d: &mut LoadedDocument,
    ) -> Result<(), Refusal> {
        let heads = d.doc.get_heads();
        if heads == d.stored_heads {
            return Ok(());
        }
        let chunk = d.doc.save_after(&d.stored_heads);
        let started = Instant::now();
        let stored = self.storage.append(id, &d.owner, &chunk, &heads).await;
        self.record_write(started);
        d.chunk_bytes = stored.map_err(|e| match e {
            StorageError::NotOwner(_) => Refusal::Unavailable,
            e => Refusal::Storage(e),
        })?;
        d.stored_heads = heads;
        self.stored_bytes_changed(chunk.len() as i64);
        self.with_ledger(|ledger| ledger.resize(id, d.stored_bytes()));
        Ok(())
    }

    /// Keeps the `bytes_stored` gauge, so `/metrics` never sums storage.
    fn stored_bytes_changed(&self, delta: i64) {
        self.metrics
            .bytes_stored
            .fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
    }

    fn record_write(&self, started: Instant) {
        Metrics::inc(&self.metrics.storage_writes);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.metrics
            .storage_write_micros
            .fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
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
        let handle = match self.open_document(&document_id, from.user, false).await {
            Ok(Some(handle)) => handle,
            _ => return,
        };
        let mut d = handle.lock().await;
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

    /// Compacts `d` if it has chunks and storage holds all of it. Failure only costs speed, so it
    /// is logged, not raised.
    pub(super) async fn compact(&self, id: &DocumentId, d: &mut LoadedDocument) {
        let heads = d.doc.get_heads();
        // Only what storage already holds may be compacted (never unstored changes).
        if d.chunk_bytes == 0 || d.stored_heads != heads {
            return;
        }
        let snapshot = d.doc.save();
        let started = Instant::now();
        match self.storage.compact(id, &snapshot).await {
            Ok(()) => {
                self.record_write(started);
                let before = d.stored_bytes() as i64;
                d.snapshot_bytes = snapshot.len() as u64;
                d.chunk_bytes = 0;
                self.stored_bytes_changed(d.stored_bytes() as i64 - before);
                self.with_ledger(|ledger| ledger.resize(id, d.stored_bytes()));
            }
            Err(e) => tracing::warn!(document = %id, error = %e, "compaction failed"),
        }
    }
}
