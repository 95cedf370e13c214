//! The hub's rules, one test each, on plain data: no runtime, no storage, no socket. This module
//! holds what they share: a device, storage that always succeeds, and conversations.

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT};

use super::*;

mod connections;
mod documents;
use crate::{DocSession, Message, holds_all};

const NOW: Duration = Duration::ZERO;

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

/// A device: its copy of one document and its session with the relay.
struct Device {
    conn: ConnId,
    peer: String,
    doc: AutoCommit,
    session: DocSession,
}

impl Device {
    fn new(conn: ConnId) -> Self {
        Self {
            conn,
            peer: format!("device-{conn}"),
            doc: AutoCommit::new(),
            session: DocSession::new(),
        }
    }

    fn edit(&mut self, text: &str) -> ChangeHash {
        self.doc.put(ROOT, "text", text).unwrap();
        self.doc.commit();
        self.doc.get_heads()[0]
    }

    /// Sends what its session has to say to `document`; returns whether it said anything.
    fn sync(&mut self, document: &mut HubDocument) -> bool {
        let mut said = false;
        while let Some(data) = self.session.poll_message(&mut self.doc, 0) {
            document
                .handle_sync(NOW, self.conn, &self.peer, &data)
                .unwrap();
            said = true;
        }
        said
    }

    /// Applies the frames addressed to it; returns the heads the relay advertised last.
    fn receive(&mut self, effects: &HubEffects) -> Option<Vec<ChangeHash>> {
        let mut heads = None;
        for (conn, frame) in &effects.transmits {
            if *conn != self.conn {
                continue;
            }
            let Message::Sync { data, .. } = Message::decode(frame).unwrap() else {
                continue;
            };
            heads = Some(automerge::sync::Message::decode(&data).unwrap().heads);
            self.session.receive(&mut self.doc, &data).unwrap();
        }
        heads
    }
}

/// Carries out the storage tasks in `effects` against `stored`, succeeding; returns the effects
/// of the results.
fn store(document: &mut HubDocument, stored: &mut AutoCommit, effects: HubEffects) -> HubEffects {
    let mut all = HubEffects::default();
    let mut pending = effects;
    loop {
        all.transmits.append(&mut pending.transmits);
        all.closes.append(&mut pending.closes);
        all.compaction_due |= pending.compaction_due;
        all.forget |= pending.forget;
        if pending.tasks.is_empty() {
            return all;
        }
        for task in std::mem::take(&mut pending.tasks) {
            match task {
                StorageTask::Append { chunk, .. } => {
                    stored.load_incremental(&chunk).unwrap();
                    document.handle_appended(NOW, Ok(chunk.len() as u64));
                }
                StorageTask::Load { .. } => {
                    let loaded = StoredDocument {
                        owner: "alice".into(),
                        snapshot: stored.save(),
                        chunks: Vec::new(),
                        heads: stored.get_heads(),
                    };
                    document.handle_loaded(NOW, Ok(Some(loaded)));
                }
                StorageTask::Compact { .. } => document.handle_compacted(NOW, Ok(())),
            }
        }
        pending = document.take_effects();
    }
}

/// Device and relay talk, storage succeeding, until neither has anything to say.
fn converse(devices: &mut [&mut Device], document: &mut HubDocument, stored: &mut AutoCommit) {
    loop {
        let mut said = false;
        for device in devices.iter_mut() {
            said |= device.sync(document);
        }
        let effects = document.take_effects();
        let effects = store(document, stored, effects);
        for device in devices.iter_mut() {
            device.receive(&effects);
        }
        if !said && effects.transmits.is_empty() {
            return;
        }
    }
}

/// Device and relay talk until the relay asks storage for something; returns that step's effects.
fn until_task(device: &mut Device, document: &mut HubDocument) -> HubEffects {
    for _ in 0..10 {
        device.sync(document);
        let effects = document.take_effects();
        if !effects.tasks.is_empty() {
            return effects;
        }
        device.receive(&effects);
    }
    panic!("the relay never asked storage for anything")
}

fn document() -> HubDocument {
    HubDocument::new(id(1), "alice", DocumentConfig::default(), NOW)
}
