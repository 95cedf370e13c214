//! A stand-in for the relay, until the `Hub` state machine exists (then the simulation runs the real
//! one): one document, a `DocSession` per connection, and storage that can be slow or fail.
//!
//! It keeps the relay's rules: it answers only after storage confirmed what it received (while a
//! write is in flight it reads no further frame, as the relay holds the document's lock across the
//! write), so the heads it advertises are always stored; a failed write drops the document from
//! memory (every session goes with it) and closes the connection that caused it with 1011; a
//! restart loses memory, sessions, connections and any write not yet confirmed.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chatsync_protocol::automerge::AutoCommit;
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata};

pub const STORAGE_ID: &str = "sim-storage";
pub const RELAY_PEER: &str = "sim-relay";

/// One socket, seen from the relay.
pub struct Conn {
    pub device: usize,
    pub peer_id: Option<String>,
    pub session: Option<DocSession>,
    /// Frames on the wire, in order (a WebSocket runs over TCP).
    pub to_relay: VecDeque<Vec<u8>>,
    pub to_device: VecDeque<Vec<u8>>,
}

/// A write storage has not confirmed yet.
struct Write {
    done_at: Duration,
    conn: u64,
    fails: bool,
}

/// What the relay did that the network must carry out.
pub enum Effect {
    /// The relay closed the connection with this code (already gone from `conns`; the device
    /// hears it).
    Close { conn: u64, code: u16 },
}

pub struct Relay {
    pub document: DocumentId,
    /// What storage holds: never loses anything, never holds what was not written.
    pub stored: AutoCommit,
    memory: AutoCommit,
    pub conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    write: Option<Write>,
    pub up: bool,
    pub storage_latency: Duration,
    pub fail_next_write: bool,
    /// Frames the relay sent, `peer` excluded.
    pub sent: usize,
}

impl Relay {
    pub fn new(document: DocumentId, stored: AutoCommit) -> Self {
        Self {
            document,
            memory: stored.clone(),
            stored,
            conns: BTreeMap::new(),
            next_conn: 0,
            write: None,
            up: true,
            storage_latency: Duration::ZERO,
            fail_next_write: false,
            sent: 0,
        }
    }

    pub fn accept(&mut self, device: usize) -> u64 {
        self.next_conn += 1;
        let conn = Conn {
            device,
            peer_id: None,
            session: None,
            to_relay: VecDeque::new(),
            to_device: VecDeque::new(),
        };
        self.conns.insert(self.next_conn, conn);
        self.next_conn
    }

    /// Whether a write is in flight (the relay reads nothing meanwhile).
    pub fn busy(&self) -> bool {
        self.write.is_some()
    }

    pub fn write_due(&self) -> Option<Duration> {
        self.write.as_ref().map(|w| w.done_at)
    }

    /// Restarts: memory, connections and unconfirmed writes are gone. Returns the connections lost.
    pub fn restart(&mut self) -> Vec<u64> {
        self.write = None;
        self.memory = self.stored.clone();
        let lost = self.conns.keys().copied().collect();
        self.conns.clear();
        lost
    }

    /// Reads the next frame of `conn`, if the relay is free to.
    pub fn deliver(&mut self, now: Duration, conn: u64) -> Vec<Effect> {
        if self.busy() {
            return Vec::new();
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return Vec::new();
        };
        let Some(frame) = c.to_relay.pop_front() else {
            return Vec::new();
        };
        match Message::decode(&frame).expect("devices send well-formed frames") {
            Message::Join { sender_id, .. } => {
                c.to_device.push_back(
                    Message::Peer {
                        sender_id: RELAY_PEER.into(),
                        target_id: sender_id.clone(),
                        peer_metadata: PeerMetadata {
                            storage_id: Some(STORAGE_ID.into()),
                            is_ephemeral: Some(false),
                        },
                        selected_protocol_version: "1".into(),
                    }
                    .encode(),
                );
                c.peer_id = Some(sender_id);
            }
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } => {
                assert_eq!(document_id, self.document);
                assert!(c.peer_id.is_some(), "a sync message before join");
                let session = c.session.get_or_insert_with(DocSession::new);
                session
                    .receive(&mut self.memory, &data)
                    .expect("devices send valid sync messages");
                if self.memory.get_heads() != self.stored.get_heads() {
                    let fails = std::mem::take(&mut self.fail_next_write);
                    let done_at = now + self.storage_latency;
                    self.write = Some(Write {
                        done_at,
                        conn,
                        fails,
                    });
                    return self.finish_write(now);
                }
                self.answer(false);
            }
            other => panic!("unexpected {} from a device", other.type_name()),
        }
        Vec::new()
    }

    /// Completes the write in flight once it is due.
    pub fn finish_write(&mut self, now: Duration) -> Vec<Effect> {
        let Some(write) = self.write.take_if(|w| w.done_at <= now) else {
            return Vec::new();
        };
        if write.fails {
            // Memory is ahead of storage: drop it, so nothing unstored is ever advertised.
            self.memory = self.stored.clone();
            // Every session was about the memory just dropped. The connection that caused the write
            // is closed; the others start fresh sessions and speak first, or a device with nothing
            // to send would never hear of later changes. (The real relay drops their sessions
            // without a word: found by this simulation, see the report of the Link work.)
            self.conns.remove(&write.conn);
            for conn in self.conns.values_mut() {
                if conn.session.is_some() {
                    conn.session = Some(DocSession::new());
                }
            }
            self.answer(false);
            return vec![Effect::Close {
                conn: write.conn,
                code: 1011,
            }];
        }
        self.stored = self.memory.clone();
        self.answer(true);
        Vec::new()
    }

    /// Answers every session; after a store, every peer hears the new heads (its acknowledgement).
    fn answer(&mut self, stored_new: bool) {
        for conn in self.conns.values_mut() {
            let (Some(session), Some(peer)) = (&mut conn.session, &conn.peer_id) else {
                continue;
            };
            if stored_new {
                session.advertise_heads();
            }
            while let Some(data) = session.poll_message(&mut self.memory, 0) {
                self.sent += 1;
                conn.to_device.push_back(
                    Message::Sync {
                        sender_id: RELAY_PEER.into(),
                        target_id: peer.clone(),
                        document_id: self.document,
                        data,
                    }
                    .encode(),
                );
            }
        }
    }
}
