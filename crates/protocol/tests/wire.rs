//! Every frame captured from JS automerge-repo (tests/fixtures/wire-capture.jsonl, copied from
//! shared/reference) decodes, and re-encodes to the same CBOR content.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_protocol::{DecodeError, DocumentId, Message};
use ciborium::Value;

const CAPTURE: &str = include_str!("fixtures/wire-capture.jsonl");

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The generic CBOR value with `null`/`undefined` map entries dropped (we omit absent fields) and map
/// entries sorted by key (the JS side's key order varies between frames of one type and it ignores it).
fn normalized(bytes: &[u8]) -> Value {
    fn strip(v: Value) -> Value {
        match v {
            Value::Map(entries) => {
                let mut entries: Vec<(Value, Value)> = entries
                    .into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, strip(v)))
                    .collect();
                entries.sort_by(|a, b| a.0.as_text().cmp(&b.0.as_text()));
                Value::Map(entries)
            }
            other => other,
        }
    }
    strip(ciborium::from_reader(bytes).unwrap())
}

fn frames() -> Vec<(serde_json::Value, Vec<u8>)> {
    CAPTURE
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|d| {
            let raw = hex(d.get("rawHex")?.as_str()?);
            Some((d["msg"].clone(), raw))
        })
        .collect()
}

#[test]
fn every_captured_frame_decodes_with_the_captured_fields() {
    let frames = frames();
    assert!(
        frames.len() >= 24,
        "the capture has {} frames with raw bytes",
        frames.len()
    );
    for (msg, raw) in frames {
        let decoded = Message::decode(&raw).unwrap_or_else(|e| panic!("{msg}: {e}"));
        assert_eq!(decoded.type_name(), msg["type"].as_str().unwrap());
        match &decoded {
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            }
            | Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            } => {
                assert_eq!(sender_id, msg["senderId"].as_str().unwrap());
                assert_eq!(target_id, msg["targetId"].as_str().unwrap());
                assert_eq!(document_id.to_string(), msg["documentId"].as_str().unwrap());
                assert_eq!(data.len() as u64, msg["data"]["bytes"].as_u64().unwrap());
            }
            Message::Ephemeral {
                session_id, count, ..
            } => {
                assert_eq!(session_id, msg["sessionId"].as_str().unwrap());
                assert_eq!(*count, msg["count"].as_u64().unwrap());
            }
            Message::Join {
                peer_metadata,
                supported_protocol_versions,
                ..
            } => {
                assert_eq!(
                    peer_metadata.storage_id, None,
                    "undefined storageId reads as absent"
                );
                let captured: Vec<String> =
                    serde_json::from_value(msg["supportedProtocolVersions"].clone()).unwrap();
                assert_eq!(supported_protocol_versions, &captured);
            }
            _ => {}
        }
    }
}

#[test]
fn every_captured_frame_re_encodes_to_the_same_content() {
    for (msg, raw) in frames() {
        let encoded = Message::decode(&raw).unwrap().encode();
        assert_eq!(normalized(&encoded), normalized(&raw), "{msg}");
        assert_eq!(
            Message::decode(&encoded).unwrap(),
            Message::decode(&raw).unwrap()
        );
    }
}

#[test]
fn malformed_frames_are_refused_with_the_reason() {
    let id = DocumentId::from_bytes([1; 16]);
    let good = Message::DocUnavailable {
        sender_id: "s".into(),
        target_id: "t".into(),
        document_id: id,
    }
    .encode();
    assert!(matches!(
        Message::decode(&good[..good.len() - 1]),
        Err(DecodeError::Cbor(_))
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        Message::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
    let mut not_a_map = Vec::new();
    ciborium::into_writer(&Value::Array(vec![]), &mut not_a_map).unwrap();
    assert_eq!(Message::decode(&not_a_map), Err(DecodeError::NotAMap));

    let map = |entries: Vec<(&str, Value)>| {
        let mut out = Vec::new();
        let entries = entries
            .into_iter()
            .map(|(k, v)| (Value::Text(k.into()), v))
            .collect();
        ciborium::into_writer(&Value::Map(entries), &mut out).unwrap();
        out
    };
    let text = |s: &str| Value::Text(s.into());
    assert_eq!(
        Message::decode(&map(vec![("type", text("bogus")), ("senderId", text("a"))])),
        Err(DecodeError::UnknownType("bogus".into()))
    );
    assert_eq!(
        Message::decode(&map(vec![("type", text("sync")), ("senderId", text("a"))])),
        Err(DecodeError::MissingField {
            message_type: "sync",
            field: "targetId"
        })
    );
    let sync = map(vec![
        ("type", text("sync")),
        ("senderId", text("a")),
        ("targetId", text("b")),
        ("documentId", text(&id.to_string())),
        ("data", text("not bytes")),
    ]);
    assert_eq!(
        Message::decode(&sync),
        Err(DecodeError::WrongType {
            field: "data",
            expected: "a byte string"
        })
    );
    let bad_id = map(vec![
        ("type", text("doc-unavailable")),
        ("senderId", text("a")),
        ("targetId", text("b")),
        ("documentId", text("nope")),
    ]);
    assert!(matches!(
        Message::decode(&bad_id),
        Err(DecodeError::DocumentId(_))
    ));
    assert!(matches!(Message::decode(&[]), Err(DecodeError::Cbor(_))));
}

#[test]
fn a_clients_join_and_document_messages_are_built_as_automerge_repo_expects() {
    let join = Message::decode(&Message::join("device-a", false).encode()).unwrap();
    match join {
        Message::Join {
            sender_id,
            peer_metadata,
            supported_protocol_versions,
        } => {
            assert_eq!(sender_id, "device-a");
            assert_eq!(peer_metadata.is_ephemeral, Some(false));
            assert_eq!(supported_protocol_versions, vec!["1".to_owned()]);
        }
        other => panic!("not a join: {}", other.type_name()),
    }
    let id = DocumentId::from_bytes([3; 16]);
    let request = Message::for_document(true, "a", "relay", id, vec![1]);
    let sync = Message::for_document(false, "a", "relay", id, vec![1]);
    assert_eq!(request.type_name(), "request");
    assert_eq!(sync.type_name(), "sync");
}

/// CBOR that cbor-x or another peer may send and the JS side accepts: indefinite-length maps, text
/// and byte strings, keys that are not text, repeated keys, and unknown fields of any shape.
#[test]
fn unusual_but_valid_cbor_decodes() {
    let id = DocumentId::from_bytes([2; 16]);
    let id_text = id.to_string();
    let mut frame = vec![0xbf]; // an indefinite-length map
    let text = |frame: &mut Vec<u8>, s: &str| {
        frame.push(0x78);
        frame.push(s.len() as u8);
        frame.extend_from_slice(s.as_bytes());
    };
    text(&mut frame, "type");
    text(&mut frame, "sync");
    text(&mut frame, "senderId");
    frame.push(0x7f); // an indefinite-length text: "a" "b"
    frame.extend_from_slice(&[0x61, b'a', 0x61, b'b', 0xff]);
    frame.extend_from_slice(&[0x01, 0x02]); // key 1 (not text), value 2: skipped
    text(&mut frame, "targetId");
    text(&mut frame, "server");
    text(&mut frame, "targetId"); // a repeated key: the first one counts
    text(&mut frame, "other");
    text(&mut frame, "extra"); // an unknown field holding nested indefinite arrays and a tag
    frame.extend_from_slice(&[0x9f, 0x9f, 0xc1, 0x01, 0xff, 0xf6, 0xff]);
    // The key `documentId` as an indefinite-length text: "doc" "umentId".
    frame.extend_from_slice(&[0x7f, 0x63]);
    frame.extend_from_slice(b"doc");
    frame.push(0x67);
    frame.extend_from_slice(b"umentId");
    frame.push(0xff);
    text(&mut frame, &id_text);
    text(&mut frame, "data");
    frame.extend_from_slice(&[0x5f, 0x42, 1, 2, 0x41, 3, 0xff]); // indefinite bytes: [1,2] [3]
    frame.push(0xff);
    assert_eq!(
        Message::decode(&frame),
        Ok(Message::Sync {
            sender_id: "ab".into(),
            target_id: "server".into(),
            document_id: id,
            data: vec![1, 2, 3],
        })
    );
}

/// A frame nested far deeper than any message is refused or read without exhausting the stack.
#[test]
fn deeply_nested_frames_do_not_overflow() {
    let depth = 200_000;
    let mut frame = vec![0xa2, 0x64];
    frame.extend_from_slice(b"type");
    frame.extend(std::iter::repeat_n(0x81, depth)); // [[[[...]]]]
    frame.push(0x00);
    frame.extend_from_slice(&[0x61, b'x', 0x00]);
    assert_eq!(
        Message::decode(&frame),
        Err(DecodeError::WrongType {
            field: "type",
            expected: "a string"
        })
    );
    let mut unterminated = vec![0xbf];
    unterminated.extend(std::iter::repeat_n(0x9f, depth));
    assert!(matches!(
        Message::decode(&unterminated),
        Err(DecodeError::Cbor(_))
    ));
}

/// Runs `f` and, off wasm32 (which has no clock), checks it took under half a second.
fn quickly<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(not(target_arch = "wasm32"))]
    let started = std::time::Instant::now();
    let out = f();
    #[cfg(not(target_arch = "wasm32"))]
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    out
}

/// A `sync` message's fields and then `extra` distinct unknown keys, in a map of definite length
/// (declared in a 32-bit header) or of indefinite length.
fn sync_frame_with_keys(extra: usize, indefinite: bool) -> Vec<u8> {
    let id = DocumentId::from_bytes([4; 16]).to_string();
    let fields = [
        ("type", "sync"),
        ("senderId", "a"),
        ("targetId", "b"),
        ("documentId", id.as_str()),
    ];
    let mut frame = Vec::new();
    if indefinite {
        frame.push(0xbf);
    } else {
        let entries = (fields.len() + 1 + extra) as u32;
        frame.push(0xba); // a map with a 32-bit length
        frame.extend_from_slice(&entries.to_be_bytes());
    }
    let text = |frame: &mut Vec<u8>, s: &str| {
        frame.push(0x78);
        frame.push(s.len() as u8);
        frame.extend_from_slice(s.as_bytes());
    };
    for (key, value) in fields {
        text(&mut frame, key);
        text(&mut frame, value);
    }
    text(&mut frame, "data");
    frame.extend_from_slice(&[0x41, 0x42]);
    for i in 0..extra {
        text(&mut frame, &format!("k{i}"));
        frame.push(0x00);
    }
    if indefinite {
        frame.push(0xff);
    }
    frame
}

#[test]
fn a_map_with_eighty_thousand_keys_is_refused_in_linear_time() {
    for indefinite in [false, true] {
        let frame = sync_frame_with_keys(80_000, indefinite);
        assert!(frame.len() > 400_000, "{} bytes", frame.len());
        // Refused at the header or after 64 entries; comparing every key with every earlier one took
        // seconds.
        assert_eq!(
            quickly(|| Message::decode(&frame)),
            Err(DecodeError::TooManyEntries {
                what: "the message",
                limit: 64
            }),
            "indefinite: {indefinite}"
        );
    }
}

#[test]
fn a_map_with_as_many_entries_as_allowed_decodes() {
    // 5 fields and 59 unknown ones: 64 entries.
    for indefinite in [false, true] {
        let frame = sync_frame_with_keys(59, indefinite);
        assert!(
            matches!(Message::decode(&frame), Ok(Message::Sync { .. })),
            "indefinite: {indefinite}"
        );
        let frame = sync_frame_with_keys(60, indefinite);
        assert!(matches!(
            Message::decode(&frame),
            Err(DecodeError::TooManyEntries { .. })
        ));
    }
}

#[test]
fn peer_metadata_with_eighty_thousand_keys_is_refused() {
    let mut metadata = vec![0xba];
    metadata.extend_from_slice(&80_000u32.to_be_bytes());
    for i in 0..80_000 {
        let key = format!("k{i}");
        metadata.push(0x78);
        metadata.push(key.len() as u8);
        metadata.extend_from_slice(key.as_bytes());
        metadata.push(0xf5);
    }
    let mut frame = vec![0xa4];
    for (key, value) in [("type", "join"), ("senderId", "a")] {
        for s in [key, value] {
            frame.push(0x60 + s.len() as u8);
            frame.extend_from_slice(s.as_bytes());
        }
    }
    frame.push(0x6c);
    frame.extend_from_slice(b"peerMetadata");
    frame.extend_from_slice(&metadata);
    frame.push(0x78);
    frame.push(25);
    frame.extend_from_slice(b"supportedProtocolVersions");
    frame.extend_from_slice(&[0x81, 0x61, b'1']);
    assert_eq!(
        quickly(|| Message::decode(&frame)),
        Err(DecodeError::TooManyEntries {
            what: "peerMetadata",
            limit: 64
        })
    );
}

#[test]
fn a_protocol_version_list_beyond_the_cap_is_refused_before_it_is_read() {
    let join = |versions: &[u8]| {
        let mut frame = vec![0xa3];
        for (key, value) in [("type", "join"), ("senderId", "a")] {
            for s in [key, value] {
                frame.push(0x60 + s.len() as u8);
                frame.extend_from_slice(s.as_bytes());
            }
        }
        frame.push(0x78);
        frame.push(25);
        frame.extend_from_slice(b"supportedProtocolVersions");
        frame.extend_from_slice(versions);
        frame
    };
    // A million empty strings declared (and present): 24 MB of `String`s once read.
    let mut million = vec![0x9a];
    million.extend_from_slice(&1_000_000u32.to_be_bytes());
    million.extend(std::iter::repeat_n(0x60, 1_000_000));
    let refused = Err(DecodeError::TooManyEntries {
        what: "supportedProtocolVersions",
        limit: 64,
    });
    assert_eq!(Message::decode(&join(&million)), refused);
    // Indefinite length: refused after the 64th.
    let mut indefinite = vec![0x9f];
    indefinite.extend(std::iter::repeat_n(0x60, 100));
    indefinite.push(0xff);
    assert_eq!(Message::decode(&join(&indefinite)), refused);
    // A declared length beyond the frame: the frame ends inside the array.
    assert!(matches!(
        Message::decode(&join(&[
            0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ])),
        Err(DecodeError::Cbor(_))
    ));
    let mut two = vec![0x82, 0x61, b'1', 0x61, b'2'];
    assert!(matches!(
        Message::decode(&join(&two)),
        Ok(Message::Join { supported_protocol_versions, .. }) if supported_protocol_versions == ["1", "2"]
    ));
    two[0] = 0x83;
    assert!(matches!(
        Message::decode(&join(&two)),
        Err(DecodeError::WrongType { .. } | DecodeError::Cbor(_))
    ));
}

#[test]
fn a_wide_map_in_an_unknown_field_is_skipped_in_linear_time() {
    // {type, senderId, targetId, documentId, data, extra: {80,000 keys}}: the unknown field is skipped
    // without reading its keys, so it costs one pass.
    let mut frame = sync_frame_with_keys(0, false);
    frame[1..5].copy_from_slice(&6u32.to_be_bytes());
    frame.extend_from_slice(&[0x65]);
    frame.extend_from_slice(b"extra");
    frame.push(0xba);
    frame.extend_from_slice(&80_000u32.to_be_bytes());
    for i in 0..80_000 {
        let key = format!("k{i}");
        frame.push(0x60 + key.len() as u8);
        frame.extend_from_slice(key.as_bytes());
        frame.push(0x00);
    }
    assert!(matches!(
        quickly(|| Message::decode(&frame)),
        Ok(Message::Sync { .. })
    ));
}
