//! Ordered parts: text and reasoning that stream per part, tool parts in the AI SDK's states, files,
//! sources, data parts that replace, step boundaries; caller ids, finish details, metadata updates;
//! and messages stored before parts existed.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::transaction::Transactable;
use chatsync_model::automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use chatsync_model::input::{AppendMessageInput, FinishMessageInput, InputError, read};
use chatsync_model::view::{PartView, ToolPartState};
use chatsync_model::view_json::to_json_text;
use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, FilePart, FinishDetails, Json, Limits,
    MessageEnd, MessageStatus, ModelError, NewMessage, NewPart, PartId, ReadAt, Role,
    THREAD_SCHEMA_VERSION, Thread, ToolCallId, ToolCallOptions, ToolCallOutcome, ToolCallStatus,
};
use serde_json::{Value, json};

use crate::support::{actor, append, at, mid, new_thread, refused, search_call, thread_id};

fn pid(id: &str) -> PartId {
    PartId::new(id).unwrap()
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok()
}

/// The message's parts as the JSON both serializers write (checked equal here).
fn parts_json(thread: &Thread, id: &str) -> Value {
    let message = thread.message(&mid(id), ReadAt::new(at(10_000))).unwrap();
    let by_serde = serde_json::to_value(&message).unwrap();
    let by_hand: Value = serde_json::from_str(&to_json_text(&message, &is_json)).unwrap();
    assert_eq!(by_serde, by_hand, "view_json and serde disagree");
    let back: chatsync_model::view::MessageView = serde_json::from_value(by_serde.clone()).unwrap();
    assert_eq!(back, message, "the view reads back from its JSON");
    by_serde["parts"].clone()
}

fn reply(thread: &mut Thread, id: &str) {
    append(thread, id, Role::Assistant, "", at(2));
}

#[test]
fn a_multi_step_reply_keeps_its_parts_in_order_and_content_is_its_text() {
    let mut t = new_thread();
    append(&mut t, "u1", Role::User, "Weather?", at(1));
    reply(&mut t, "a1");
    let a1 = mid("a1");
    t.append_part(&a1, NewPart::StepStart, at(3)).unwrap();
    let reasoning = NewPart::Reasoning {
        id: Some(pid("r1")),
        text: String::new(),
    };
    t.append_part(&a1, reasoning, at(3)).unwrap();
    t.append_part_delta(&a1, &pid("r1"), "Look it ", at(4))
        .unwrap();
    t.append_delta(&a1, "Let me ", at(4)).unwrap();
    t.append_part_delta(&a1, &pid("r1"), "up.", at(5)).unwrap();
    t.append_delta(&a1, "check.", at(5)).unwrap();
    t.start_tool_call(search_call("tc1", "a1", ToolCallStatus::Running), at(6))
        .unwrap();
    t.finish_tool_call(
        &ToolCallId::new("tc1").unwrap(),
        ToolCallOutcome::Completed {
            output: json!({ "temp": 21 }).into(),
        },
        at(7),
    )
    .unwrap();
    t.append_part(&a1, NewPart::StepStart, at(8)).unwrap();
    t.append_delta(&a1, " It is 21°C.", at(8)).unwrap();
    let source = NewPart::SourceUrl {
        source_id: "s1".into(),
        url: "https://weather.example".into(),
        title: Some("Weather".into()),
    };
    t.append_part(&a1, source, at(9)).unwrap();
    let data = |v: Value| NewPart::Data {
        data_type: "data-forecast".into(),
        id: Some("f1".into()),
        data: v.into(),
    };
    t.append_part(&a1, data(json!({ "status": "loading" })), at(9))
        .unwrap();
    t.append_part(&a1, data(json!({ "status": "done", "days": 3 })), at(9))
        .unwrap();
    let details = FinishDetails {
        finish_reason: Some("stop".into()),
        error: None,
    };
    t.finish_message_with(
        &a1,
        MessageEnd {
            status: MessageStatus::Complete,
            usage: None,
        },
        details,
        at(10),
    )
    .unwrap();

    let m = t.message(&a1, ReadAt::new(at(11))).unwrap();
    assert_eq!(m.content, "Let me check. It is 21°C.");
    assert_eq!(m.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        parts_json(&t, "a1"),
        json!([
            { "type": "step-start" },
            { "type": "reasoning", "id": "r1", "text": "Look it up.", "state": "done" },
            { "type": "text", "text": "Let me check.", "state": "done" },
            { "type": "tool-search", "toolCallId": "tc1", "state": "output-available",
              "input": {}, "output": { "temp": 21 } },
            { "type": "step-start" },
            { "type": "text", "text": " It is 21°C.", "state": "done" },
            { "type": "source-url", "sourceId": "s1", "url": "https://weather.example", "title": "Weather" },
            { "type": "data-forecast", "id": "f1", "data": { "status": "done", "days": 3 } },
        ])
    );
    // The summary reads the same content.
    assert_eq!(
        t.summary(ReadAt::new(at(11))).preview,
        "Let me check. It is 21°C."
    );
}

#[test]
fn tool_parts_follow_the_ai_sdk_states_with_their_approval() {
    let mut t = new_thread();
    reply(&mut t, "a1");
    let call = ToolCallId::new("tc1").unwrap();
    let options = ToolCallOptions {
        dynamic: true,
        input_streaming: true,
    };
    t.start_tool_call_with(
        search_call("tc1", "a1", ToolCallStatus::Running),
        options,
        at(3),
    )
    .unwrap();
    let state = |t: &Thread| parts_json(t, "a1")[0]["state"].clone();
    assert_eq!(
        parts_json(&t, "a1"),
        json!([{ "type": "dynamic-tool", "toolName": "search", "toolCallId": "tc1", "state": "input-streaming" }])
    );
    t.set_tool_call_input(&call, json!({ "q": "rust" }).into(), at(4))
        .unwrap();
    assert_eq!(state(&t), "input-available");
    let request = ApprovalRequest {
        id: ApprovalId::new("ap1").unwrap(),
        kind: "tool-call".into(),
        subject: "tc1".into(),
        message_id: Some(mid("a1")),
    };
    t.request_approval_for(request, Some(&call), at(5)).unwrap();
    assert_eq!(state(&t), "approval-requested");
    assert_eq!(parts_json(&t, "a1")[0]["approval"], json!({ "id": "ap1" }));
    assert_eq!(
        t.view(ReadAt::new(at(5))).pending_approvals[0]
            .tool_call_id
            .as_ref(),
        Some(&call)
    );
    let decision = ApprovalDecision {
        approve: false,
        decided_by: "u".into(),
        reason: Some("no".into()),
    };
    t.decide_approval(&ApprovalId::new("ap1").unwrap(), decision, at(6))
        .unwrap();
    assert_eq!(state(&t), "approval-responded");
    assert_eq!(
        parts_json(&t, "a1")[0]["approval"],
        json!({ "id": "ap1", "approved": false, "reason": "no" })
    );
    t.finish_tool_call(
        &call,
        ToolCallOutcome::Failed {
            error: "denied".into(),
        },
        at(7),
    )
    .unwrap();
    assert_eq!(state(&t), "output-denied");

    // A failure without a denial is an error, with its text.
    t.start_tool_call(search_call("tc2", "a1", ToolCallStatus::Running), at(8))
        .unwrap();
    let tc2 = ToolCallId::new("tc2").unwrap();
    t.finish_tool_call(
        &tc2,
        ToolCallOutcome::Failed {
            error: "timeout".into(),
        },
        at(9),
    )
    .unwrap();
    let parts = parts_json(&t, "a1");
    assert_eq!(parts[1]["state"], "output-error");
    assert_eq!(parts[1]["errorText"], "timeout");
    assert!(matches!(
        refused(&mut t, |t| t.set_tool_call_input(
            &tc2,
            Json::default(),
            at(10)
        )),
        ModelError::InvalidTransition { .. }
    ));
}

#[test]
fn files_and_document_sources_are_stored_as_given() {
    let mut t = new_thread();
    let file = NewPart::File(FilePart {
        url: None,
        reference: Some("blob:42".into()),
        media_type: "image/png".into(),
        filename: Some("cat.png".into()),
        size: Some(1234),
    });
    let doc = NewPart::SourceDocument {
        source_id: "d1".into(),
        media_type: "application/pdf".into(),
        title: "Paper".into(),
        filename: None,
    };
    let mut message = NewMessage::new(mid("u1"), Role::User, "");
    message.parts = vec![
        NewPart::Text {
            id: None,
            text: "Look:".into(),
        },
        file,
        doc,
    ];
    t.append_message(message, at(1)).unwrap();
    assert_eq!(
        parts_json(&t, "u1"),
        json!([
            { "type": "text", "text": "Look:", "state": "done" },
            { "type": "file", "mediaType": "image/png", "reference": "blob:42", "filename": "cat.png", "size": 1234 },
            { "type": "source-document", "sourceId": "d1", "mediaType": "application/pdf", "title": "Paper" },
        ])
    );
    assert_eq!(t.view(ReadAt::new(at(2))).title, "Look:");
}

#[test]
fn bad_parts_are_refused_and_change_nothing() {
    let mut t = new_thread();
    reply(&mut t, "a1");
    let a1 = mid("a1");
    let text = NewPart::Text {
        id: Some(pid("p1")),
        text: String::new(),
    };
    t.append_part(&a1, text.clone(), at(3)).unwrap();
    let both = NewPart::File(FilePart {
        url: Some("https://x".into()),
        reference: Some("r".into()),
        media_type: "text/plain".into(),
        ..FilePart::default()
    });
    let bad_data = NewPart::Data {
        data_type: "data-".into(),
        id: None,
        data: Json::default(),
    };
    for (part, code) in [
        (text, "already_exists"),
        (both, "invalid_input"),
        (bad_data, "invalid_input"),
    ] {
        let err = refused(&mut t, |t| t.append_part(&a1, part, at(4)));
        assert_eq!(err.code(), code, "{err}");
    }
    let err = refused(&mut t, |t| {
        t.append_part_delta(&a1, &pid("nope"), "x", at(4))
    });
    assert_eq!(err.code(), "not_found");
    t.finish_message(
        &a1,
        MessageEnd {
            status: MessageStatus::Complete,
            usage: None,
        },
        at(5),
    )
    .unwrap();
    let err = refused(&mut t, |t| t.append_part(&a1, NewPart::StepStart, at(6)));
    assert_eq!(err.code(), "invalid_transition");
    let err = refused(&mut t, |t| t.append_part_delta(&a1, &pid("p1"), "x", at(6)));
    assert_eq!(err.code(), "invalid_transition");
}

#[test]
fn a_callers_message_id_is_kept_and_a_duplicate_or_malformed_one_refused() {
    let mut t = new_thread();
    let input: AppendMessageInput = read(&&json!({
        "id": "ui-msg-1", "role": "user",
        "parts": [{ "type": "text", "text": "Hi" }, { "type": "data-ctx", "data": [1] }]
    }))
    .unwrap();
    t.append_message(input.into_model(|| unreachable!()).unwrap(), at(1))
        .unwrap();
    let m = t.message(&mid("ui-msg-1"), ReadAt::new(at(2))).unwrap();
    assert_eq!(m.content, "Hi");
    assert!(matches!(&m.parts[1], PartView::Data { data_type, .. } if data_type == "data-ctx"));

    let again: AppendMessageInput =
        read(&&json!({ "id": "ui-msg-1", "role": "user", "content": "x" })).unwrap();
    let err = refused(&mut t, |t| {
        t.append_message(again.into_model(|| unreachable!()).unwrap(), at(3))
    });
    assert_eq!(err.code(), "already_exists");

    let malformed: AppendMessageInput =
        read(&&json!({ "id": "has space", "role": "user" })).unwrap();
    let err = malformed.into_model(|| unreachable!()).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(
        matches!(err, InputError::Value(ModelError::InvalidId { .. })),
        "{err}"
    );

    let both = read::<AppendMessageInput, _>(&&json!({
        "role": "user", "content": "x", "parts": [{ "type": "text", "text": "y" }]
    }))
    .unwrap()
    .into_model(|| "m2".into())
    .unwrap();
    let err = refused(&mut t, |t| t.append_message(both, at(4)));
    assert_eq!(err.code(), "invalid_input");
    for (bad, needle) in [
        (
            json!({ "role": "user", "parts": {} }),
            "`parts` must be an array",
        ),
        (
            json!({ "role": "user", "parts": [{ "type": "tool-x" }] }),
            "part type",
        ),
        (
            json!({ "role": "user", "parts": [{ "type": "text", "txt": "y" }] }),
            "unknown field `txt`",
        ),
    ] {
        let err = read::<AppendMessageInput, _>(&&bad).unwrap_err();
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
}

#[test]
fn finish_details_are_stored_and_an_error_text_needs_the_error_status() {
    let mut t = new_thread();
    reply(&mut t, "a1");
    let input: FinishMessageInput = read(&&json!({
        "status": "complete", "error": "boom"
    }))
    .unwrap();
    let (end, details) = input.into_model();
    let err = refused(&mut t, |t| {
        t.finish_message_with(&mid("a1"), end, details, at(3))
    });
    assert_eq!(err.code(), "invalid_input");
    let input: FinishMessageInput = read(&&json!({
        "status": "error", "finishReason": "error", "error": "provider overloaded"
    }))
    .unwrap();
    let (end, details) = input.into_model();
    t.finish_message_with(&mid("a1"), end, details, at(3))
        .unwrap();
    let m = t.message(&mid("a1"), ReadAt::new(at(4))).unwrap();
    assert_eq!(
        (m.status, m.finish_reason.as_deref(), m.error.as_deref()),
        (
            MessageStatus::Error,
            Some("error"),
            Some("provider overloaded")
        )
    );
}

#[test]
fn metadata_is_replaced_whole_and_must_be_an_object() {
    let mut t = new_thread();
    append(&mut t, "u1", Role::User, "Hi", at(1));
    let u1 = mid("u1");
    t.update_message_metadata(&u1, Some(json!({ "a": 1 }).into()), at(2))
        .unwrap();
    t.update_message_metadata(&u1, Some(json!({ "b": 2 }).into()), at(3))
        .unwrap();
    let meta = |t: &Thread| t.message(&u1, ReadAt::new(at(4))).unwrap().metadata;
    assert_eq!(meta(&t).unwrap().to_value(), json!({ "b": 2 }));
    let err = refused(&mut t, |t| {
        t.update_message_metadata(&u1, Some(json!([1]).into()), at(5))
    });
    assert_eq!(err.code(), "invalid_input");
    let err = refused(&mut t, |t| {
        t.update_message_metadata(&mid("nope"), None, at(5))
    });
    assert_eq!(err.code(), "not_found");
    t.update_message_metadata(&u1, None, at(6)).unwrap();
    assert_eq!(meta(&t), None);
}

/// A thread as schema 2 stored it: messages with a `content` text and no parts, one of them still
/// streaming.
fn version_2_bytes() -> Vec<u8> {
    let mut doc = new_thread().into_automerge();
    let messages = doc.get(ROOT, "messages").unwrap().unwrap().1;
    let order = doc.get(ROOT, "order").unwrap().unwrap().1;
    for (i, (id, role, content, status)) in [
        ("u1", "user", "Hello there", "complete"),
        ("a1", "assistant", "Hi! How can", "streaming"),
    ]
    .into_iter()
    .enumerate()
    {
        let m = doc.put_object(&messages, id, ObjType::Map).unwrap();
        doc.put(&m, "role", role).unwrap();
        let text = doc.put_object(&m, "content", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, content).unwrap();
        doc.put(&m, "status", status).unwrap();
        doc.put(&m, "createdAt", at(i as u64)).unwrap();
        doc.put(&m, "updatedAt", at(i as u64)).unwrap();
        if i == 1 {
            doc.put(&m, "parentId", "u1").unwrap();
        }
        doc.insert(&order, i, id).unwrap();
    }
    doc.put(ROOT, "schema", 2).unwrap();
    doc.commit();
    doc.save()
}

#[test]
fn a_version_2_thread_migrates_keeping_every_content_identical() {
    let bytes = version_2_bytes();
    let mut old = AutoCommit::load(&bytes).unwrap();
    let mut t = Thread::load(thread_id(), &bytes, actor("device-a"), Limits::default()).unwrap();
    assert_eq!(t.schema_version(), THREAD_SCHEMA_VERSION);
    assert_eq!(THREAD_SCHEMA_VERSION, 3);
    let mut b = Thread::load(thread_id(), &bytes, actor("device-b"), Limits::default()).unwrap();
    assert_eq!(
        t.heads(),
        b.heads(),
        "both replicas made the same migration change"
    );
    // The message `Text`s are untouched: the migration changed only the version.
    let messages = old.get(ROOT, "messages").unwrap().unwrap().1;
    for id in ["u1", "a1"] {
        let m = old.get(&messages, id).unwrap().unwrap().1;
        let text = old.get(&m, "content").unwrap().unwrap().1;
        let before = old.text(&text).unwrap();
        let view = t.message(&mid(id), ReadAt::new(at(2))).unwrap();
        assert_eq!(view.content, before);
        assert_eq!(
            serde_json::to_value(&view.parts).unwrap()[0]["text"],
            Value::String(before.clone())
        );
        t.with_automerge(|doc| assert_eq!(doc.text(&text).unwrap(), before));
    }
    let _ = old.get_heads();
    // Its open reply streams on with plain deltas; parts it cannot take are refused as such.
    let a1 = mid("a1");
    t.append_delta(&a1, " I help?", at(3)).unwrap();
    let err = refused(&mut t, |t| t.append_part(&a1, NewPart::StepStart, at(4)));
    assert_eq!(err.code(), "invalid_transition");
    assert_eq!(
        t.message(&a1, ReadAt::new(at(4))).unwrap().content,
        "Hi! How can I help?"
    );
    assert_eq!(t.view(ReadAt::new(at(4))).title, "Hello there");
}

#[test]
fn a_part_stream_interleaved_with_tool_calls_keeps_its_order() {
    let mut t = new_thread();
    reply(&mut t, "a1");
    let a1 = mid("a1");
    for i in 0..3 {
        t.append_delta(&a1, &format!("text {i}"), at(3 + i))
            .unwrap();
        t.start_tool_call(
            search_call(&format!("tc{i}"), "a1", ToolCallStatus::Running),
            at(3 + i),
        )
        .unwrap();
    }
    t.append_delta(&a1, "end", at(9)).unwrap();
    let kinds: Vec<String> = t
        .message(&a1, ReadAt::new(at(9)))
        .unwrap()
        .parts
        .iter()
        .map(|p| match p {
            PartView::Text(text) => text.text.clone(),
            PartView::Tool(tool) => tool.tool_call_id.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        ["text 0", "tc0", "text 1", "tc1", "text 2", "tc2", "end"]
    );
    // And so after a save and a load on another device.
    let mut copy = crate::support::replica(&mut t, "device-b");
    assert_eq!(
        copy.message(&a1, ReadAt::new(at(9))).unwrap().parts,
        t.message(&a1, ReadAt::new(at(9))).unwrap().parts
    );
    copy.append_delta(&a1, "!", at(10)).unwrap();
    assert_eq!(
        copy.message(&a1, ReadAt::new(at(10))).unwrap().content,
        "text 0text 1text 2end!"
    );
    assert!(matches!(
        copy.message(&a1, ReadAt::new(at(10))).unwrap().parts.last(),
        Some(PartView::Tool(_)) | Some(PartView::Text(_))
    ));
    let states: Vec<ToolPartState> = t
        .message(&a1, ReadAt::new(at(9)))
        .unwrap()
        .parts
        .iter()
        .filter_map(|p| match p {
            PartView::Tool(tool) => Some(tool.state),
            _ => None,
        })
        .collect();
    assert_eq!(states, [ToolPartState::InputAvailable; 3]);
}

#[test]
fn a_reset_step_removes_the_parts_after_the_last_step_start() {
    let mut t = new_thread();
    reply(&mut t, "a1");
    let a1 = mid("a1");
    t.append_part(&a1, NewPart::StepStart, at(3)).unwrap();
    t.append_delta(&a1, "kept", at(3)).unwrap();
    t.append_part(&a1, NewPart::StepStart, at(4)).unwrap();
    t.append_delta(&a1, "dropped", at(4)).unwrap();
    t.start_tool_call(search_call("tc1", "a1", ToolCallStatus::Running), at(5))
        .unwrap();
    assert_eq!(t.reset_step(&a1, at(6)).unwrap(), 2);
    let m = t.message(&a1, ReadAt::new(at(6))).unwrap();
    assert_eq!(m.content, "kept");
    assert_eq!(m.parts.len(), 3, "{:?}", m.parts);
    // The retried step streams on after the step-start; the tool call's record stays.
    t.append_delta(&a1, " again", at(7)).unwrap();
    let m = t.message(&a1, ReadAt::new(at(7))).unwrap();
    assert_eq!(m.content, "kept again");
    assert_eq!(t.tool_calls().len(), 1);
    assert_eq!(t.reset_step(&a1, at(8)).unwrap(), 1);
    assert_eq!(t.reset_step(&a1, at(8)).unwrap(), 0);
    t.finish_message(
        &a1,
        MessageEnd {
            status: MessageStatus::Complete,
            usage: None,
        },
        at(9),
    )
    .unwrap();
    let err = refused(&mut t, |t| t.reset_step(&a1, at(10)).map(|_| ()));
    assert_eq!(err.code(), "invalid_transition");
}
