//! The sans-IO `Hub` fed arbitrary frames: the relay's decisions (`chatsync_protocol::hub`) for two
//! connections of one user, driven here with no runtime and no socket — the same records as
//! `relay_frames` (`chatsync_fuzz::records`). Storage is in memory, holding
//! a real thread under the document id the captured frames sync; each record's flags say what
//! storage and the clock do around it:
//!
//! - bit 0: the storage tasks this frame leads to fail (an append stores nothing);
//! - bit 1: storage holds them until a later frame without this bit (so frames arrive mid-write);
//! - bit 2: 30 s pass before the frame (pings, idle and join deadlines fall due).
//!
//! Checked besides "no panic": every frame the hub sends decodes; no session hears heads storage
//! does not hold (store before acknowledge); each document has at most one storage task in flight;
//! once both connections end and storage is drained, no session, connection count or in-flight task
//! is left. A panic raised inside Automerge (`chatsync_fuzz::panics`, known and reported) is caught
//! around the document's step and drops the document, as the relay does.
#![no_main]

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Duration;

use chatsync_fuzz::records::{self, Record};
use chatsync_fuzz::{fixtures, panics};
use chatsync_protocol::automerge::sync::Message as SyncMessage;
use chatsync_protocol::hub::{
    Access, Candidate, Compaction, Due, Hub, HubConfig, HubConnection, HubDocument, Refusal, Route,
    StorageFailure, StorageTask, StoredDocument,
};
use chatsync_protocol::{DocumentId, Message, holds_all};
use libfuzzer_sys::fuzz_target;

const FAIL: u8 = 1;
const HOLD: u8 = 2;
const LATER: u8 = 4;

/// The stored thread, saved once.
fn stored() -> &'static StoredDocument {
    static STORED: OnceLock<StoredDocument> = OnceLock::new();
    STORED.get_or_init(|| {
        let mut thread = fixtures::thread(b"stored");
        StoredDocument {
            owner: fixtures::USER.into(),
            heads: thread.heads(),
            snapshot: thread.save().expect("a saved thread"),
            chunks: Vec::new(),
        }
    })
}

/// The defaults, but with caps small enough for short inputs to reach, as in `relay_frames`.
fn config() -> HubConfig {
    HubConfig {
        max_documents_per_connection: 4,
        max_document_bytes: 256 << 10,
        max_document_bytes_per_connection: 64 << 10,
        ..HubConfig::default()
    }
}

fuzz_target!(|input: &[u8]| {
    let mut relay = Relay::new();
    for (conn, record, flags) in records::parse_flagged(input) {
        relay.feed(conn, record, flags);
    }
    relay.finish();
});

struct Pending {
    document: DocumentId,
    task: StorageTask,
    fails: bool,
}

struct Relay {
    hub: Hub,
    now: Duration,
    /// The two connections; `None` once ended.
    conns: Vec<Option<HubConnection>>,
    documents: HashMap<DocumentId, HubDocument>,
    storage: HashMap<DocumentId, StoredDocument>,
    held: VecDeque<Pending>,
}

impl Relay {
    fn new() -> Self {
        let mut hub = Hub::new(config());
        let conns = (0..2)
            .map(|conn| {
                let (connection, admitted) =
                    hub.connect(conn, fixtures::USER, Duration::ZERO, None);
                admitted.expect("two connections are under the cap");
                Some(connection)
            })
            .collect();
        Self {
            hub,
            now: Duration::ZERO,
            conns,
            documents: HashMap::new(),
            storage: HashMap::from([(fixtures::captured_document(), stored().clone())]),
            held: VecDeque::new(),
        }
    }

    fn feed(&mut self, conn: usize, record: Record, flags: u8) {
        self.now += Duration::from_millis(1);
        if flags & LATER != 0 {
            self.now += Duration::from_secs(30);
        }
        self.timeouts();
        let Some(hub_conn) = self.conns[conn].as_mut() else {
            return; // ended: like a socket gone
        };
        let result = match record {
            Record::Binary(bytes) => match hub_conn.handle_frame(self.now, &bytes) {
                Ok(route) => self.route(conn, route, flags),
                Err(refusal) => Err(refusal),
            },
            Record::Text => Err(Refusal::Text),
            Record::Keepalive => {
                hub_conn.handle_keepalive(self.now);
                Ok(())
            }
            Record::Error(message) => Err(Refusal::Socket(message)),
        };
        if let Err(refusal) = result {
            self.end(conn, Some(&refusal));
        }
        if flags & HOLD == 0 {
            self.drain();
        }
    }

    fn timeouts(&mut self) {
        for conn in 0..2 {
            let Some(hub_conn) = self.conns[conn].as_mut() else {
                continue;
            };
            if hub_conn.poll_timeout() > self.now {
                continue;
            }
            if let Some(Due::Close(refusal)) = hub_conn.handle_timeout(self.now) {
                self.end(conn, Some(&refusal));
            }
        }
    }

    fn route(&mut self, conn: usize, route: Route, flags: u8) -> Result<(), Refusal> {
        let id = conn as u64;
        match route {
            Route::Reply(frame) => {
                Message::decode(&frame).expect("the hub's join answer decodes");
            }
            Route::Sync(request) => {
                let document = request.document;
                let hub_conn = self.conns[conn].as_mut().expect("live");
                self.hub.open_session(hub_conn, document)?;
                if request.is_cold_load() && !self.documents.contains_key(&document) {
                    let hub_conn = self.conns[conn].as_ref().expect("live");
                    let reply = self
                        .storage
                        .get(&document)
                        .cloned()
                        .and_then(|stored| hub_conn.cold_load_reply(document, stored));
                    if let Some(frame) = reply {
                        check_frame(&frame, self.storage.get(&document));
                        return Ok(());
                    }
                }
                if !self.open(document, request.creates())? {
                    let hub_conn = self.conns[conn].as_ref().expect("live");
                    Message::decode(&hub_conn.unavailable(document)).expect("decodes");
                    return Ok(());
                }
                let peer = self.conns[conn]
                    .as_ref()
                    .and_then(HubConnection::peer_id)
                    .expect("joined")
                    .to_owned();
                let now = self.now;
                self.step(document, flags, |d| {
                    d.handle_sync(now, id, &peer, &request.data)
                })??;
            }
            Route::Ephemeral { document, message } => {
                if self
                    .documents
                    .get(&document)
                    .is_some_and(|d| d.admits(fixtures::USER))
                {
                    self.step(document, flags, |d| d.handle_ephemeral(id, &message))?;
                }
            }
            Route::Leave => self.end(conn, None),
            _ => {}
        }
        Ok(())
    }

    /// Whether the document is in memory (loaded or made if need be) and the user may open it.
    fn open(&mut self, document: DocumentId, creates: bool) -> Result<bool, Refusal> {
        if let Some(d) = self.documents.get(&document) {
            return Ok(d.admits(fixtures::USER));
        }
        let candidates = self
            .documents
            .iter()
            .map(|(id, d)| Candidate {
                id: *id,
                last_used: d.last_used(),
                stored_bytes: d.stored_bytes(),
                idle: d.is_idle(),
            })
            .collect();
        for evicted in self.hub.admit_load(fixtures::USER, candidates)? {
            self.documents.remove(&evicted);
        }
        let stored = self.storage.get(&document);
        let config = self.hub.document_config();
        let loaded = match Hub::access(stored.map(|s| s.owner.as_str()), fixtures::USER, creates) {
            Access::Unavailable => return Ok(false),
            Access::Create => HubDocument::new(document, fixtures::USER, config, self.now),
            Access::Open => {
                let stored = stored.expect("stored");
                let now = self.now;
                let loaded = panics::containing(|| {
                    catch_unwind(|| HubDocument::load(document, stored, config, now))
                });
                loaded.map_err(|_| Refusal::Panicked)??
            }
        };
        self.hub
            .document_loaded(document, fixtures::USER, loaded.stored_bytes());
        self.documents.insert(document, loaded);
        Ok(true)
    }

    /// One step of a document, then its effects carried out.
    fn step<T>(
        &mut self,
        document: DocumentId,
        flags: u8,
        step: impl FnOnce(&mut HubDocument) -> T,
    ) -> Result<T, Refusal> {
        let d = self.documents.get_mut(&document).expect("in memory");
        let stepped = panics::containing(|| catch_unwind(AssertUnwindSafe(|| step(d))));
        let Ok(value) = stepped else {
            // Automerge panicked mid-step: this copy may be half-changed.
            self.forget(document);
            return Err(Refusal::Panicked);
        };
        self.carry(document, flags);
        Ok(value)
    }

    fn carry(&mut self, document: DocumentId, flags: u8) {
        loop {
            let Some(d) = self.documents.get_mut(&document) else {
                return;
            };
            let effects = d.take_effects();
            let compact = effects.compaction_due && d.compact(Compaction::WhenLarge);
            let stored = self.storage.get(&document);
            for (_, frame) in &effects.transmits {
                check_frame(frame, stored);
            }
            for (conn, close) in effects.closes {
                Message::decode(&close.error_frame).expect("an error frame decodes");
                self.end(conn as usize, None);
            }
            for task in effects.tasks {
                let fails = flags & FAIL != 0;
                self.held.push_back(Pending {
                    document,
                    task,
                    fails,
                });
            }
            let in_flight = self.held.iter().filter(|p| p.document == document).count();
            assert!(
                in_flight <= 1,
                "more than one storage task in flight for one document"
            );
            if effects.forget {
                self.forget(document);
                return;
            }
            if !compact {
                return;
            }
        }
    }

    fn forget(&mut self, document: DocumentId) {
        self.documents.remove(&document);
        self.hub.document_forgotten(&document);
    }

    /// Storage completes every held task, in order, and those they lead to.
    fn drain(&mut self) {
        while let Some(Pending {
            document,
            task,
            fails,
        }) = self.held.pop_front()
        {
            let now = self.now;
            match task {
                StorageTask::Append { key, chunk, heads } => {
                    let result = if fails {
                        Err(StorageFailure::Unavailable)
                    } else {
                        let entry =
                            self.storage
                                .entry(document)
                                .or_insert_with(|| StoredDocument {
                                    owner: key.owner().to_owned(),
                                    snapshot: Vec::new(),
                                    chunks: Vec::new(),
                                    heads: Vec::new(),
                                });
                        entry.chunks.push(chunk);
                        entry.heads = heads;
                        Ok(entry.chunks.iter().map(|c| c.len() as u64).sum())
                    };
                    if self.documents.contains_key(&document) {
                        let _ = self.step(document, 0, |d| d.handle_appended(now, result));
                    }
                }
                StorageTask::Load { .. } => {
                    let result = if fails {
                        Err(StorageFailure::Unavailable)
                    } else {
                        Ok(self.storage.get(&document).cloned())
                    };
                    if self.documents.contains_key(&document) {
                        let _ = self.step(document, 0, |d| d.handle_loaded(now, result));
                    }
                }
                StorageTask::Compact { snapshot, .. } => {
                    let result = if fails {
                        Err(StorageFailure::Unavailable)
                    } else if let Some(entry) = self.storage.get_mut(&document) {
                        entry.snapshot = snapshot;
                        entry.chunks.clear();
                        Ok(())
                    } else {
                        Err(StorageFailure::Unavailable)
                    };
                    if self.documents.contains_key(&document) {
                        let _ = self.step(document, 0, |d| d.handle_compacted(now, result));
                    }
                }
                _ => {}
            }
        }
    }

    /// A connection ends: refused (its close decodes), closed by a document, or gone.
    fn end(&mut self, conn: usize, refusal: Option<&Refusal>) {
        let Some(mut hub_conn) = self.conns.get_mut(conn).and_then(Option::take) else {
            return;
        };
        if let Some(refusal) = refusal {
            let close = hub_conn.refuse(refusal);
            Message::decode(&close.error_frame).expect("an error frame decodes");
        }
        for document in hub_conn.documents().clone() {
            if let Some(d) = self.documents.get_mut(&document) {
                d.handle_leave(self.now, conn as u64);
            }
        }
        self.hub.disconnect(&mut hub_conn);
    }

    fn finish(mut self) {
        for conn in 0..2 {
            self.end(conn, None);
        }
        self.drain();
        assert_eq!(
            self.hub.connections_of(fixtures::USER),
            0,
            "a connection is still counted"
        );
        for d in self.documents.values() {
            assert_eq!(d.sessions(), 0, "a session outlived its connection");
            assert!(d.is_idle(), "a storage task is still in flight");
        }
    }
}

/// A frame the hub sends decodes, and a sync message in it advertises only heads storage holds.
fn check_frame(frame: &[u8], stored: Option<&StoredDocument>) {
    let message = Message::decode(frame).expect("the hub sent a message that does not decode");
    let Message::Sync { data, .. } = message else {
        return;
    };
    let heads = SyncMessage::decode(&data)
        .expect("the hub sent a sync payload")
        .heads;
    if heads.is_empty() {
        return;
    }
    let stored = stored.expect("heads advertised for a document storage never held");
    // Usually the heads storage recorded last; only otherwise is the whole of storage read.
    if heads.iter().all(|h| stored.heads.contains(h)) {
        return;
    }
    let mut doc = chatsync_protocol::automerge::AutoCommit::new();
    if !stored.snapshot.is_empty() {
        doc.load_incremental(&stored.snapshot)
            .expect("storage loads");
    }
    doc.load_incremental(&stored.chunks.concat())
        .expect("storage loads");
    assert!(
        holds_all(&mut doc, &heads),
        "the hub advertised heads storage does not hold"
    );
}
