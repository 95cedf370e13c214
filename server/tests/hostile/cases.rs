//! The hostile inputs themselves, as bytes: shared by the suite (`frames.rs`) and by the probe that
//! measures a relay binary against them (`examples/hostile_probe.rs`).

use chatsync_protocol::automerge::ChangeHash;

/// One hostile input.
pub struct Case {
    /// Names it in test output and in the probe's table.
    pub name: &'static str,
    /// What is sent.
    pub input: Input,
}

/// How a case reaches the relay.
pub enum Input {
    /// A frame sent instead of `join`: it is refused while being decoded.
    FirstFrame(Vec<u8>),
    /// A sync payload on the sender's own document, once the relay holds that document's changes
    /// (answering it looks each of them up in the payload's Bloom filters). Given the document's
    /// heads.
    SyncPayload(fn(&[ChangeHash]) -> Vec<u8>),
}

/// Every case.
pub fn all() -> Vec<Case> {
    vec![
        Case {
            name: "map of 80,000 keys",
            input: Input::FirstFrame(sync_frame_with_keys(80_000, false)),
        },
        Case {
            name: "indefinite map of 80,000 keys",
            input: Input::FirstFrame(sync_frame_with_keys(80_000, true)),
        },
        Case {
            name: "peerMetadata of 80,000 keys",
            input: Input::FirstFrame(join_with_metadata_keys(80_000)),
        },
        Case {
            name: "1,000,000 protocol versions",
            input: Input::FirstFrame(join_with_versions(1_000_000)),
        },
        Case {
            name: "Bloom filter, 2^26 probes",
            input: Input::SyncPayload(|heads| with_have(heads, &bloom(1, 10, 1 << 26, 2))),
        },
        Case {
            name: "Bloom filter, 2^30 probes",
            input: Input::SyncPayload(|heads| with_have(heads, &bloom(1, 10, 1 << 30, 2))),
        },
        Case {
            name: "Bloom filter, 0 bits per entry",
            input: Input::SyncPayload(|heads| with_have(heads, &bloom(1, 0, 7, 0))),
        },
        Case {
            name: "Bloom filter, 2^32-1 entries",
            input: Input::SyncPayload(|heads| {
                with_have(heads, &bloom(u64::from(u32::MAX), 10, 7, 2))
            }),
        },
        Case {
            name: "Bloom filter, bits of the wrong length",
            input: Input::SyncPayload(|heads| with_have(heads, &bloom(10, 10, 7, 200))),
        },
        Case {
            name: "2^62 heads declared",
            input: Input::SyncPayload(|_| {
                let mut out = vec![0x42];
                leb(&mut out, 1 << 62);
                out.extend_from_slice(&[0, 0, 0]);
                out
            }),
        },
        Case {
            name: "2^62 changes declared",
            input: Input::SyncPayload(|heads| {
                let mut out = vec![0x42];
                hashes(&mut out, heads);
                out.extend_from_slice(&[0, 0]);
                leb(&mut out, 1 << 62);
                out.extend_from_slice(&[0; 64]);
                out
            }),
        },
        Case {
            name: "need repeating one hash 100,000 times",
            input: Input::SyncPayload(|heads| {
                let mut out = vec![0x42];
                hashes(&mut out, heads);
                leb(&mut out, 100_000);
                for _ in 0..100_000 {
                    out.extend_from_slice(&heads[0].0);
                }
                out.extend_from_slice(&[0, 0]);
                out
            }),
        },
    ]
}

/// Appends `value` as unsigned LEB128.
pub fn leb(out: &mut Vec<u8>, mut value: u64) {
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

/// Appends a list of hashes: its count, then each.
fn hashes(out: &mut Vec<u8>, list: &[ChangeHash]) {
    leb(out, list.len() as u64);
    for hash in list {
        out.extend_from_slice(&hash.0);
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

/// A v1 sync message advertising `heads` (so the relay answers with a list of changes, not the whole
/// document), needing nothing, with one `have` holding `filter` and no changes.
fn with_have(heads: &[ChangeHash], filter: &[u8]) -> Vec<u8> {
    let mut out = vec![0x42];
    hashes(&mut out, heads);
    out.extend_from_slice(&[0, 1, 0]);
    leb(&mut out, filter.len() as u64);
    out.extend_from_slice(filter);
    out.push(0);
    out
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 256);
    out.extend_from_slice(&[0x78, s.len() as u8]);
    out.extend_from_slice(s.as_bytes());
}

/// A `sync` frame whose map has `extra` unknown keys besides its fields: of definite length
/// (declared in a 32-bit header) or indefinite.
fn sync_frame_with_keys(extra: u32, indefinite: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if indefinite {
        out.push(0xbf);
    } else {
        out.push(0xba);
        out.extend_from_slice(&(extra + 5).to_be_bytes());
    }
    for (key, value) in [
        ("type", "sync"),
        ("senderId", "mallory"),
        ("targetId", "relay"),
        ("documentId", "bQsq314HiQ6Sk4sLcK1zrchCxv7"),
    ] {
        cbor_text(&mut out, key);
        cbor_text(&mut out, value);
    }
    cbor_text(&mut out, "data");
    out.extend_from_slice(&[0x41, 0x42]);
    for i in 0..extra {
        cbor_text(&mut out, &format!("k{i}"));
        out.push(0x00);
    }
    if indefinite {
        out.push(0xff);
    }
    out
}

/// A `join` whose `peerMetadata` map holds `keys` keys.
fn join_with_metadata_keys(keys: u32) -> Vec<u8> {
    let mut out = vec![0xa3];
    cbor_text(&mut out, "type");
    cbor_text(&mut out, "join");
    cbor_text(&mut out, "senderId");
    cbor_text(&mut out, "mallory");
    cbor_text(&mut out, "peerMetadata");
    out.push(0xba);
    out.extend_from_slice(&keys.to_be_bytes());
    for i in 0..keys {
        cbor_text(&mut out, &format!("k{i}"));
        out.push(0xf5);
    }
    out
}

/// A `join` listing `count` empty protocol versions.
fn join_with_versions(count: u32) -> Vec<u8> {
    let mut out = vec![0xa3];
    cbor_text(&mut out, "type");
    cbor_text(&mut out, "join");
    cbor_text(&mut out, "senderId");
    cbor_text(&mut out, "mallory");
    cbor_text(&mut out, "supportedProtocolVersions");
    out.push(0x9a);
    out.extend_from_slice(&count.to_be_bytes());
    out.extend(std::iter::repeat_n(0x60, count as usize));
    out
}
