//! `DocSession` against `DocSession`: devices and a relay in a star exchanging session payloads
//! over ordered links that can drop (a reconnect starts fresh sessions). However edits, deliveries
//! and drops interleave, once the network is quiet every replica holds the same document and each
//! device sees its own changes acknowledged by the relay. The sessions alone, without the `Link`s
//! around them: `sync_sim.rs` runs real `Link`s.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::VecDeque;

use chatsync_protocol::DocSession;
use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use proptest::prelude::*;

/// One device's link to the relay: a session at each end and a queue each way.
struct Link {
    device_side: DocSession,
    relay_side: DocSession,
    to_relay: VecDeque<Vec<u8>>,
    to_device: VecDeque<Vec<u8>>,
}

impl Link {
    fn new() -> Self {
        Self {
            device_side: DocSession::new(),
            relay_side: DocSession::new(),
            to_relay: VecDeque::new(),
            to_device: VecDeque::new(),
        }
    }
}

struct Net {
    /// The virtual clock sessions are polled at, in ms.
    now: u64,
    relay: AutoCommit,
    devices: Vec<AutoCommit>,
    links: Vec<Link>,
}

#[derive(Clone, Debug)]
enum Step {
    /// Device edits its document: a key in the root map and a splice into the shared text.
    Edit {
        device: usize,
        key: u8,
        text: String,
    },
    /// Both ends of a link generate what they have to say.
    Poll { device: usize },
    /// The next frame on a link arrives.
    Deliver { device: usize, to_relay: bool },
    /// The connection drops: frames in flight are lost, and both ends start new sessions.
    Drop { device: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, 0..4u8, "[a-z]{1,5}").prop_map(|(device, key, text)| Step::Edit { device, key, text }),
        3 => (0..3usize).prop_map(|device| Step::Poll { device }),
        4 => (0..3usize, any::<bool>()).prop_map(|(device, to_relay)| Step::Deliver { device, to_relay }),
        1 => (0..3usize).prop_map(|device| Step::Drop { device }),
    ]
}

impl Net {
    fn new(devices: usize) -> Self {
        // Every replica starts from the same genesis, as a thread does once it has synced once.
        let mut genesis = AutoCommit::new().with_actor(ActorId::from(b"genesis".to_vec()));
        genesis.put_object(ROOT, "text", ObjType::Text).unwrap();
        genesis.commit();
        let bytes = genesis.save();
        let load = |name: String| {
            AutoCommit::load(&bytes)
                .unwrap()
                .with_actor(ActorId::from(name.into_bytes()))
        };
        Self {
            now: 0,
            relay: load("relay".into()),
            devices: (0..devices).map(|d| load(format!("device-{d}"))).collect(),
            links: (0..devices).map(|_| Link::new()).collect(),
        }
    }

    fn apply(&mut self, step: Step) {
        let n = self.devices.len();
        match step {
            Step::Edit { device, key, text } => {
                let doc = &mut self.devices[device % n];
                doc.put(ROOT, format!("k{key}"), text.as_str()).unwrap();
                Self::edit(doc, &text);
            }
            Step::Poll { device } => self.poll(device % n),
            Step::Deliver { device, to_relay } => {
                let d = device % n;
                let link = &mut self.links[d];
                if to_relay {
                    if let Some(frame) = link.to_relay.pop_front() {
                        self.relay_receives(d, &frame);
                    }
                } else if let Some(frame) = link.to_device.pop_front() {
                    link.device_side
                        .receive(&mut self.devices[d], &frame)
                        .unwrap();
                }
            }
            Step::Drop { device } => self.links[device % n] = Link::new(),
        }
    }

    /// The relay applies a frame from device `d`. Like the real relay after it stores new changes, it
    /// then advertises its heads to every device, so each can see its changes acknowledged, and it
    /// answers before reading the next frame.
    fn relay_receives(&mut self, d: usize, frame: &[u8]) {
        let before = self.relay.get_heads();
        self.links[d]
            .relay_side
            .receive(&mut self.relay, frame)
            .unwrap();
        if self.relay.get_heads() != before {
            for link in &mut self.links {
                link.relay_side.advertise_heads();
            }
        }
        // Like the relay, answer at once: before the next frame is read.
        for link in &mut self.links {
            while let Some(frame) = link.relay_side.poll_message(&mut self.relay, self.now) {
                link.to_device.push_back(frame);
            }
        }
    }

    /// Appends `text` to the shared text, as one change.
    fn edit(doc: &mut AutoCommit, text: &str) {
        let (_, obj) = doc.get(ROOT, "text").unwrap().unwrap();
        let end = doc.length(&obj);
        doc.splice_text(&obj, end, 0, text).unwrap();
        doc.commit();
    }

    fn poll(&mut self, d: usize) {
        let link = &mut self.links[d];
        while let Some(frame) = link
            .device_side
            .poll_message(&mut self.devices[d], self.now)
        {
            link.to_relay.push_back(frame);
        }
        while let Some(frame) = link.relay_side.poll_message(&mut self.relay, self.now) {
            link.to_device.push_back(frame);
        }
    }

    /// Polls and delivers everything until no link has anything to say. Returns the rounds taken.
    fn run_until_quiet(&mut self) -> usize {
        for round in 0..200 {
            for d in 0..self.devices.len() {
                self.poll(d);
            }
            if self
                .links
                .iter()
                .all(|l| l.to_relay.is_empty() && l.to_device.is_empty())
            {
                return round;
            }
            for d in 0..self.devices.len() {
                while let Some(frame) = self.links[d].to_relay.pop_front() {
                    self.relay_receives(d, &frame);
                }
                while let Some(frame) = self.links[d].to_device.pop_front() {
                    self.links[d]
                        .device_side
                        .receive(&mut self.devices[d], &frame)
                        .unwrap();
                }
            }
        }
        panic!("the network did not go quiet in 200 rounds");
    }
}

fn text_of(doc: &AutoCommit) -> String {
    let (_, obj) = doc.get(ROOT, "text").unwrap().unwrap();
    doc.text(&obj).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_replica_converges_and_sees_its_changes_acknowledged(
        devices in 2..=3usize,
        steps in proptest::collection::vec(step(), 0..80),
    ) {
        let mut net = Net::new(devices);
        for step in steps {
            net.apply(step);
        }
        net.run_until_quiet();
        let relay_heads = net.relay.get_heads();
        let relay_text = text_of(&net.relay);
        for d in 0..devices {
            prop_assert_eq!(net.devices[d].get_heads(), relay_heads.clone());
            prop_assert_eq!(text_of(&net.devices[d]), relay_text.clone());
            let heads = net.devices[d].get_heads();
            let link = &net.links[d];
            prop_assert!(link.device_side.has_acknowledged(&mut net.devices[d], &heads));
        }
    }
}

#[test]
fn a_change_is_not_acknowledged_before_the_relay_has_it() {
    let mut net = Net::new(2);
    net.run_until_quiet();
    net.apply(Step::Edit {
        device: 0,
        key: 1,
        text: "hello".into(),
    });
    let heads = net.devices[0].get_heads();
    assert!(
        !net.links[0]
            .device_side
            .has_acknowledged(&mut net.devices[0], &heads)
    );
    net.poll(0); // sent, not yet received
    assert!(
        !net.links[0]
            .device_side
            .has_acknowledged(&mut net.devices[0], &heads)
    );
    net.run_until_quiet();
    assert!(
        net.links[0]
            .device_side
            .has_acknowledged(&mut net.devices[0], &heads)
    );
    assert_eq!(text_of(&net.devices[1]), "hello");
}

#[test]
fn a_fetching_peer_holds_what_was_advertised_only_once_all_of_it_arrived() {
    let mut net = Net::new(2);
    net.apply(Step::Edit {
        device: 0,
        key: 1,
        text: "before".into(),
    });
    net.run_until_quiet();
    // Device 1 has heard the relay's heads and holds them all.
    assert!(
        net.links[1]
            .device_side
            .holds_what_they_advertised(&mut net.devices[1])
    );
    // A fresh session has heard nothing yet.
    assert!(!chatsync_protocol::DocSession::new().holds_what_they_advertised(&mut net.devices[1]));
    // An empty document does not hold what a peer with changes advertised.
    let mut empty = AutoCommit::new();
    assert!(
        !net.links[1]
            .device_side
            .holds_what_they_advertised(&mut empty)
    );
}

#[test]
fn garbage_payloads_are_refused_and_change_nothing() {
    let mut doc = AutoCommit::new();
    let heads = doc.get_heads();
    let mut session = DocSession::new();
    for bad in [&b""[..], b"\x42", b"not a sync message", &[0x43; 64]] {
        assert!(session.receive(&mut doc, bad).is_err(), "{bad:?} accepted");
        assert_eq!(doc.get_heads(), heads);
    }
}

#[test]
fn a_batching_session_holds_changes_while_a_message_is_in_flight() {
    let mut net = Net::new(1);
    net.links[0].device_side = DocSession::batching(50);
    net.run_until_quiet();
    let (link, device) = (&mut net.links[0], &mut net.devices[0]);
    // First change: sent at once.
    Net::edit(device, "a");
    let first = link.device_side.poll_message(device, 1_000);
    link.to_relay.push_back(first.expect("sent at once"));
    // More changes while it is in flight: held until the reply, or until the hold runs out.
    for text in ["b", "c", "d"] {
        Net::edit(device, text);
        assert!(link.device_side.poll_message(device, 1_010).is_none());
    }
    assert_eq!(link.device_side.wake_at(), Some(1_050));
    let batch = link.device_side.poll_message(device, 1_050);
    link.to_relay
        .push_back(batch.expect("sent once the hold ran out"));
    // Everything still converges.
    net.now = 2_000;
    net.run_until_quiet();
    assert_eq!(text_of(&net.relay), "abcd");
}

#[test]
fn a_batching_session_sends_a_change_at_once_after_a_message_of_heads_alone() {
    let mut net = Net::new(1);
    net.links[0].device_side = DocSession::batching(50);
    net.run_until_quiet();
    // The relay writes; the device hears it and answers with its heads alone, which the relay,
    // with nothing new, does not answer.
    Net::edit(&mut net.relay, "r");
    net.run_until_quiet();
    let (link, device) = (&mut net.links[0], &mut net.devices[0]);
    assert_eq!(link.device_side.wake_at(), None, "no change is in flight");
    // A change made now (within a hold of the heads' message, sent at 0) goes out at once.
    Net::edit(device, "a");
    let sent = link.device_side.poll_message(device, 10);
    link.to_relay.push_back(sent.expect("sent at once"));
    // That message carries a change: what follows it waits for the reply.
    Net::edit(device, "b");
    assert!(link.device_side.poll_message(device, 20).is_none());
    assert_eq!(link.device_side.wake_at(), Some(60));
    net.now = 2_000;
    net.run_until_quiet();
    assert_eq!(text_of(&net.relay), text_of(&net.devices[0]));
}

/// Found by the property test: the device's changes reach the relay, and the device's next message
/// (no changes, its heads) arrives before the relay has spoken — Automerge then judges the device to
/// know the relay's heads and never advertises them, so the device could not see its acknowledgement.
#[test]
fn regression_changes_polled_after_a_crossed_reply_are_acknowledged() {
    let mut net = Net::new(2);
    for step in [
        Step::Edit {
            device: 0,
            key: 0,
            text: "a".into(),
        },
        Step::Edit {
            device: 0,
            key: 0,
            text: "a".into(),
        },
        Step::Edit {
            device: 0,
            key: 0,
            text: "a".into(),
        },
        Step::Poll { device: 0 },
        Step::Deliver {
            device: 0,
            to_relay: true,
        },
        Step::Deliver {
            device: 0,
            to_relay: false,
        },
        Step::Poll { device: 0 },
        Step::Deliver {
            device: 0,
            to_relay: false,
        },
    ] {
        net.apply(step);
    }
    net.run_until_quiet();
    let heads = net.devices[0].get_heads();
    assert_eq!(net.relay.get_heads(), heads);
    assert!(
        net.links[0]
            .device_side
            .has_acknowledged(&mut net.devices[0], &heads)
    );
}

#[test]
fn a_peer_with_nothing_loads_a_whole_stored_document_then_syncs_normally() {
    let mut source = AutoCommit::new();
    source.put(ROOT, "title", "stored").unwrap();
    source.commit();
    let snapshot = source.save();
    source.put(ROOT, "more", 1).unwrap();
    source.commit();
    let chunk = source.save_after(
        &chatsync_protocol::automerge::AutoCommit::load(&snapshot)
            .unwrap()
            .get_heads(),
    );
    let heads = source.get_heads();

    // The peer asks with empty heads; the answer is built from the stored bytes alone.
    let mut peer = AutoCommit::new();
    let mut peer_session = DocSession::new();
    let request = peer_session.poll_message(&mut peer, 0).unwrap();
    assert!(chatsync_protocol::is_from_empty_peer(&request));
    let reply =
        chatsync_protocol::whole_document_message(heads.clone(), [snapshot, chunk].concat());
    peer_session.receive(&mut peer, &reply).unwrap();
    assert_eq!(peer.get_heads(), heads);
    assert!(peer_session.has_acknowledged(&mut peer, &heads));

    // A fresh session on the source side (it never saw the request) then syncs without resending.
    let mut source_session = DocSession::new();
    for _ in 0..5 {
        if let Some(m) = source_session.poll_message(&mut source, 0) {
            peer_session.receive(&mut peer, &m).unwrap();
        }
        if let Some(m) = peer_session.poll_message(&mut peer, 0) {
            source_session.receive(&mut source, &m).unwrap();
        }
    }
    assert_eq!(peer.get_heads(), source.get_heads());
    assert!(!chatsync_protocol::is_from_empty_peer(
        &peer_session.poll_message(&mut peer, 0).unwrap_or_else(|| {
            let mut s = DocSession::new();
            s.poll_message(&mut peer, 0).unwrap()
        })
    ));
}

/// Exchanges payloads between two (document, session) pairs until neither has anything to say;
/// returns the size of the first payload `a` sent.
fn sync_pair(
    a: (&mut AutoCommit, &mut DocSession),
    b: (&mut AutoCommit, &mut DocSession),
) -> usize {
    let (a_doc, a_session) = a;
    let (b_doc, b_session) = b;
    let mut first = None;
    for _ in 0..100 {
        let from_a = a_session.poll_message(a_doc, 0);
        let from_b = b_session.poll_message(b_doc, 0);
        if from_a.is_none() && from_b.is_none() {
            return first.unwrap_or(0);
        }
        if let Some(data) = from_a {
            first.get_or_insert(data.len());
            b_session.receive(b_doc, &data).unwrap();
        }
        if let Some(data) = from_b {
            a_session.receive(a_doc, &data).unwrap();
        }
    }
    panic!("the pair never went quiet");
}

fn history(changes: usize) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(b"device".to_vec()));
    let text = doc.put_object(ROOT, "text", ObjType::Text).unwrap();
    for i in 0..changes {
        doc.splice_text(&text, 0, 0, &format!("{i} ")).unwrap();
        doc.commit();
    }
    doc
}

/// A device with `changes` changes, synced once with a relay: both documents, and the device's
/// saved session state.
fn synced_once(changes: usize) -> (AutoCommit, AutoCommit, Vec<u8>) {
    let mut device = history(changes);
    let mut relay = AutoCommit::new();
    let mut device_side = DocSession::new();
    sync_pair(
        (&mut device, &mut device_side),
        (&mut relay, &mut DocSession::new()),
    );
    let saved = device_side.saved_state();
    (device, relay, saved)
}

#[test]
fn a_resumed_session_sends_only_what_is_new_and_converges() {
    let (mut device, mut relay, saved) = synced_once(300);
    assert!(saved.len() < 100, "{} bytes", saved.len());

    // A new connection: the relay starts fresh, the device resumes, and one change is new.
    Net::edit(&mut device, "new ");
    let mut fresh_device = device.fork();
    let mut resumed = DocSession::new().resume(&saved, &mut device);
    let resumed_first = sync_pair(
        (&mut device, &mut resumed),
        (&mut relay, &mut DocSession::new()),
    );
    assert_eq!(relay.get_heads(), device.get_heads());
    let heads = device.get_heads();
    assert!(resumed.has_acknowledged(&mut device, &heads));

    // The same reconnect without the saved state advertises the whole history.
    let mut relay_copy = relay.fork();
    let fresh_first = sync_pair(
        (&mut fresh_device, &mut DocSession::new()),
        (&mut relay_copy, &mut DocSession::new()),
    );
    assert!(
        resumed_first * 4 < fresh_first,
        "resumed {resumed_first} B, fresh {fresh_first} B"
    );
}

#[test]
fn a_resumed_session_recovers_when_the_peer_lost_the_shared_heads() {
    let (mut device, _, saved) = synced_once(20);

    // The relay's storage was reset: it holds nothing of what the device thinks they share.
    let mut empty_relay = AutoCommit::new();
    let mut resumed = DocSession::new().resume(&saved, &mut device);
    sync_pair(
        (&mut device, &mut resumed),
        (&mut empty_relay, &mut DocSession::new()),
    );
    assert_eq!(empty_relay.get_heads(), device.get_heads());
    assert_eq!(text_of(&empty_relay), text_of(&device));

    // A device whose storage lost changes the saved state says it shares starts fresh, and gets
    // them back.
    let mut behind = AutoCommit::new();
    let resumed = DocSession::new().resume(&saved, &mut behind);
    assert_eq!(resumed.saved_state(), DocSession::new().saved_state());

    // Saved bytes that are not a sync state leave the session fresh.
    let mut other_relay = AutoCommit::new();
    let mut garbage = DocSession::new().resume(b"garbage", &mut device);
    sync_pair(
        (&mut device, &mut garbage),
        (&mut other_relay, &mut DocSession::new()),
    );
    assert_eq!(other_relay.get_heads(), device.get_heads());
}

/// Automerge answers a `have` naming changes it lacks with a reset, and would answer every poll with
/// it again: a peer polling until there is nothing to send must get it once, then wait for the reply.
/// (A client's saved state against a relay that lost its data, or a made-up `have`, used to make the
/// relay spin.)
#[test]
fn a_reset_goes_out_once_per_reply_and_both_sides_converge() {
    let (mut device, _, saved) = synced_once(20);
    let mut empty_relay = AutoCommit::new();
    let mut device_side = DocSession::batching(10).resume(&saved, &mut device);
    let mut relay_side = DocSession::batching(10);
    let mut sent = 0;
    for round in 0..50 {
        let mut quiet = true;
        while let Some(data) = device_side.poll_message(&mut device, round) {
            sent += 1;
            quiet = false;
            assert!(sent < 50, "the device keeps sending");
            relay_side.receive(&mut empty_relay, &data).unwrap();
        }
        while let Some(data) = relay_side.poll_message(&mut empty_relay, round) {
            sent += 1;
            quiet = false;
            assert!(sent < 50, "the relay keeps sending");
            device_side.receive(&mut device, &data).unwrap();
        }
        if quiet {
            break;
        }
    }
    assert_eq!(empty_relay.get_heads(), device.get_heads());
}
