//! The link against a relay played by hand: one `DocSession` per document on the relay side.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::HashMap;
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};

use super::*;
use crate::{DocSession, PeerMetadata};

const MS: Duration = Duration::from_millis(1);

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

fn doc_with(key: &str) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(b"device".to_vec()));
    doc.put(ROOT, key, 1).unwrap();
    doc.commit();
    doc
}

fn config() -> LinkConfig {
    LinkConfig {
        batch_hold: None,
        backoff: BackoffConfig {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2),
        },
        ..LinkConfig::new("device-a")
    }
}

fn peer(storage: Option<&str>) -> Vec<u8> {
    Message::Peer {
        sender_id: "relay".into(),
        target_id: "device-a".into(),
        peer_metadata: PeerMetadata {
            storage_id: storage.map(str::to_owned),
            is_ephemeral: Some(false),
        },
        selected_protocol_version: "1".into(),
    }
    .encode()
}

fn events(link: &mut Link) -> Vec<LinkEvent> {
    std::iter::from_fn(|| link.poll_event()).collect()
}

fn sent(link: &mut Link) -> Vec<Message> {
    std::iter::from_fn(|| link.poll_transmit())
        .map(|frame| Message::decode(&frame).unwrap())
        .collect()
}

/// A link joined to a relay with storage `storage`; events and frames so far are drained.
fn joined(docs: &mut HashMap<DocumentId, AutoCommit>, storage: Option<&str>) -> Link {
    let mut link = Link::new(config());
    assert!(matches!(link.poll_event(), Some(LinkEvent::Dial)));
    link.handle_connected(Duration::ZERO);
    link.handle_frame(Duration::ZERO, &peer(storage), docs)
        .unwrap();
    events(&mut link);
    sent(&mut link);
    link
}

/// Whether the first of `frames` is a sync message asking the relay to start over (Automerge's
/// sync reset).
fn first_asks_to_start_over(frames: &[Message]) -> bool {
    let Some(Message::Sync { data, .. }) = frames.first() else {
        return false;
    };
    automerge::sync::Message::decode(data)
        .unwrap()
        .flags
        .is_some_and(|f| f.contains(automerge::sync::MessageFlags::SYNC_RESET))
}

/// The relay side: one document, one session; answers every payload until both are quiet.
struct Relay {
    doc: AutoCommit,
    session: DocSession,
}

impl Relay {
    fn new(doc: AutoCommit) -> Self {
        Self {
            doc,
            session: DocSession::new(),
        }
    }

    /// Another device's change of document 1 reaches the relay, which sends it on to the link's
    /// session at once.
    fn sends_a_change_from_another_device(
        &mut self,
        link: &mut Link,
        docs: &mut HashMap<DocumentId, AutoCommit>,
    ) {
        let mut other = self.doc.fork().with_actor(ActorId::from(b"other".to_vec()));
        other.put(ROOT, "b", 2).unwrap();
        other.commit();
        self.doc.merge(&mut other).unwrap();
        let data = self.session.poll_message(&mut self.doc, 0).unwrap();
        let frame = Message::Sync {
            sender_id: "relay".into(),
            target_id: "device-a".into(),
            document_id: id(1),
            data,
        };
        link.handle_frame(Duration::ZERO, &frame.encode(), docs)
            .unwrap();
    }

    /// Delivers what the link sent and the answers, until neither side has anything to say.
    fn exchange(&mut self, link: &mut Link, docs: &mut HashMap<DocumentId, AutoCommit>) {
        for _ in 0..20 {
            let frames = sent(link);
            if frames.is_empty() {
                return;
            }
            for frame in frames {
                let (Message::Sync {
                    document_id, data, ..
                }
                | Message::Request {
                    document_id, data, ..
                }) = frame
                else {
                    continue;
                };
                // As the hub does.
                if crate::asks_to_start_over(&data) {
                    self.session = DocSession::new();
                }
                self.session.receive(&mut self.doc, &data).unwrap();
                while let Some(data) = self.session.poll_message(&mut self.doc, 0) {
                    let reply = Message::Sync {
                        sender_id: "relay".into(),
                        target_id: "device-a".into(),
                        document_id,
                        data,
                    };
                    link.handle_frame(Duration::ZERO, &reply.encode(), docs)
                        .unwrap();
                }
            }
        }
        panic!("the link and the relay never went quiet");
    }
}

#[test]
fn join_goes_out_first_and_documents_wait_for_the_relays_answer() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = Link::new(config());
    link.hold(Duration::ZERO, id(1), &mut docs);
    assert!(
        link.poll_transmit().is_none(),
        "nothing before the socket opens"
    );
    link.handle_connected(Duration::ZERO);
    let first = sent(&mut link);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].type_name(), "join");
    link.handle_frame(Duration::ZERO, &peer(Some("s1")), &mut docs)
        .unwrap();
    assert!(matches!(
        events(&mut link).as_slice(),
        [LinkEvent::Dial, LinkEvent::Joined { relay_storage: Some(s), .. }] if s == "s1"
    ));
    let after = sent(&mut link);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].type_name(), "sync");
}

#[test]
fn a_change_is_acknowledged_only_once_the_relay_advertises_it() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = joined(&mut docs, None);
    link.hold(Duration::ZERO, id(1), &mut docs);
    let heads = docs[&id(1)].clone().get_heads();
    assert!(!link.acknowledged(id(1), &heads, &mut docs));
    let mut relay = Relay::new(AutoCommit::new());
    relay.exchange(&mut link, &mut docs);
    assert!(link.acknowledged(id(1), &heads, &mut docs));
    let acked = events(&mut link).into_iter().any(|e| {
        matches!(e, LinkEvent::Acknowledged { document, heads: h } if document == id(1) && h == heads)
    });
    assert!(acked, "an Acknowledged event names the relay's heads");
}

#[test]
fn a_fetch_requests_until_it_holds_what_the_relay_advertised_then_hands_it_over() {
    let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
    let mut link = joined(&mut docs, None);
    link.fetch(Duration::ZERO, id(2), AutoCommit::new());
    let mut relay = Relay::new(doc_with("remote"));
    let heads = relay.doc.get_heads();
    let frames = std::iter::from_fn(|| link.poll_transmit()).collect::<Vec<_>>();
    assert_eq!(Message::decode(&frames[0]).unwrap().type_name(), "request");
    for frame in frames {
        link.transmits.push_back(frame);
    }
    relay.exchange(&mut link, &mut docs);
    let fetched = events(&mut link).into_iter().find_map(|e| match e {
        LinkEvent::Fetched { document, doc } if document == id(2) => Some(doc),
        _ => None,
    });
    let mut doc = *fetched.expect("fetched");
    assert_eq!(doc.get_heads(), heads);
    // From now on the driver holds it, and it syncs as `sync`.
    docs.insert(id(2), doc);
    assert!(link.acknowledged(id(2), &heads, &mut docs));
    docs.get_mut(&id(2)).unwrap().put(ROOT, "more", 2).unwrap();
    docs.get_mut(&id(2)).unwrap().commit();
    link.local_change(Duration::ZERO, id(2), &mut docs);
    assert!(sent(&mut link).iter().all(|m| m.type_name() == "sync"));
}

#[test]
fn doc_unavailable_ends_a_fetch() {
    let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
    let mut link = joined(&mut docs, None);
    link.fetch(Duration::ZERO, id(3), AutoCommit::new());
    let unavailable = Message::DocUnavailable {
        sender_id: "relay".into(),
        target_id: "device-a".into(),
        document_id: id(3),
    };
    link.handle_frame(Duration::ZERO, &unavailable.encode(), &mut docs)
        .unwrap();
    assert!(matches!(
        events(&mut link).as_slice(),
        [LinkEvent::Unavailable { document }] if *document == id(3)
    ));
    // A new fetch starts from scratch (the old one is gone).
    sent(&mut link);
    link.fetch(Duration::ZERO, id(3), AutoCommit::new());
    assert_eq!(sent(&mut link)[0].type_name(), "request");
}

#[test]
fn a_drop_waits_the_backoff_then_dials_and_a_join_resets_the_backoff() {
    let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
    let mut link = joined(&mut docs, None);
    let mut now = Duration::from_secs(1);
    let mut delays = Vec::new();
    for _ in 0..4 {
        link.handle_disconnected(now, Disconnect::DialFailed);
        let retry_at = link.poll_timeout().expect("a retry is armed");
        delays.push(retry_at - now);
        link.handle_timeout(retry_at - MS, &mut docs);
        assert!(
            events(&mut link)
                .iter()
                .all(|e| !matches!(e, LinkEvent::Dial))
        );
        link.handle_timeout(retry_at, &mut docs);
        assert!(matches!(events(&mut link).as_slice(), [LinkEvent::Dial]));
        now = retry_at;
    }
    assert!(delays.windows(2).all(|w| w[1] > w[0]), "{delays:?}");
    link.handle_connected(now);
    link.handle_frame(now, &peer(None), &mut docs).unwrap();
    link.handle_disconnected(now, Disconnect::Lost);
    let delay = link.poll_timeout().unwrap() - now;
    assert!(delay < Duration::from_millis(150), "{delay:?}");
}

#[test]
fn an_expired_token_or_refused_handshake_waits_for_new_credentials() {
    for reason in [
        Disconnect::Closed {
            code: TOKEN_EXPIRED,
            reason: "token expired".into(),
        },
        Disconnect::Unauthorized,
    ] {
        let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
        let mut link = joined(&mut docs, None);
        link.handle_disconnected(Duration::ZERO, reason);
        assert!(matches!(
            events(&mut link).as_slice(),
            [
                LinkEvent::CredentialsRefused { .. },
                LinkEvent::Disconnected { retry_at: None, .. }
            ]
        ));
        assert_eq!(link.poll_timeout(), None, "no dial without new credentials");
        link.handle_timeout(Duration::from_secs(60), &mut docs);
        assert!(events(&mut link).is_empty());
        // Renewed before the backoff ran out: the dial waits for it.
        let ConnectionState::NeedsCredentials { earliest, .. } = *link.state() else {
            panic!("{:?}", link.state());
        };
        link.credentials_renewed(Duration::ZERO);
        assert_eq!(link.poll_timeout(), Some(earliest));
        link.handle_timeout(earliest, &mut docs);
        assert!(matches!(events(&mut link).as_slice(), [LinkEvent::Dial]));
    }
}

#[test]
fn frames_queued_for_a_socket_that_dropped_are_not_sent_on_the_next() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = joined(&mut docs, None);
    link.hold(Duration::ZERO, id(1), &mut docs);
    link.handle_disconnected(Duration::ZERO, Disconnect::Lost);
    assert!(link.poll_transmit().is_none());
    link.reconnect_now();
    link.handle_connected(Duration::ZERO);
    assert_eq!(sent(&mut link)[0].type_name(), "join");
}

#[test]
fn a_reconnect_resumes_from_the_shared_heads_only_with_the_same_relay_storage() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = joined(&mut docs, Some("s1"));
    link.hold(Duration::ZERO, id(1), &mut docs);
    Relay::new(AutoCommit::new()).exchange(&mut link, &mut docs);
    let saved = link.saved_sync(id(1)).expect("a state to save");
    assert_eq!(saved.relay_storage.as_deref(), Some("s1"));
    let first_message = |link: &mut Link, docs: &mut HashMap<_, _>, storage| {
        link.handle_disconnected(Duration::ZERO, Disconnect::Lost);
        link.reconnect_now();
        link.handle_connected(Duration::ZERO);
        link.handle_frame(Duration::ZERO, &peer(storage), docs)
            .unwrap();
        let Some(Message::Sync { data, .. }) = sent(link).pop() else {
            panic!("no sync message");
        };
        automerge::sync::Message::decode(&data).unwrap()
    };
    // The same storage: the first message names the heads both hold (`have` with their heads).
    let resumed = first_message(&mut link, &mut docs, Some("s1"));
    assert!(resumed.have.iter().any(|h| !h.last_sync.is_empty()));
    // Another storage: a fresh session (it never saw those heads).
    let fresh = first_message(&mut link, &mut docs, Some("s2"));
    assert!(fresh.have.iter().all(|h| h.last_sync.is_empty()));
    // A state saved on an earlier run resumes the same way.
    let mut later = joined(&mut docs, Some("s1"));
    later.hold_resuming(Duration::ZERO, id(1), saved, &mut docs);
    let Some(Message::Sync { data, .. }) = sent(&mut later).pop() else {
        panic!("no sync message");
    };
    let message = automerge::sync::Message::decode(&data).unwrap();
    assert!(message.have.iter().any(|h| !h.last_sync.is_empty()));
}

#[test]
fn a_held_batch_goes_out_when_poll_timeout_comes() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = Link::new(LinkConfig {
        batch_hold: Some(Duration::from_millis(50)),
        ..config()
    });
    link.handle_connected(Duration::ZERO);
    link.handle_frame(Duration::ZERO, &peer(None), &mut docs)
        .unwrap();
    link.hold(Duration::from_secs(1), id(1), &mut docs);
    assert_eq!(sent(&mut link).len(), 2, "join, then the first message");
    docs.get_mut(&id(1)).unwrap().put(ROOT, "b", 2).unwrap();
    docs.get_mut(&id(1)).unwrap().commit();
    link.local_change(Duration::from_millis(1_010), id(1), &mut docs);
    assert!(
        link.poll_transmit().is_none(),
        "held while the first is in flight"
    );
    let wake = link.poll_timeout().expect("a wake-up is armed");
    assert_eq!(wake, Duration::from_millis(1_050));
    link.handle_timeout(wake, &mut docs);
    assert_eq!(sent(&mut link).len(), 1);
}

#[test]
fn a_closed_link_neither_dials_nor_sends() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = joined(&mut docs, None);
    link.close();
    link.hold(Duration::ZERO, id(1), &mut docs);
    link.handle_disconnected(Duration::ZERO, Disconnect::Lost);
    link.handle_timeout(Duration::from_secs(100), &mut docs);
    assert!(link.poll_transmit().is_none());
    assert!(events(&mut link).is_empty());
    assert_eq!(link.poll_timeout(), None);
}

/// Found by the simulation: once a batch hold ran out with nothing new to send, the session's
/// `wake_at` stays in the past until a reply comes; a timer armed from it fired at once, forever.
#[test]
fn regression_a_hold_that_ran_out_with_nothing_to_send_arms_no_timer() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = Link::new(LinkConfig {
        batch_hold: Some(Duration::from_millis(50)),
        ..config()
    });
    link.handle_connected(Duration::ZERO);
    link.handle_frame(Duration::ZERO, &peer(None), &mut docs)
        .unwrap();
    link.hold(Duration::ZERO, id(1), &mut docs);
    sent(&mut link);
    // The first message is in flight and no reply comes.
    let wake = link.poll_timeout().expect("armed for the hold");
    link.handle_timeout(wake, &mut docs);
    assert!(link.poll_transmit().is_none(), "nothing new to send");
    assert_eq!(link.poll_timeout(), None, "no timer left in the past");
}

#[test]
fn reconnect_now_dials_at_once_after_a_refusal_or_a_wait_with_the_shortest_backoff_again() {
    // The browser's paths: `setToken` after its token was refused, and the switch back online
    // after a dial it declined while offline (reported as `HungUp`, which keeps the relay).
    let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
    let mut link = joined(&mut docs, None);
    let now = Duration::from_secs(1);
    for _ in 0..3 {
        link.handle_disconnected(now, Disconnect::DialFailed);
    }
    link.handle_disconnected(
        now,
        Disconnect::Closed {
            code: TOKEN_EXPIRED,
            reason: "token expired".into(),
        },
    );
    events(&mut link);
    link.reconnect_now();
    assert!(matches!(events(&mut link).as_slice(), [LinkEvent::Dial]));
    assert_eq!(link.state(), &ConnectionState::Dialing);
    link.reconnect_now();
    assert!(events(&mut link).is_empty(), "already dialing");
    link.handle_disconnected(now, Disconnect::DialFailed);
    let delay = link.poll_timeout().unwrap() - now;
    assert!(delay < Duration::from_millis(150), "{delay:?}");
    events(&mut link);
    link.reconnect_now();
    assert!(matches!(events(&mut link).as_slice(), [LinkEvent::Dial]));
}

#[test]
fn each_disconnect_moves_the_next_dial_to_the_next_relay_round_the_list() {
    let mut docs: HashMap<DocumentId, AutoCommit> = HashMap::new();
    let mut link = Link::new(LinkConfig {
        relays: 3,
        ..config()
    });
    let mut dialled = vec![link.relay()];
    // A failed dial, a lost connection and a relay's close each move on; a join stays put.
    link.handle_disconnected(Duration::ZERO, Disconnect::DialFailed);
    dialled.push(link.relay());
    link.handle_connected(Duration::ZERO);
    link.handle_frame(Duration::ZERO, &peer(None), &mut docs)
        .unwrap();
    dialled.push(link.relay());
    link.handle_disconnected(Duration::ZERO, Disconnect::Lost);
    dialled.push(link.relay());
    link.handle_disconnected(
        Duration::ZERO,
        Disconnect::Closed {
            code: 1001,
            reason: "going away".into(),
        },
    );
    dialled.push(link.relay());
    // The driver's own hang-up (offline, a new token) stays with the relay it had.
    link.handle_disconnected(Duration::ZERO, Disconnect::HungUp);
    dialled.push(link.relay());
    link.reconnect_now();
    link.handle_disconnected(Duration::ZERO, Disconnect::HungUp);
    dialled.push(link.relay());
    link.handle_disconnected(Duration::ZERO, Disconnect::DialFailed);
    dialled.push(link.relay());
    assert_eq!(dialled, [0, 1, 1, 2, 0, 0, 0, 1]);
    // One relay (a load balancer's URL) is always relay 0, and so is a count of 0.
    for relays in [0, 1] {
        let mut link = Link::new(LinkConfig { relays, ..config() });
        link.handle_disconnected(Duration::ZERO, Disconnect::Lost);
        assert_eq!(link.relay(), 0);
    }
}

/// Behind the flaky browser test `sync::a_reconnect_resumes_from_the_stored_sync_state`: a store
/// drops a thread it no longer shows (`release`) and opens it again later on the same connection.
/// The relay never hears of the release, so its session with the device goes on: it counts what it
/// sent meanwhile as delivered, and its heads as told. Unless the new session makes it start over,
/// the device never hears its heads (the thread stays pending), and a change sent while released
/// never comes again: the two sides trade `need` and heads for ever.
#[test]
fn a_document_held_again_on_the_same_connection_gets_what_the_relay_sent_meanwhile() {
    for resume in [false, true] {
        for changed_meanwhile in [false, true] {
            let case = format!("resumed {resume}, changed meanwhile {changed_meanwhile}");
            let mut docs = HashMap::from([(id(1), doc_with("a"))]);
            let mut link = joined(&mut docs, Some("s1"));
            link.hold(Duration::ZERO, id(1), &mut docs);
            let mut relay = Relay::new(AutoCommit::new());
            relay.exchange(&mut link, &mut docs);
            let saved = link.saved_sync(id(1)).expect("a state to save");
            link.release(id(1));
            if changed_meanwhile {
                // Another device's change reaches the relay, which sends it on to this device's
                // session: the link holds no such document now, and drops it.
                relay.sends_a_change_from_another_device(&mut link, &mut docs);
            }
            if resume {
                link.hold_resuming(Duration::ZERO, id(1), saved, &mut docs);
            } else {
                link.hold(Duration::ZERO, id(1), &mut docs);
            }
            let first = sent(&mut link);
            assert!(
                first_asks_to_start_over(&first),
                "{case}: the relay is asked to start over"
            );
            link.transmits.extend(first.iter().map(Message::encode));
            relay.exchange(&mut link, &mut docs);
            let heads = relay.doc.get_heads();
            assert_eq!(docs.get_mut(&id(1)).unwrap().get_heads(), heads, "{case}");
            let ours = docs.get_mut(&id(1)).unwrap().get_heads();
            assert!(link.acknowledged(id(1), &ours, &mut docs), "{case}");
        }
    }
}

/// A new connection has no session from before: a document released on the last one starts
/// plainly (no reset asked of a relay that has nothing to reset).
#[test]
fn a_document_released_before_a_reconnect_starts_plainly_on_the_next_connection() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = joined(&mut docs, Some("s1"));
    link.hold(Duration::ZERO, id(1), &mut docs);
    Relay::new(AutoCommit::new()).exchange(&mut link, &mut docs);
    link.release(id(1));
    link.handle_disconnected(Duration::ZERO, Disconnect::Lost);
    link.reconnect_now();
    link.handle_connected(Duration::ZERO);
    link.handle_frame(Duration::ZERO, &peer(Some("s1")), &mut docs)
        .unwrap();
    sent(&mut link);
    link.hold(Duration::ZERO, id(1), &mut docs);
    let Some(Message::Sync { data, .. }) = sent(&mut link).pop() else {
        panic!("no sync message");
    };
    let message = automerge::sync::Message::decode(&data).unwrap();
    assert!(
        !message
            .flags
            .unwrap()
            .contains(automerge::sync::MessageFlags::SYNC_RESET)
    );
    assert!(!message.heads.is_empty());
}

/// Behind the flaky package test `search: a thread synced from another store … becomes
/// searchable`: a store drops a thread from memory after its last flush and tells the link at its
/// driver's next turn; a change the relay sends in between finds no document and is dropped, and if
/// the thread is opened again before that turn the link never released it. The relay counts the
/// change as delivered and would never send it again: the session starts over instead.
#[test]
fn a_payload_that_found_no_document_makes_the_session_start_over_once_it_is_back() {
    let mut docs = HashMap::from([(id(1), doc_with("a"))]);
    let mut link = joined(&mut docs, Some("s1"));
    link.hold(Duration::ZERO, id(1), &mut docs);
    let mut relay = Relay::new(AutoCommit::new());
    relay.exchange(&mut link, &mut docs);
    let away = docs.remove(&id(1)).unwrap();
    relay.sends_a_change_from_another_device(&mut link, &mut docs);
    assert!(
        relay.session.poll_message(&mut relay.doc, 0).is_none(),
        "the relay counts the change as sent"
    );
    docs.insert(id(1), away);
    link.local_change(Duration::ZERO, id(1), &mut docs);
    let first = sent(&mut link);
    assert!(
        first_asks_to_start_over(&first),
        "the relay is asked to start over once the document is back"
    );
    link.transmits.extend(first.iter().map(Message::encode));
    relay.exchange(&mut link, &mut docs);
    assert_eq!(
        docs.get_mut(&id(1)).unwrap().get_heads(),
        relay.doc.get_heads(),
        "the change came again"
    );
    // Once is enough: the next change goes as usual.
    docs.get_mut(&id(1)).unwrap().put(ROOT, "c", 3).unwrap();
    docs.get_mut(&id(1)).unwrap().commit();
    link.local_change(Duration::ZERO, id(1), &mut docs);
    let Some(Message::Sync { data, .. }) = sent(&mut link).pop() else {
        panic!("the next change was not sent");
    };
    let message = automerge::sync::Message::decode(&data).unwrap();
    assert!(
        !message
            .flags
            .unwrap()
            .contains(automerge::sync::MessageFlags::SYNC_RESET)
    );
}
