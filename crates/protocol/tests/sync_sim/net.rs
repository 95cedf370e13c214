//! The simulated network: devices, each a real [`Link`] with its documents, joined to the relay
//! by ordered connections; and the steps a case is made of.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc};
use chatsync_protocol::{
    BackoffConfig, Disconnect, DocumentId, Link, LinkConfig, LinkEvent, SavedSync, holds_all,
};

use crate::Rng;
use crate::relay::{Effect, Relay};

pub struct Device {
    pub link: Link,
    pub docs: HashMap<DocumentId, AutoCommit>,
    conn: Option<u64>,
    /// Changes this device made.
    pub own: Vec<ChangeHash>,
    /// Frames it sent, `join` included.
    pub sent: usize,
    /// Released (as a store drops a thread nothing shows), with the sync state it keeps to resume
    /// from when it holds the document again.
    released: Option<Option<SavedSync>>,
}

pub struct Sim {
    now: Duration,
    pub document: DocumentId,
    pub relay: Relay,
    pub devices: Vec<Device>,
    /// Every change any device saw acknowledged.
    pub acknowledged: HashSet<ChangeHash>,
    pub edits: usize,
    pub connections: usize,
}

impl Sim {
    pub fn new(rng: &mut Rng) -> Self {
        let document = DocumentId::from_bytes([9; 16]);
        // Every holder starts from the same genesis, as a thread does once it has synced once.
        let mut genesis = AutoCommit::new().with_actor(ActorId::from(b"genesis".to_vec()));
        genesis.put_object(ROOT, "text", ObjType::Text).unwrap();
        genesis.commit();
        let count = 2 + rng.below(2) as usize;
        let fetcher = rng.below(2) == 0;
        let devices = (0..count)
            .map(|d| {
                let name = format!("device-{d}");
                let link = Link::new(LinkConfig {
                    batch_hold: (rng.below(2) == 0).then_some(Duration::from_millis(50)),
                    backoff: BackoffConfig {
                        min: Duration::from_millis(100),
                        max: Duration::from_secs(2),
                    },
                    rng_seed: rng.next_u64(),
                    ..LinkConfig::new(name.clone())
                });
                let mut device = Device {
                    link,
                    docs: HashMap::new(),
                    conn: None,
                    own: Vec::new(),
                    sent: 0,
                    released: None,
                };
                let actor = ActorId::from(name.into_bytes());
                if fetcher && d == count - 1 {
                    let empty = AutoCommit::new().with_actor(actor);
                    device.link.fetch(Duration::ZERO, document, empty);
                } else {
                    device
                        .docs
                        .insert(document, genesis.fork().with_actor(actor));
                    device.link.hold(Duration::ZERO, document, &mut device.docs);
                }
                device
            })
            .collect();
        let mut sim = Self {
            now: Duration::ZERO,
            document,
            relay: Relay::new(document, genesis),
            devices,
            acknowledged: HashSet::new(),
            edits: 0,
            connections: 0,
        };
        for d in 0..count {
            sim.pump(d);
        }
        sim
    }

    /// Carries out what device `d`'s link wants: dials, frames, and the checks on its events.
    fn pump(&mut self, d: usize) {
        loop {
            let device = &mut self.devices[d];
            while let Some(frame) = device.link.poll_transmit() {
                let conn = device.conn.expect("frames only while connected");
                let c = self.relay.conns.get_mut(&conn).expect("a live connection");
                device.sent += 1;
                c.to_relay.push_back(frame);
            }
            let Some(event) = device.link.poll_event() else {
                return;
            };
            if std::env::var_os("SIM_TRACE").is_some() {
                eprintln!("  device {d}: {event:?}");
            }
            match event {
                LinkEvent::Dial if self.relay.up => {
                    self.connections += 1;
                    device.conn = Some(self.relay.accept(self.now, d));
                    device.link.handle_connected(self.now);
                }
                LinkEvent::Dial => device
                    .link
                    .handle_disconnected(self.now, Disconnect::DialFailed),
                LinkEvent::Acknowledged { heads, .. } => {
                    assert!(
                        holds_all(&mut self.relay.stored, &heads),
                        "the relay advertised heads storage does not hold"
                    );
                    for change in device.own.clone() {
                        if !self.acknowledged.contains(&change)
                            && device
                                .link
                                .acknowledged(self.document, &[change], &mut device.docs)
                        {
                            assert!(
                                holds_all(&mut self.relay.stored, &[change]),
                                "a change was acknowledged before it was stored"
                            );
                            self.acknowledged.insert(change);
                        }
                    }
                }
                LinkEvent::Fetched { document, doc } => {
                    device.docs.insert(document, *doc);
                }
                LinkEvent::Unavailable { .. } => panic!("the relay always has the document"),
                _ => {}
            }
        }
    }

    fn edit(&mut self, d: usize, text: &str) {
        let device = &mut self.devices[d];
        if device.released.is_some() {
            return; // nothing shows it, so nothing edits it
        }
        let Some(doc) = device.docs.get_mut(&self.document) else {
            return; // still fetching
        };
        let before = doc.get_heads();
        let (_, obj) = doc.get(ROOT, "text").unwrap().unwrap();
        let end = doc.length(&obj);
        doc.splice_text(&obj, end, 0, text).unwrap();
        doc.commit();
        let new: Vec<ChangeHash> = doc
            .get_heads()
            .into_iter()
            .filter(|h| !before.contains(h))
            .collect();
        device.own.extend(new);
        self.edits += 1;
        device
            .link
            .local_change(self.now, self.document, &mut device.docs);
        self.pump(d);
    }

    /// Device `d` releases the document it holds, keeping the sync state to resume from (as the
    /// browser store drops a thread no `Thread` object uses, with its state in IndexedDB), or holds
    /// it again. Nothing changes for the relay: it hears of neither.
    fn release_or_hold_again(&mut self, d: usize) {
        let device = &mut self.devices[d];
        match device.released.take() {
            Some(Some(saved)) => {
                device
                    .link
                    .hold_resuming(self.now, self.document, saved, &mut device.docs);
            }
            Some(None) => device.link.hold(self.now, self.document, &mut device.docs),
            None if device.docs.contains_key(&self.document) => {
                device.released = Some(device.link.saved_sync(self.document));
                device.link.release(self.document);
            }
            None => {} // still fetching
        }
        self.pump(d);
    }

    /// Both ends of `conn` hear that it closed (frames in flight are lost).
    fn close(&mut self, conn: u64, reason: Disconnect) {
        let Some(c) = self.relay.drop_conn(self.now, conn) else {
            return;
        };
        let d = c.device;
        self.devices[d].conn = None;
        self.devices[d].link.handle_disconnected(self.now, reason);
        self.pump(d);
    }

    fn carry(&mut self, effects: Vec<Effect>) {
        for Effect::Close { conn, code, reason } in effects {
            let reason = Disconnect::Closed { code, reason };
            let Some(d) = self.devices.iter().position(|dev| dev.conn == Some(conn)) else {
                continue;
            };
            self.devices[d].conn = None;
            self.devices[d].link.handle_disconnected(self.now, reason);
            self.pump(d);
        }
    }

    fn deliver_to_relay(&mut self, d: usize) {
        if let Some(conn) = self.devices[d].conn {
            if std::env::var_os("SIM_TRACE").is_some()
                && let Some(frame) = self.relay.conns.get(&conn).and_then(|c| c.to_relay.front())
            {
                eprintln!("  device {d} -> relay: {}", describe(frame));
            }
            let effects = self.relay.deliver(self.now, conn);
            self.carry(effects);
        }
    }

    fn deliver_to_device(&mut self, d: usize) {
        let Some(conn) = self.devices[d].conn else {
            return;
        };
        let Some(frame) = self
            .relay
            .conns
            .get_mut(&conn)
            .and_then(|c| c.to_device.pop_front())
        else {
            return;
        };
        if std::env::var_os("SIM_TRACE").is_some() {
            eprintln!("  relay -> device {d}: {}", describe(&frame));
        }
        let device = &mut self.devices[d];
        device
            .link
            .handle_frame(self.now, &frame, &mut device.docs)
            .expect("the relay sends valid frames");
        self.pump(d);
    }

    /// Moves virtual time to `to`, firing storage and the links' timers that fall due on the way.
    fn advance(&mut self, to: Duration) {
        loop {
            let next = self
                .devices
                .iter()
                .filter_map(|d| d.link.poll_timeout())
                .chain(self.relay.write_due())
                .filter(|t| *t <= to)
                .min();
            let Some(at) = next else { break };
            self.now = self.now.max(at);
            let effects = self.relay.finish_write(self.now);
            self.carry(effects);
            for d in 0..self.devices.len() {
                if self.devices[d]
                    .link
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now)
                {
                    let device = &mut self.devices[d];
                    device.link.handle_timeout(self.now, &mut device.docs);
                    self.pump(d);
                }
            }
        }
        self.now = self.now.max(to);
    }

    fn restart_relay(&mut self) {
        for conn in self.relay.restart() {
            let d = self
                .devices
                .iter()
                .position(|dev| dev.conn == Some(conn))
                .unwrap();
            self.devices[d].conn = None;
            self.devices[d]
                .link
                .handle_disconnected(self.now, Disconnect::Lost);
            self.pump(d);
        }
    }

    pub fn random_step(&mut self, rng: &mut Rng) {
        let d = rng.below(self.devices.len() as u64) as usize;
        let roll = rng.below(100);
        if std::env::var_os("SIM_TRACE").is_some() {
            eprintln!(
                "t={:?} device {d} roll {roll} relay up {} busy {}",
                self.now,
                self.relay.up,
                self.relay.busy()
            );
        }
        match roll {
            0..20 => {
                let text = ["a", "bc", "def", "g"][rng.below(4) as usize];
                self.edit(d, text);
            }
            20..45 => self.deliver_to_relay(d),
            45..70 => self.deliver_to_device(d),
            70..85 => self.advance(self.now + Duration::from_millis(rng.below(120))),
            85..88 => {
                if let Some(conn) = self.devices[d].conn {
                    self.close(conn, Disconnect::Lost);
                }
            }
            88..90 => self.release_or_hold_again(d),
            90..92 => self.restart_relay(),
            92..94 => self.relay.up = !self.relay.up,
            94..96 => self.relay.fail_next_write = true,
            _ => {
                self.relay.storage_latency =
                    Duration::from_millis([0, 5, 80][rng.below(3) as usize]);
            }
        }
    }

    /// Heals the network, then delivers everything and lets time pass until nobody has anything to
    /// do. Panics if that takes unboundedly long.
    pub fn run_until_quiet(&mut self) {
        self.relay.up = true;
        self.relay.fail_next_write = false;
        for d in 0..self.devices.len() {
            if self.devices[d].released.is_some() {
                self.release_or_hold_again(d);
            }
        }
        for round in 0..10_000 {
            let mut moved = false;
            for d in 0..self.devices.len() {
                while let Some(conn) = self.devices[d].conn
                    && self
                        .relay
                        .conns
                        .get(&conn)
                        .is_some_and(|c| !c.to_relay.is_empty())
                {
                    self.deliver_to_relay(d);
                    moved = true;
                }
                while let Some(conn) = self.devices[d].conn
                    && self
                        .relay
                        .conns
                        .get(&conn)
                        .is_some_and(|c| !c.to_device.is_empty())
                {
                    self.deliver_to_device(d);
                    moved = true;
                }
            }
            if moved {
                continue;
            }
            let next = self
                .devices
                .iter()
                .filter_map(|d| d.link.poll_timeout())
                .chain(self.relay.write_due())
                .min();
            if std::env::var_os("SIM_TRACE").is_some() {
                eprintln!("quiet round {round} t={:?}: next {next:?}", self.now);
            }
            match next {
                Some(at) => self.advance(at.max(self.now)),
                None => return,
            }
        }
        panic!("the network never went quiet");
    }
}

/// A frame, for the trace: its type, and a sync message's heads, needs and changes.
fn describe(frame: &[u8]) -> String {
    use chatsync_protocol::Message;
    match Message::decode(frame) {
        Ok(Message::Sync { data, .. } | Message::Request { data, .. }) => {
            match chatsync_protocol::automerge::sync::Message::decode(&data) {
                Ok(m) => format!(
                    "sync heads {:?} need {} have {} changes {}",
                    m.heads
                        .iter()
                        .map(|h| h.to_string()[..6].to_owned())
                        .collect::<Vec<_>>(),
                    m.need.len(),
                    m.have.len(),
                    m.changes.len()
                ),
                Err(e) => format!("sync ({e})"),
            }
        }
        Ok(other) => other.type_name().to_owned(),
        Err(e) => format!("undecodable ({e})"),
    }
}
