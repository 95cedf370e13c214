//! Writes the fuzz targets' seed corpora, `fuzz/seeds/<target>/`, from real data: the frames of the
//! wire capture (`crates/protocol/tests/fixtures/wire-capture.jsonl`, JS automerge-repo peers and
//! their sync server), and sync messages and saved documents that chatsync's own code produces for
//! the fixture thread (`chatsync_fuzz::fixtures`). Deterministic: the same files on every run, so the
//! committed seeds change only when this program or the code it calls does.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example write_seeds
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use chatsync_fuzz::{fixtures, records};
use chatsync_model::automerge::transaction::Transactable;
use chatsync_model::automerge::{ActorId, AutoCommit, ROOT};
use chatsync_model::{MessageId, NewMessage, Role};
use chatsync_protocol::{DocSession, DocumentId, Message, PeerMetadata, whole_document_message};

const CAPTURE: &str = "../crates/protocol/tests/fixtures/wire-capture.jsonl";

/// A frame of the capture: the connection it was on, whether the client sent it, and its bytes.
struct Captured {
    conn: u64,
    from_client: bool,
    bytes: Vec<u8>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let captured = read_capture(&root.join(CAPTURE));
    let seeds = root.join("seeds");
    write_model_seeds(&mut Seeds::new(&seeds, "model_load"));
    write_sync_seeds(&mut Seeds::new(&seeds, "doc_session"), &captured);
    write_message_seeds(&mut Seeds::new(&seeds, "message_decode"), &captured);
    write_relay_seeds(&mut Seeds::new(&seeds, "relay_frames"), &captured);
    // The same frame sequences: the hub target reads the records the same way.
    write_relay_seeds(&mut Seeds::new(&seeds, "hub_frames"), &captured);
}

/// One target's seed directory, emptied when opened.
struct Seeds {
    dir: PathBuf,
    written: usize,
}

impl Seeds {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("remove the old seeds");
        }
        fs::create_dir_all(&dir).expect("create the seed directory");
        Self { dir, written: 0 }
    }

    fn write(&mut self, name: &str, bytes: &[u8]) {
        self.written += 1;
        let path = self.dir.join(format!("{:02}-{name}", self.written));
        fs::write(&path, bytes).expect("write a seed");
    }
}

impl Drop for Seeds {
    fn drop(&mut self) {
        println!("{}: {} seeds", self.dir.display(), self.written);
    }
}

fn read_capture(path: &Path) -> Vec<Captured> {
    let text = fs::read_to_string(path).expect("the wire capture");
    text.lines()
        .filter_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            // Frames too large to keep were captured without their bytes.
            let hex = entry["rawHex"].as_str()?;
            Some(Captured {
                conn: entry["conn"].as_u64().expect("a connection number"),
                from_client: entry["dir"] == "C->S",
                bytes: unhex(hex),
            })
        })
        .collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Saved threads and indexes, whole and as change chunks, and a thread of a newer schema.
fn write_model_seeds(seeds: &mut Seeds) {
    let mut thread = fixtures::thread(b"device-a");
    seeds.write("thread", &thread.save().expect("save"));
    let mut doc = thread.into_automerge();
    seeds.write("thread-as-changes", &doc.save_after(&[]));
    seeds.write("thread-uncompressed", &doc.save_nocompress());
    let mut newer = doc.fork().with_actor(ActorId::from(b"device-b".to_vec()));
    newer.put(ROOT, "schema", 99u64).expect("a put");
    newer.commit();
    seeds.write("thread-newer-schema", &newer.save());
    seeds.write(
        "thread-then-newer-change",
        &newer.save_after(&doc.get_heads()),
    );
    seeds.write("index", &fixtures::index(b"device-a").save().expect("save"));
    seeds.write("empty-document", &AutoCommit::new().save());
}

/// A sync payload: which exchange it is from, whether the peer (not the relay) sent it, its bytes.
type Payload = (&'static str, bool, Vec<u8>);

/// A fixture thread (relay side) and three peers: one holding nothing, one holding the same thread
/// and a new message, one holding an unrelated thread. The payloads both ways of each exchange.
fn sync_payloads(relay_actor: &[u8]) -> Vec<Payload> {
    let relay = || fixtures::thread(relay_actor).into_automerge();
    let mut payloads = Vec::new();
    let mut empty = AutoCommit::new();
    for payload in exchange(&mut relay(), &mut empty) {
        payloads.push(("from-empty-peer", payload.0, payload.1));
    }
    let mut ahead = fixtures::thread(relay_actor);
    let message = NewMessage::new(
        MessageId::new("u2").expect("an id"),
        Role::User,
        "and a list?",
    );
    ahead.append_message(message, 3_000).expect("a write");
    ahead.commit();
    let mut ahead = ahead
        .into_automerge()
        .with_actor(ActorId::from(b"device-b".to_vec()));
    for payload in exchange(&mut relay(), &mut ahead) {
        payloads.push(("from-peer-ahead", payload.0, payload.1));
    }
    let mut unrelated = fixtures::thread(b"device-c").into_automerge();
    for payload in exchange(&mut relay(), &mut unrelated) {
        payloads.push(("from-unrelated-peer", payload.0, payload.1));
    }
    let mut saved = fixtures::thread(relay_actor);
    let heads = saved.heads();
    let bytes = saved.save().expect("save");
    payloads.push((
        "whole-document",
        false,
        whole_document_message(heads, bytes),
    ));
    payloads
}

/// Runs a sync between `left` and `right` to the end; the payloads in the order they were sent, each
/// with whether `right` sent it.
fn exchange(left: &mut AutoCommit, right: &mut AutoCommit) -> Vec<(bool, Vec<u8>)> {
    let (mut l, mut r) = (DocSession::new(), DocSession::new());
    let mut sent = Vec::new();
    for _ in 0..32 {
        let mut quiet = true;
        if let Some(payload) = r.poll_message(right, 0) {
            l.receive(left, &payload).expect("a real payload");
            sent.push((true, payload));
            quiet = false;
        }
        if let Some(payload) = l.poll_message(left, 0) {
            r.receive(right, &payload).expect("a real payload");
            sent.push((false, payload));
            quiet = false;
        }
        if quiet {
            return sent;
        }
    }
    panic!("the sync never ended");
}

/// Sync payloads against the target's document (its actor is "relay"), and those in the capture.
fn write_sync_seeds(seeds: &mut Seeds, captured: &[Captured]) {
    for (name, _, payload) in sync_payloads(b"relay") {
        seeds.write(name, &payload);
    }
    for frame in captured {
        if let Ok(Message::Sync { data, .. } | Message::Request { data, .. }) =
            Message::decode(&frame.bytes)
        {
            seeds.write("captured", &data);
        }
    }
}

/// Every captured frame, and one of each message chatsync builds.
fn write_message_seeds(seeds: &mut Seeds, captured: &[Captured]) {
    for frame in captured {
        seeds.write("captured", &frame.bytes);
    }
    let document_id = fixtures::captured_document();
    let data = sync_payloads(b"relay").swap_remove(0).2;
    let messages = [
        Message::join("deviceA", false),
        Message::Peer {
            sender_id: "relay".into(),
            target_id: "deviceA".into(),
            peer_metadata: PeerMetadata {
                storage_id: Some("storage".into()),
                is_ephemeral: Some(false),
            },
            selected_protocol_version: "1".into(),
        },
        Message::Error {
            sender_id: "relay".into(),
            target_id: "deviceA".into(),
            message: "refused".into(),
        },
        Message::for_document(true, "deviceA", "relay", document_id, data.clone()),
        Message::for_document(false, "deviceA", "relay", document_id, data),
        Message::DocUnavailable {
            sender_id: "relay".into(),
            target_id: "deviceA".into(),
            document_id,
        },
        ephemeral("deviceA", document_id, 1),
        Message::Leave {
            sender_id: "deviceA".into(),
        },
    ];
    for message in messages {
        seeds.write(message.type_name(), &message.encode());
    }
}

fn ephemeral(sender: &str, document_id: DocumentId, count: u64) -> Message {
    Message::Ephemeral {
        sender_id: sender.into(),
        target_id: "relay".into(),
        document_id,
        session_id: format!("{sender}-session"),
        count,
        // CBOR for {"cursor": 3}.
        data: vec![0xa1, 0x66, b'c', b'u', b'r', b's', b'o', b'r', 0x03],
    }
}

/// Record sequences (`chatsync_fuzz::records`) for the relay target, whose storage holds
/// `fixtures::thread(b"stored")` under the captured document id: each captured connection's client
/// frames, whole syncs with peers, two connections at once, and the frames the relay refuses.
fn write_relay_seeds(seeds: &mut Seeds, captured: &[Captured]) {
    let mut conns: Vec<u64> = captured.iter().map(|f| f.conn).collect();
    conns.dedup();
    for conn in conns {
        let frames: Vec<u8> = captured
            .iter()
            .filter(|f| f.conn == conn && f.from_client)
            .flat_map(|f| records::binary(0, &f.bytes))
            .collect();
        if !frames.is_empty() {
            seeds.write("captured-connection", &frames);
        }
    }

    let document_id = fixtures::captured_document();
    let join =
        |conn: usize, peer: &str| records::binary(conn, &Message::join(peer, false).encode());
    let sync = |conn: usize, peer: &str, requesting: bool, data: Vec<u8>| {
        let message = Message::for_document(requesting, peer, "relay", document_id, data);
        records::binary(conn, &message.encode())
    };
    // What a peer sends in a whole sync with the stored document.
    let peer_side = |name: &str| -> Vec<Vec<u8>> {
        sync_payloads(b"stored")
            .into_iter()
            .filter(|(n, from_peer, _)| *n == name && *from_peer)
            .map(|(_, _, payload)| payload)
            .collect()
    };

    let mut cold = join(0, "deviceA");
    for (i, data) in peer_side("from-empty-peer").into_iter().enumerate() {
        cold.extend(sync(0, "deviceA", i == 0, data));
    }
    seeds.write("cold-load", &cold);

    let mut push = join(0, "deviceB");
    for data in peer_side("from-peer-ahead") {
        push.extend(sync(0, "deviceB", false, data));
    }
    seeds.write("push-a-change", &push);

    let mut two = join(0, "deviceA");
    two.extend(join(1, "deviceB"));
    let from_empty = peer_side("from-empty-peer");
    let from_ahead = peer_side("from-peer-ahead");
    for (i, (a, b)) in from_empty.into_iter().zip(from_ahead).enumerate() {
        two.extend(sync(0, "deviceA", i == 0, a));
        two.extend(sync(1, "deviceB", false, b));
    }
    two.extend(records::binary(
        0,
        &ephemeral("deviceA", document_id, 1).encode(),
    ));
    two.extend(records::binary(
        1,
        &ephemeral("deviceB", document_id, 1).encode(),
    ));
    two.extend(records::keepalive(1));
    two.extend(records::binary(
        0,
        &Message::Leave {
            sender_id: "deviceA".into(),
        }
        .encode(),
    ));
    seeds.write("two-connections", &two);

    // A document nobody stored: a `request` is answered unavailable, a `sync` creates it.
    let other = DocumentId::from_bytes([9; 16]);
    let mut fresh = join(0, "deviceA");
    let mut unrelated = fixtures::thread(b"device-c").into_automerge();
    let first = DocSession::new()
        .poll_message(&mut unrelated, 0)
        .expect("a first payload");
    let message = Message::for_document(true, "deviceA", "relay", other, first.clone());
    fresh.extend(records::binary(0, &message.encode()));
    let message = Message::for_document(false, "deviceA", "relay", other, first);
    fresh.extend(records::binary(0, &message.encode()));
    seeds.write("another-document", &fresh);

    seeds.write("text-frame", &records::text(0));
    seeds.write(
        "oversized-frame",
        &records::error(0, "Space limit exceeded: Message too long"),
    );
    seeds.write("socket-lost", &records::error(1, "Connection reset"));
    let mut before_join = sync(0, "deviceA", false, peer_side("from-empty-peer").remove(0));
    before_join.extend(join(0, "deviceA"));
    seeds.write("sync-before-join", &before_join);
    let old_version = Message::Join {
        sender_id: "deviceA".into(),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: vec!["0".into()],
    };
    seeds.write(
        "unsupported-version",
        &records::binary(0, &old_version.encode()),
    );
    let mut impostor = join(0, "deviceA");
    impostor.extend(sync(
        0,
        "deviceB",
        false,
        peer_side("from-peer-ahead").remove(0),
    ));
    seeds.write("another-sender", &impostor);
}
