//! The relay in the simulation: the real [`Hub`], [`HubConnection`]s and [`HubDocument`] of
//! `chatsync_protocol::hub`, driven the way the relay's driver drives them — frames in, effects
//! carried out — over storage in memory that can be slow or fail.
//!
//! Storage tasks take `storage_latency` of virtual time and complete in order; a failed append
//! stores nothing. Meanwhile the relay keeps reading frames (the real relay does: the hub keeps one
//! storage task in flight per document and answers nobody while memory is ahead of storage). A
//! restart loses memory, sessions, connections and every task not yet completed.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chatsync_protocol::DocumentId;
use chatsync_protocol::automerge::AutoCommit;
use chatsync_protocol::hub::{
    Compaction, Hub, HubConfig, HubConnection, HubDocument, HubEffects, Refusal, Route,
    StorageFailure, StorageTask, StoredDocument,
};

pub const STORAGE_ID: &str = "sim-storage";
const USER: &str = "alice";

/// One socket, seen from the relay.
pub struct Conn {
    pub device: usize,
    hub: HubConnection,
    /// Frames on the wire, in order (a WebSocket runs over TCP).
    pub to_relay: VecDeque<Vec<u8>>,
    pub to_device: VecDeque<Vec<u8>>,
}

/// A storage task storage has not completed yet.
struct Pending {
    task: StorageTask,
    done_at: Duration,
    fails: bool,
    /// The copy of the document that asked: a result for a copy that left memory is dropped (the
    /// real relay steps it into that copy, which nobody holds any more).
    generation: u64,
}

/// What the relay did that the network must carry out.
pub enum Effect {
    /// The relay closed the connection with this code (already gone from `conns`; the device
    /// hears it).
    Close {
        conn: u64,
        code: u16,
        reason: String,
    },
}

pub struct Relay {
    pub document: DocumentId,
    /// What storage holds: never loses anything, never holds what was not written.
    pub stored: AutoCommit,
    stored_chunk_bytes: u64,
    hub: Hub,
    /// The document in memory, and which copy it is.
    memory: Option<HubDocument>,
    generation: u64,
    pub conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    pending: VecDeque<Pending>,
    pub up: bool,
    pub storage_latency: Duration,
    pub fail_next_write: bool,
    /// Frames the relay sent, `peer` excluded.
    pub sent: usize,
}

fn config() -> HubConfig {
    HubConfig {
        relay_peer_id: "sim-relay".into(),
        storage_id: STORAGE_ID.into(),
        // Virtual time stands still between many steps: the per-second budgets are not simulated.
        max_frames_per_second: u32::MAX,
        max_bytes_per_second: u64::MAX,
        ..HubConfig::default()
    }
}

impl Relay {
    pub fn new(document: DocumentId, stored: AutoCommit) -> Self {
        Self {
            document,
            stored,
            stored_chunk_bytes: 0,
            hub: Hub::new(config()),
            memory: None,
            generation: 0,
            conns: BTreeMap::new(),
            next_conn: 0,
            pending: VecDeque::new(),
            up: true,
            storage_latency: Duration::ZERO,
            fail_next_write: false,
            sent: 0,
        }
    }

    pub fn accept(&mut self, now: Duration, device: usize) -> u64 {
        self.next_conn += 1;
        let (hub, admitted) = self.hub.connect(self.next_conn, USER, now, None);
        admitted.expect("a device's connections stay under the cap");
        let conn = Conn {
            device,
            hub,
            to_relay: VecDeque::new(),
            to_device: VecDeque::new(),
        };
        self.conns.insert(self.next_conn, conn);
        self.next_conn
    }

    /// The connection closed (the device's side saw it already, or will).
    pub fn drop_conn(&mut self, now: Duration, conn: u64) -> Option<Conn> {
        let mut c = self.conns.remove(&conn)?;
        self.hub.disconnect(&mut c.hub);
        if let Some(memory) = &mut self.memory {
            memory.handle_leave(now, conn);
        }
        Some(c)
    }

    /// Whether a storage task is in flight.
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn write_due(&self) -> Option<Duration> {
        self.pending.front().map(|p| p.done_at)
    }

    /// Restarts: memory, connections and uncompleted tasks are gone. Returns the connections lost.
    pub fn restart(&mut self) -> Vec<u64> {
        self.pending.clear();
        self.memory = None;
        self.hub = Hub::new(config());
        let lost = self.conns.keys().copied().collect();
        self.conns.clear();
        lost
    }

    fn stored_document(&mut self) -> StoredDocument {
        StoredDocument {
            owner: USER.into(),
            snapshot: self.stored.save(),
            chunks: Vec::new(),
            heads: self.stored.get_heads(),
        }
    }

    /// The document in memory, loaded from storage if it is not (loads are instant here).
    fn open(&mut self, now: Duration) -> &mut HubDocument {
        if self.memory.is_none() {
            let stored = self.stored_document();
            let config = self.hub.document_config();
            let loaded = HubDocument::load(self.document, &stored, config, now)
                .expect("storage holds a valid document");
            self.hub
                .document_loaded(self.document, USER, loaded.stored_bytes());
            self.generation += 1;
            self.memory = Some(loaded);
        }
        self.memory.as_mut().expect("just loaded")
    }

    /// Reads the next frame of `conn`.
    pub fn deliver(&mut self, now: Duration, conn: u64) -> Vec<Effect> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Vec::new();
        };
        let Some(frame) = c.to_relay.pop_front() else {
            return Vec::new();
        };
        let route = c
            .hub
            .handle_frame(now, &frame)
            .expect("devices send frames the relay accepts");
        match route {
            Route::Reply(frame) => c.to_device.push_back(frame),
            Route::Sync(request) => {
                assert_eq!(request.document, self.document);
                self.hub
                    .open_session(&mut c.hub, request.document)
                    .expect("one document is within every budget");
                let peer = c.hub.peer_id().expect("joined").to_owned();
                let memory = self.open(now);
                assert!(memory.admits(USER));
                let mut closed = Vec::new();
                if let Err(refusal) = memory.handle_sync(now, conn, &peer, &request.data) {
                    // Changes sent while storage failed under the document: the device reconnects.
                    assert!(matches!(refusal, Refusal::Storage), "refused: {refusal}");
                    let close = self.conns[&conn].hub.refuse(&refusal);
                    self.drop_conn(now, conn);
                    closed.push(Effect::Close {
                        conn,
                        code: close.code,
                        reason: close.reason,
                    });
                }
                closed.extend(self.carry(now));
                return closed;
            }
            Route::Nothing => {}
            other => panic!("unexpected {other:?} from a device"),
        }
        Vec::new()
    }

    /// Carries out what the document in memory asked for.
    fn carry(&mut self, now: Duration) -> Vec<Effect> {
        let mut closed = Vec::new();
        loop {
            let Some(memory) = &mut self.memory else {
                return closed;
            };
            let effects: HubEffects = memory.take_effects();
            let compaction_due = effects.compaction_due;
            for (conn, frame) in effects.transmits {
                if let Some(c) = self.conns.get_mut(&conn) {
                    self.sent += 1;
                    c.to_device.push_back(frame);
                }
            }
            for task in effects.tasks {
                let fails = matches!(task, StorageTask::Append { .. })
                    && std::mem::take(&mut self.fail_next_write);
                self.pending.push_back(Pending {
                    task,
                    done_at: now + self.storage_latency,
                    fails,
                    generation: self.generation,
                });
            }
            for (conn, close) in effects.closes {
                if let Some(mut c) = self.conns.remove(&conn) {
                    self.hub.disconnect(&mut c.hub);
                    closed.push(Effect::Close {
                        conn,
                        code: close.code,
                        reason: close.reason,
                    });
                }
            }
            if effects.forget {
                self.hub.document_forgotten(&self.document);
                self.memory = None;
                return closed;
            }
            if !(compaction_due && memory.compact(Compaction::WhenLarge)) {
                // Frames and tasks, if any, are carried; nothing more to ask.
                let memory = self.memory.as_mut().expect("in memory");
                let more = memory.take_effects();
                assert!(more.is_empty(), "effects left uncarried: {more:?}");
                return closed;
            }
        }
    }

    /// Completes the storage tasks that are due, in order.
    pub fn finish_write(&mut self, now: Duration) -> Vec<Effect> {
        let mut effects = Vec::new();
        while self.pending.front().is_some_and(|p| p.done_at <= now) {
            let pending = self.pending.pop_front().expect("a due task");
            let current = pending.generation == self.generation;
            match pending.task {
                StorageTask::Append { chunk, .. } => {
                    let result = if pending.fails {
                        Err(StorageFailure::Unavailable)
                    } else {
                        self.stored
                            .load_incremental(&chunk)
                            .expect("the relay stores valid changes");
                        self.stored_chunk_bytes += chunk.len() as u64;
                        Ok(self.stored_chunk_bytes)
                    };
                    if let Some(memory) = self.memory.as_mut().filter(|_| current) {
                        memory.handle_appended(now, result);
                    }
                }
                StorageTask::Load { .. } => {
                    let stored = self.stored_document();
                    if let Some(memory) = self.memory.as_mut().filter(|_| current) {
                        memory.handle_loaded(now, Ok(Some(stored)));
                    }
                }
                StorageTask::Compact { .. } => {
                    self.stored_chunk_bytes = 0;
                    if let Some(memory) = self.memory.as_mut().filter(|_| current) {
                        memory.handle_compacted(now, Ok(()));
                    }
                }
                _ => {}
            }
            effects.extend(self.carry(now));
        }
        effects
    }
}
