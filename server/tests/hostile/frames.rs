//! Hostile frames: CBOR maps and arrays far beyond any message's shape, and sync payloads whose
//! Bloom filters or counts Automerge would trust. Each is refused with 1007 at once.

use std::time::Instant;

use chatsync_protocol::Message;

use super::cases::{self, Input};
use super::{Outcome, PROMPTLY, TestRelay, document_id};

/// Sends the case named `name` on a relay that another user is syncing with meanwhile, and checks
/// that it is refused with 1007 within [`PROMPTLY`], that the other user's sync and `/healthz` are
/// answered, and that the connection is cleaned up afterwards.
async fn refused_at_once(name: &str) {
    let case = cases::all()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name:?}"));
    let relay = TestRelay::start().await;
    let mut mallory = relay.connect("mallory").await;
    let frame = match case.input {
        Input::FirstFrame(frame) => frame,
        Input::SyncPayload(payload) => {
            // Mallory's own document, with changes for the relay to look up in the filter.
            mallory.join().await;
            let mut doc = mallory.store(document_id(1), 20).await;
            Message::Sync {
                sender_id: mallory.peer.clone(),
                target_id: "relay".into(),
                document_id: document_id(1),
                data: payload(&doc.get_heads()),
            }
            .encode()
        }
    };
    let sent = Instant::now();
    mallory.send(frame).await;
    let bystander = async {
        let mut alice = relay.connect("alice").await;
        alice.join().await;
        alice.store(document_id(2), 3).await;
        let healthy = relay.healthy().await;
        (alice, healthy)
    };
    let (outcome, (alice, healthy)) =
        tokio::join!(tokio::time::timeout(PROMPTLY, mallory.outcome()), bystander);
    let outcome = outcome.unwrap_or_else(|_| panic!("{name}: not refused within {PROMPTLY:?}"));
    assert_eq!(outcome, Outcome::Closed(Some(1007)), "{name}");
    assert!(sent.elapsed() < PROMPTLY, "{name}: {:?}", sent.elapsed());
    assert!(healthy, "{name}: /healthz did not answer");
    alice.close().await;
    relay.assert_cleaned_up().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_with_eighty_thousand_keys_is_refused_in_linear_time() {
    refused_at_once("map of 80,000 keys").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indefinite_map_of_eighty_thousand_keys_is_refused_in_linear_time() {
    refused_at_once("indefinite map of 80,000 keys").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_metadata_of_eighty_thousand_keys_is_refused_in_linear_time() {
    refused_at_once("peerMetadata of 80,000 keys").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_protocol_versions_are_refused_before_they_are_read() {
    refused_at_once("1,000,000 protocol versions").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bloom_filter_with_two_to_the_26_probes_is_refused_at_once() {
    refused_at_once("Bloom filter, 2^26 probes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bloom_filter_with_two_to_the_30_probes_does_not_abort_the_relay() {
    refused_at_once("Bloom filter, 2^30 probes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_bits_per_entry_is_refused_before_automerge_panics() {
    refused_at_once("Bloom filter, 0 bits per entry").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bloom_filter_of_four_billion_entries_is_refused() {
    refused_at_once("Bloom filter, 2^32-1 entries").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bloom_filter_of_the_wrong_length_is_refused() {
    refused_at_once("Bloom filter, bits of the wrong length").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_declared_head_count_is_refused() {
    refused_at_once("2^62 heads declared").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_declared_change_count_is_refused() {
    refused_at_once("2^62 changes declared").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_repeating_one_hash_is_refused() {
    refused_at_once("need repeating one hash 100,000 times").await;
}

/// Every case in `cases.rs` has a test above.
#[test]
fn every_case_is_tested() {
    let source = include_str!("frames.rs");
    for case in cases::all() {
        assert!(
            source.contains(&format!("refused_at_once({:?})", case.name)),
            "no test sends {:?}",
            case.name
        );
    }
}
