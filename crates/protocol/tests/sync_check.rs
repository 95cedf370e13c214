//! The check of a peer's sync payload before Automerge reads it: hostile sizes are refused with the
//! reason, every payload Automerge itself writes passes, and nothing the check lets through makes
//! Automerge fail to decode it or panic.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_protocol::automerge::sync::{Message as AmMessage, ReadMessageError};
use chatsync_protocol::automerge::transaction::Transactable;
use chatsync_protocol::automerge::{AutoCommit, ChangeHash, ROOT};
use chatsync_protocol::{
    DocSession, Message, SyncError, SyncMessageError, SyncMessagePart as Part, is_from_empty_peer,
    whole_document_message,
};
use proptest::prelude::*;

const CAPTURE: &str = include_str!("fixtures/wire-capture.jsonl");

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A Bloom filter's bytes: its three parameters, then `bits` bytes.
fn bloom(entries: u64, bits_per_entry: u64, probes: u64, bits: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in [entries, bits_per_entry, probes] {
        leb(&mut out, n);
    }
    out.extend(std::iter::repeat_n(0xff, bits));
    out
}

/// A v1 sync message with no heads or need, one `have` holding `filter`, and no changes: the shape of
/// the 30-byte message that held the relay for seconds.
fn with_have(filter: &[u8]) -> Vec<u8> {
    let mut out = vec![0x42, 0, 0, 1, 0];
    leb(&mut out, filter.len() as u64);
    out.extend_from_slice(filter);
    out.push(0);
    out
}

/// A document with `n` changes of its own.
fn doc_with_changes(n: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    for i in 0..n {
        doc.put(ROOT, format!("k{i}"), i as i64).unwrap();
        doc.commit();
    }
    doc
}

fn refusal(data: &[u8]) -> SyncMessageError {
    let mut doc = doc_with_changes(3);
    let heads = doc.get_heads();
    let mut session = DocSession::new();
    let error = match session.receive(&mut doc, data) {
        Err(SyncError::Invalid(e)) => e,
        other => panic!("{data:02x?} not refused by the check: {other:?}"),
    };
    assert_eq!(
        doc.get_heads(),
        heads,
        "a refused message changed the document"
    );
    // Nothing was taken from it: the session answers as if it never came.
    let _ = session.poll_message(&mut doc, 0);
    error
}

#[test]
fn a_bloom_filter_with_two_to_the_26_probes_is_refused() {
    for probes in [1 << 26, 1 << 30, u64::from(u32::MAX)] {
        assert_eq!(
            refusal(&with_have(&bloom(1, 10, probes, 2))),
            SyncMessageError::BloomProbes {
                found: probes,
                limit: 64
            }
        );
    }
    assert_eq!(
        refusal(&with_have(&bloom(1, 10, 0, 2))),
        SyncMessageError::BloomProbes {
            found: 0,
            limit: 64
        }
    );
}

#[test]
fn a_bloom_filter_with_zero_bits_per_entry_is_refused_before_automerge_divides_by_it() {
    let hostile = with_have(&bloom(1, 0, 7, 0));
    assert_eq!(
        refusal(&hostile),
        SyncMessageError::BloomBitsPerEntry {
            found: 0,
            limit: 64
        }
    );
    // Automerge itself decodes it, and answering it would divide by zero.
    assert!(AmMessage::decode(&hostile).is_ok());
    assert_eq!(
        refusal(&with_have(&bloom(1, 65, 7, 9))),
        SyncMessageError::BloomBitsPerEntry {
            found: 65,
            limit: 64
        }
    );
}

#[test]
fn a_bloom_filter_whose_bits_do_not_match_its_parameters_is_refused() {
    // Four billion entries declared over two bytes of bits.
    assert_eq!(
        refusal(&with_have(&bloom(u64::from(u32::MAX), 10, 7, 2))),
        SyncMessageError::BloomLength {
            expected: 5_368_709_119,
            found: 2
        }
    );
    // Automerge writes exactly ceil(entries × bits / 8) bytes: 13 for 10 entries of 10 bits.
    for bits in [12, 14, 0] {
        assert_eq!(
            refusal(&with_have(&bloom(10, 10, 7, bits))),
            SyncMessageError::BloomLength {
                expected: 13,
                found: bits as u64
            }
        );
    }
    // Parameters beyond a u32, which Automerge reads them into.
    assert_eq!(
        refusal(&with_have(&bloom(1 << 32, 10, 7, 2))),
        SyncMessageError::BadNumber { part: Part::Bloom }
    );
}

#[test]
fn huge_declared_counts_are_refused_without_reading_on() {
    // 2^62 heads in a 12-byte message.
    let mut heads = vec![0x42];
    leb(&mut heads, 1 << 62);
    heads.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        refusal(&heads),
        SyncMessageError::CountTooLarge {
            part: Part::Heads,
            declared: 1 << 62,
            room: 3,
            fit: 0
        }
    );
    // A billion changes.
    let mut changes = vec![0x43, 0, 0, 0];
    leb(&mut changes, 1_000_000_000);
    changes.extend_from_slice(&[0; 40]);
    assert_eq!(
        refusal(&changes),
        SyncMessageError::CountTooLarge {
            part: Part::Changes,
            declared: 1_000_000_000,
            room: 40,
            fit: 3
        }
    );
    // A change longer than the message.
    let mut long = vec![0x43, 0, 0, 0, 1];
    leb(&mut long, u64::MAX);
    long.push(0);
    assert_eq!(
        refusal(&long),
        SyncMessageError::LengthTooLarge {
            part: Part::Change,
            declared: u64::MAX,
            room: 1
        }
    );
    // Nine have entries: Automerge sends at most one.
    let mut haves = vec![0x42, 0, 0, 9];
    haves.extend_from_slice(&[0; 18]);
    haves.push(0);
    assert_eq!(
        refusal(&haves),
        SyncMessageError::TooManyHaves {
            declared: 9,
            limit: 8
        }
    );
}

#[test]
fn repeated_or_unsorted_hashes_are_refused() {
    let mut doc = doc_with_changes(2);
    let mut hashes: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
    hashes.sort();
    let message = |need: &[ChangeHash]| {
        let mut out = vec![0x42, 0];
        leb(&mut out, need.len() as u64);
        for hash in need {
            out.extend_from_slice(&hash.0);
        }
        out.extend_from_slice(&[0, 0]);
        out
    };
    let unsorted = SyncMessageError::UnsortedHashes { part: Part::Need };
    assert_eq!(refusal(&message(&[hashes[0]; 1000])), unsorted);
    assert_eq!(refusal(&message(&[hashes[1], hashes[0]])), unsorted);
    let mut session = DocSession::new();
    let mut doc = doc_with_changes(2);
    session.receive(&mut doc, &message(&hashes)).unwrap();
}

#[test]
fn malformed_envelopes_are_refused_with_where() {
    assert_eq!(refusal(b""), SyncMessageError::UnknownType { found: None });
    assert_eq!(
        refusal(b"not a sync message"),
        SyncMessageError::UnknownType { found: Some(b'n') }
    );
    assert_eq!(
        refusal(&[0x42, 0, 0]),
        SyncMessageError::Truncated { part: Part::Have }
    );
    // An overlong zero, and eleven bytes of continuation: Automerge refuses both too.
    assert_eq!(
        refusal(&[0x42, 0x80, 0x00, 0, 0, 0]),
        SyncMessageError::BadNumber { part: Part::Heads }
    );
    assert_eq!(
        refusal(&[
            0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
        ]),
        SyncMessageError::BadNumber { part: Part::Heads }
    );
    // A change too short to be an Automerge chunk.
    assert_eq!(
        refusal(&[0x43, 0, 0, 0, 1, 3, 1, 2, 3, 6, 0, 0, 0, 0, 0, 0]),
        SyncMessageError::ChangeTooShort { length: 3, min: 10 }
    );
    // Flags that run past the end.
    assert_eq!(
        refusal(&[0x42, 0, 0, 0, 0, 5, 2]),
        SyncMessageError::LengthTooLarge {
            part: Part::Flags,
            declared: 5,
            room: 1
        }
    );
    assert!(!is_from_empty_peer(&with_have(&bloom(1, 0, 7, 0))));
}

/// Messages of every shape Automerge writes between two documents edited apart, then synced: first
/// messages (v1 with flags), Bloom filters, changes, whole documents (v2), a reset, and
/// `whole_document_message`.
fn real_traffic(a_edits: usize, b_edits: usize, shared: usize) -> Vec<Vec<u8>> {
    let mut a = doc_with_changes(shared);
    let mut b = a.fork();
    for i in 0..a_edits {
        a.put(ROOT, format!("a{i}"), "from a").unwrap();
        a.commit();
    }
    for i in 0..b_edits {
        b.put(ROOT, format!("b{i}"), "from b").unwrap();
        b.commit();
    }
    let mut sent = Vec::new();
    let (mut to_b, mut to_a) = (DocSession::new(), DocSession::new());
    for _ in 0..20 {
        let mut quiet = true;
        while let Some(m) = to_b.poll_message(&mut a, 0) {
            to_a.receive(&mut b, &m).unwrap();
            sent.push(m);
            quiet = false;
        }
        while let Some(m) = to_a.poll_message(&mut b, 0) {
            to_b.receive(&mut a, &m).unwrap();
            sent.push(m);
            quiet = false;
        }
        if quiet {
            break;
        }
    }
    // A peer that lost everything a resumed session remembers answers with a reset.
    let saved = to_b.saved_state();
    let mut resumed = DocSession::new().resume(&saved, &mut a);
    let mut lost = AutoCommit::new();
    if let Some(m) = resumed.poll_message(&mut a, 0) {
        let mut session = DocSession::new();
        session.receive(&mut lost, &m).unwrap();
        sent.push(m);
        sent.extend(session.poll_message(&mut lost, 0));
    }
    // An empty peer asking, answered by Automerge and by the relay's cold load.
    let mut empty = AutoCommit::new();
    let mut asking = DocSession::new();
    if let Some(request) = asking.poll_message(&mut empty, 0) {
        let mut answering = DocSession::new();
        answering.receive(&mut a, &request).unwrap();
        sent.push(request);
        sent.extend(answering.poll_message(&mut a, 0));
    }
    if !a.get_heads().is_empty() {
        sent.push(whole_document_message(a.get_heads(), a.save()));
    }
    sent
}

#[test]
fn every_shape_automerge_writes_passes() {
    let traffic = real_traffic(30, 5, 10);
    let first = |byte| traffic.iter().any(|m| m[0] == byte);
    assert!(first(0x42) && first(0x43), "both versions appear");
    let decoded: Vec<AmMessage> = traffic
        .iter()
        .map(|m| AmMessage::decode(m).unwrap())
        .collect();
    assert!(
        decoded
            .iter()
            .any(|m| m.have.iter().any(|h| h.bloom.to_bytes().len() > 3))
    );
    assert!(decoded.iter().any(|m| !m.changes.is_empty()));
    assert!(decoded.iter().any(|m| !m.need.is_empty()));
    // Two empty documents, and one side empty, too.
    let more = [real_traffic(0, 0, 0), real_traffic(0, 4, 0)].concat();
    for m in traffic.iter().chain(&more) {
        let mut doc = AutoCommit::new();
        DocSession::new()
            .receive(&mut doc, m)
            .unwrap_or_else(|e| panic!("{m:02x?}: {e}"));
    }
}

#[test]
fn every_captured_js_sync_payload_passes() {
    let mut payloads = 0;
    for line in CAPTURE.lines() {
        let Some(hex) = line
            .split("\"rawHex\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let raw: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        if let Ok(Message::Sync { data, .. } | Message::Request { data, .. }) =
            Message::decode(&raw)
        {
            let mut doc = AutoCommit::new();
            DocSession::new()
                .receive(&mut doc, &data)
                .unwrap_or_else(|e| panic!("{data:02x?}: {e}"));
            payloads += 1;
        }
    }
    assert!(
        payloads >= 5,
        "only {payloads} sync payloads in the capture"
    );
}

/// One way of damaging a message.
#[derive(Clone, Debug)]
enum Damage {
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Cut { at: usize },
}

fn damage(message: &mut Vec<u8>, damage: &Damage) {
    match damage {
        Damage::Set { at, byte } => {
            let at = at % message.len();
            message[at] = *byte;
        }
        Damage::Insert { at, bytes } => {
            let at = at % (message.len() + 1);
            message.splice(at..at, bytes.iter().copied());
        }
        Damage::Cut { at } => message.truncate(at % (message.len() + 1)),
    }
}

fn damages() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Damage::Set { at, byte }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
        any::<usize>().prop_map(|at| Damage::Cut { at }),
    ];
    prop::collection::vec(one, 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Real sync traffic between documents edited apart always passes.
    #[test]
    fn real_sync_traffic_always_passes(a in 0usize..12, b in 0usize..12, shared in 0usize..6) {
        for m in real_traffic(a, b, shared) {
            let mut doc = AutoCommit::new();
            let received = DocSession::new().receive(&mut doc, &m);
            prop_assert!(received.is_ok(), "{:02x?}: {:?}", m, received);
        }
    }

    /// Whatever the check lets through, Automerge decodes, and neither applying it nor answering
    /// it panics.
    #[test]
    fn what_the_check_passes_automerge_decodes_and_answers(
        pick in any::<prop::sample::Index>(),
        damage_done in damages(),
    ) {
        let traffic = real_traffic(6, 3, 2);
        let mut message = pick.get(&traffic).clone();
        for d in &damage_done {
            damage(&mut message, d);
            if message.is_empty() {
                break;
            }
        }
        let mut doc = doc_with_changes(4);
        let mut session = DocSession::new();
        match session.receive(&mut doc, &message) {
            Err(SyncError::Decode(e)) => {
                let e: ReadMessageError = e;
                prop_assert!(false, "passed the check, Automerge could not decode it: {e}");
            }
            _ => {
                let _ = session.poll_message(&mut doc, 0);
            }
        }
    }
}
