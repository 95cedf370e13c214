//! Every refusal: the error it gives, and that the document is exactly as it was afterwards.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ApprovalStatus, ArtifactId, ArtifactStatus,
    ArtifactUpsert, ContextEntry, Feedback, Limits, MAX_ID_LEN, MessageEnd, MessageId,
    MessageStatus, ModelError, NewMessage, Regenerate, Role, SessionState, Thread, ThreadId,
    ThreadSettings, ThreadStatus, TitleSource, ToolCallId, ToolCallOutcome, ToolCallStart,
    ToolCallStatus,
};
use serde_json::json;

use crate::support::{
    Write, append, at, mid, new_thread_with, plan_approval, refused, search_call,
};

/// Small limits, so oversized input is cheap to write.
const SMALL: Limits = Limits {
    max_content_bytes: 16,
    max_short_text_bytes: 8,
    max_json_bytes: 24,
};

/// u1 (complete) → a1 (complete) → a2 (pending), a tool call tc1 (running) and a pending approval ap1.
fn populated(limits: Limits) -> Thread {
    let mut thread = new_thread_with(limits);
    append(&mut thread, "u1", Role::User, "Hi", at(1));
    append(&mut thread, "a1", Role::Assistant, "Hello", at(2));
    append(&mut thread, "a2", Role::Assistant, "", at(3));
    thread
        .start_tool_call(search_call("tc1", "a1", ToolCallStatus::Running), at(4))
        .unwrap();
    thread
        .request_approval(plan_approval("ap1"), at(5))
        .unwrap();
    thread
}

fn message(id: &str, role: Role, content: &str) -> NewMessage {
    NewMessage::new(mid(id), role, content)
}

fn end(status: MessageStatus) -> MessageEnd {
    MessageEnd {
        status,
        usage: None,
    }
}

fn artifact(content: &str, message_id: Option<MessageId>) -> ArtifactUpsert {
    ArtifactUpsert {
        id: ArtifactId::new("art").unwrap(),
        kind: "plan".into(),
        title: "T".into(),
        content: content.into(),
        status: ArtifactStatus::Draft,
        message_id,
    }
}

fn tool_call(id: &str, message_id: &str, input: serde_json::Value) -> ToolCallStart {
    ToolCallStart {
        id: ToolCallId::new(id).unwrap(),
        message_id: mid(message_id),
        tool_name: "search".into(),
        provider_call_id: None,
        input: input.into(),
        status: ToolCallStatus::Pending,
    }
}

fn decision() -> ApprovalDecision {
    ApprovalDecision {
        approve: true,
        decided_by: "user".into(),
        reason: None,
    }
}

fn context(entry_type: &str, key: &str, value: serde_json::Value) -> ContextEntry {
    ContextEntry {
        entry_type: entry_type.into(),
        key: key.into(),
        value: value.into(),
        priority: 0,
        expires_at: None,
    }
}

fn regenerate(new_id: &str) -> Regenerate {
    Regenerate {
        new_id: mid(new_id),
        provider: None,
        model: None,
    }
}

fn assert_invalid_value(err: &ModelError, expected_field: &str) {
    match err {
        ModelError::InvalidValue { field, .. } => assert_eq!(*field, expected_field, "{err}"),
        other => panic!("expected InvalidValue for {expected_field}, got {other:?}"),
    }
    assert_eq!(err.code(), "invalid_input");
}

fn assert_not_found(err: &ModelError, expected_kind: &str, expected_id: &str) {
    match err {
        ModelError::NotFound { kind, id } => {
            assert_eq!((*kind, id.as_str()), (expected_kind, expected_id), "{err}")
        }
        other => panic!("expected NotFound {expected_kind} {expected_id}, got {other:?}"),
    }
    assert_eq!(err.code(), "not_found");
}

fn assert_too_large(err: &ModelError, expected_field: &str, expected_limit: usize) {
    match err {
        ModelError::TooLarge {
            field,
            limit,
            actual,
        } => {
            assert_eq!((*field, *limit), (expected_field, expected_limit), "{err}");
            assert!(actual > limit, "{err}");
        }
        other => panic!("expected TooLarge {expected_field}, got {other:?}"),
    }
    assert_eq!(err.code(), "invalid_input");
}

fn assert_transition(err: &ModelError, expected_state: &str, expected_action: &str) {
    match err {
        ModelError::InvalidTransition { state, action, .. } => {
            assert_eq!(
                (state.as_str(), *action),
                (expected_state, expected_action),
                "{err}"
            )
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    }
    assert_eq!(err.code(), "invalid_transition");
}

#[test]
fn unknown_role_and_status_strings_do_not_parse() {
    let cases: [(&str, Result<(), ModelError>); 7] = [
        ("role", "robot".parse::<Role>().map(drop)),
        ("message status", "done".parse::<MessageStatus>().map(drop)),
        ("thread status", "gone".parse::<ThreadStatus>().map(drop)),
        (
            "tool call status",
            "queued".parse::<ToolCallStatus>().map(drop),
        ),
        (
            "approval status",
            "maybe".parse::<ApprovalStatus>().map(drop),
        ),
        (
            "artifact status",
            "published".parse::<ArtifactStatus>().map(drop),
        ),
        ("title source", "ai".parse::<TitleSource>().map(drop)),
    ];
    for (field, result) in cases {
        assert_invalid_value(&result.unwrap_err(), field);
    }
    // Parsing is exact: no case folding, no trimming.
    assert!("User".parse::<Role>().is_err());
    assert!(" user".parse::<Role>().is_err());
}

#[test]
fn empty_and_invalid_ids_are_refused() {
    let long = "x".repeat(MAX_ID_LEN + 1);
    let cases: [(&str, Result<(), ModelError>); 6] = [
        ("message", MessageId::new("").map(drop)),
        ("thread", ThreadId::new("has space").map(drop)),
        ("artifact", ArtifactId::new("a/b").map(drop)),
        ("tool call", ToolCallId::new(long).map(drop)),
        ("approval", ApprovalId::new("ünï").map(drop)),
        ("message", MessageId::try_from("tab\t").map(drop)),
    ];
    for (expected_kind, result) in cases {
        let err = result.unwrap_err();
        assert!(
            matches!(err, ModelError::InvalidId { kind, .. } if kind == expected_kind),
            "{err:?}"
        );
        assert_eq!(err.code(), "invalid_input");
    }
    assert!(serde_json::from_str::<MessageId>("\"a b\"").is_err());
}

#[test]
fn writes_naming_an_unknown_message_are_refused() {
    let mut thread = populated(Limits::default());
    let ghost = mid("ghost");

    let mut child = message("m9", Role::User, "x");
    child.parent_id = Some(ghost.clone());
    let err = refused(&mut thread, |t| t.append_message(child, at(10)));
    assert_not_found(&err, "message", "ghost");

    let err = refused(&mut thread, |t| t.append_delta(&ghost, "x", at(10)));
    assert_not_found(&err, "message", "ghost");
    let err = refused(&mut thread, |t| {
        t.finish_message(&ghost, end(MessageStatus::Complete), at(10))
    });
    assert_not_found(&err, "message", "ghost");
    let err = refused(&mut thread, |t| {
        t.edit_message(&ghost, mid("m9"), "x", at(10))
    });
    assert_not_found(&err, "message", "ghost");
    let err = refused(&mut thread, |t| {
        t.regenerate_message(&ghost, regenerate("m9"), at(10))
    });
    assert_not_found(&err, "message", "ghost");
    let err = refused(&mut thread, |t| t.select_branch(&ghost, at(10)));
    assert_not_found(&err, "message", "ghost");
    let feedback = Feedback {
        rating: 3,
        text: None,
    };
    let err = refused(&mut thread, |t| t.set_feedback(&ghost, feedback, at(10)));
    assert_not_found(&err, "message", "ghost");
    let err = refused(&mut thread, |t| {
        t.start_tool_call(tool_call("tc9", "ghost", json!({})), at(10))
    });
    assert_not_found(&err, "message", "ghost");
    let err = refused(&mut thread, |t| {
        t.upsert_artifact(artifact("x", Some(ghost.clone())), at(10))
    });
    assert_not_found(&err, "message", "ghost");
    let request = ApprovalRequest {
        id: ApprovalId::new("ap9").unwrap(),
        kind: "plan".into(),
        subject: "x".into(),
        message_id: Some(ghost.clone()),
    };
    let err = refused(&mut thread, |t| t.request_approval(request, at(10)));
    assert_not_found(&err, "message", "ghost");
}

#[test]
fn unknown_tool_call_approval_and_context_ids_are_not_found() {
    // Artifacts have no operation that looks one up: `upsert_artifact` with a new id creates it.
    let mut thread = populated(Limits::default());
    let ghost_call = ToolCallId::new("ghost").unwrap();
    let err = refused(&mut thread, |t| {
        t.mark_tool_call_running(&ghost_call, at(10))
    });
    assert_not_found(&err, "tool call", "ghost");
    let done = ToolCallOutcome::Completed {
        output: json!(1).into(),
    };
    let err = refused(&mut thread, |t| {
        t.finish_tool_call(&ghost_call, done, at(10))
    });
    assert_not_found(&err, "tool call", "ghost");
    let ghost_approval = ApprovalId::new("ghost").unwrap();
    let err = refused(&mut thread, |t| {
        t.decide_approval(&ghost_approval, decision(), at(10))
    });
    assert_not_found(&err, "approval", "ghost");
    let err = refused(&mut thread, |t| t.remove_context("memory", "ghost", at(10)));
    assert_not_found(&err, "context entry", "memory/ghost");
}

#[test]
fn ids_that_must_be_new_are_refused_when_taken() {
    let mut thread = populated(Limits::default());
    let cases: Vec<(&str, Write<'_>)> = vec![
        (
            "message",
            Box::new(|t| t.append_message(message("a1", Role::User, "again"), at(10))),
        ),
        (
            "message",
            Box::new(|t| t.edit_message(&mid("u1"), mid("a1"), "x", at(10))),
        ),
        (
            "message",
            Box::new(|t| t.regenerate_message(&mid("a1"), regenerate("u1"), at(10))),
        ),
        (
            "tool call",
            Box::new(|t| t.start_tool_call(tool_call("tc1", "a1", json!({})), at(10))),
        ),
        (
            "approval",
            Box::new(|t| {
                t.request_approval(
                    ApprovalRequest {
                        id: ApprovalId::new("ap1").unwrap(),
                        kind: "plan".into(),
                        subject: "again".into(),
                        message_id: None,
                    },
                    at(10),
                )
            }),
        ),
    ];
    for (expected_kind, write) in cases {
        let err = refused(&mut thread, write);
        assert!(
            matches!(err, ModelError::AlreadyExists { kind, .. } if kind == expected_kind),
            "{err:?}"
        );
        assert_eq!(err.code(), "already_exists");
    }
}

#[test]
fn content_over_the_configured_limits_is_refused() {
    let mut thread = populated(SMALL);
    let long = "x".repeat(17);
    let short_over = "y".repeat(9);

    let err = refused(&mut thread, |t| {
        t.append_message(message("m9", Role::User, &long), at(10))
    });
    assert_too_large(&err, "message content", 16);
    // Deltas count toward the whole message: 15 bytes fit, 2 more do not.
    thread
        .append_delta(&mid("a2"), &"z".repeat(15), at(10))
        .unwrap();
    let err = refused(&mut thread, |t| t.append_delta(&mid("a2"), "zz", at(11)));
    assert_too_large(&err, "message content", 16);
    let err = refused(&mut thread, |t| {
        t.edit_message(&mid("u1"), mid("m9"), &long, at(10))
    });
    assert_too_large(&err, "message content", 16);
    let mut named = message("m9", Role::Assistant, "ok");
    named.model = Some(short_over.clone());
    let err = refused(&mut thread, |t| t.append_message(named, at(10)));
    assert_too_large(&err, "provider or model", 8);
    let mut with_metadata = message("m9", Role::User, "ok");
    with_metadata.metadata = Some(json!({"key": "a value that is long"}).into());
    let err = refused(&mut thread, |t| t.append_message(with_metadata, at(10)));
    assert_too_large(&err, "metadata", 24);

    let err = refused(&mut thread, |t| t.set_title(&short_over, at(10)));
    assert_too_large(&err, "title", 8);
    let err = refused(&mut thread, |t| {
        t.set_project(Some(short_over.clone()), at(10))
    });
    assert_too_large(&err, "project id", 8);
    let settings = ThreadSettings {
        provider: Some(short_over.clone()),
        ..ThreadSettings::default()
    };
    let err = refused(&mut thread, |t| t.update_settings(&settings, at(10)));
    assert_too_large(&err, "provider", 8);
    let feedback = Feedback {
        rating: 4,
        text: Some(short_over.clone()),
    };
    let err = refused(&mut thread, |t| {
        t.set_feedback(&mid("a1"), feedback, at(10))
    });
    assert_too_large(&err, "feedback text", 8);

    let err = refused(&mut thread, |t| {
        t.upsert_artifact(artifact(&long, None), at(10))
    });
    assert_too_large(&err, "artifact content", 16);
    let err = refused(&mut thread, |t| {
        t.start_tool_call(
            tool_call("tc9", "a1", json!({"q": "far too long a query"})),
            at(10),
        )
    });
    assert_too_large(&err, "tool input", 24);
    let output = ToolCallOutcome::Completed {
        output: json!(["far too long an output"]).into(),
    };
    let err = refused(&mut thread, |t| {
        t.finish_tool_call(&ToolCallId::new("tc1").unwrap(), output, at(10))
    });
    assert_too_large(&err, "tool output", 24);
    let request = ApprovalRequest {
        id: ApprovalId::new("ap9").unwrap(),
        kind: "plan".into(),
        subject: long.clone(),
        message_id: None,
    };
    let err = refused(&mut thread, |t| t.request_approval(request, at(10)));
    assert_too_large(&err, "approval subject", 16);
    let state = SessionState {
        external_id: None,
        phase: "run".into(),
        plan: Some(long.clone()),
    };
    let err = refused(&mut thread, |t| t.set_session_state(state, at(10)));
    assert_too_large(&err, "plan", 16);
    let err = refused(&mut thread, |t| {
        t.upsert_context(
            context("memory", "k", json!("a value far too long to fit")),
            at(10),
        )
    });
    assert_too_large(&err, "context value", 24);
}

#[test]
fn short_texts_over_the_configured_limit_are_refused() {
    let mut thread = populated(SMALL);
    let over = || "y".repeat(9);
    let cases: Vec<(&str, Write<'_>)> = vec![
        (
            "artifact title",
            Box::new(|t| {
                let mut a = artifact("ok", None);
                a.title = over();
                t.upsert_artifact(a, at(10))
            }),
        ),
        (
            "artifact kind",
            Box::new(|t| {
                let mut a = artifact("ok", None);
                a.kind = over();
                t.upsert_artifact(a, at(10))
            }),
        ),
        (
            "tool name",
            Box::new(|t| {
                let mut call = tool_call("tc9", "a1", json!({}));
                call.tool_name = over();
                t.start_tool_call(call, at(10))
            }),
        ),
        (
            "tool error",
            Box::new(|t| {
                let failure = ToolCallOutcome::Failed { error: over() };
                t.finish_tool_call(&ToolCallId::new("tc1").unwrap(), failure, at(10))
            }),
        ),
        (
            "approval kind",
            Box::new(|t| {
                let request = ApprovalRequest {
                    id: ApprovalId::new("ap9").unwrap(),
                    kind: over(),
                    subject: "x".into(),
                    message_id: None,
                };
                t.request_approval(request, at(10))
            }),
        ),
        (
            "decided by",
            Box::new(|t| {
                let mut d = decision();
                d.decided_by = over();
                t.decide_approval(&ApprovalId::new("ap1").unwrap(), d, at(10))
            }),
        ),
        (
            "reason",
            Box::new(|t| {
                let mut d = decision();
                d.reason = Some(over());
                t.decide_approval(&ApprovalId::new("ap1").unwrap(), d, at(10))
            }),
        ),
        (
            "phase",
            Box::new(|t| {
                let state = SessionState {
                    phase: over(),
                    ..SessionState::default()
                };
                t.set_session_state(state, at(10))
            }),
        ),
        (
            "context key",
            Box::new(|t| t.upsert_context(context("memory", &over(), json!(1)), at(10))),
        ),
    ];
    for (field, write) in cases {
        let err = refused(&mut thread, write);
        assert_too_large(&err, field, 8);
    }
}

#[test]
fn metadata_that_is_not_a_json_object_is_refused() {
    let mut thread = populated(Limits::default());
    for metadata in [json!([1, 2]), json!("text"), json!(null), json!(3)] {
        let mut m = message("m9", Role::User, "x");
        m.metadata = Some(metadata.into());
        let err = refused(&mut thread, |t| t.append_message(m, at(10)));
        assert!(
            matches!(
                err,
                ModelError::InvalidJson {
                    field: "metadata",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.code(), "invalid_input");
    }
}

#[test]
fn a_finished_message_can_be_neither_finished_nor_streamed_into() {
    let mut thread = populated(Limits::default());
    // a1 was appended complete; a2 is finished here.
    thread
        .finish_message(&mid("a2"), end(MessageStatus::Error), at(10))
        .unwrap();
    let err = refused(&mut thread, |t| {
        t.finish_message(&mid("a1"), end(MessageStatus::Complete), at(11))
    });
    assert_transition(&err, "complete", "finish");
    let err = refused(&mut thread, |t| {
        t.finish_message(&mid("a2"), end(MessageStatus::Cancelled), at(11))
    });
    assert_transition(&err, "error", "finish");
    let err = refused(&mut thread, |t| t.append_delta(&mid("a1"), "more", at(11)));
    assert_transition(&err, "complete", "stream into");
    let err = refused(&mut thread, |t| t.append_delta(&mid("a2"), "more", at(11)));
    assert_transition(&err, "error", "stream into");
    // Even an empty delta.
    let err = refused(&mut thread, |t| t.append_delta(&mid("a1"), "", at(11)));
    assert_transition(&err, "complete", "stream into");
}

#[test]
fn interrupted_is_never_accepted_as_a_status() {
    let mut thread = populated(Limits::default());
    let mut m = message("m9", Role::Assistant, "");
    m.status = Some(MessageStatus::Interrupted);
    let err = refused(&mut thread, |t| t.append_message(m, at(10)));
    assert_invalid_value(&err, "message status");
    // A message ends complete, error or cancelled — not interrupted, and not open.
    for status in [
        MessageStatus::Interrupted,
        MessageStatus::Pending,
        MessageStatus::Streaming,
    ] {
        let err = refused(&mut thread, |t| {
            t.finish_message(&mid("a2"), end(status), at(10))
        });
        assert_invalid_value(&err, "final status");
    }
}

#[test]
fn ratings_outside_one_to_five_are_refused() {
    let mut thread = populated(Limits::default());
    for rating in [0, 6, u8::MAX] {
        let feedback = Feedback { rating, text: None };
        let err = refused(&mut thread, |t| {
            t.set_feedback(&mid("a1"), feedback, at(10))
        });
        assert_invalid_value(&err, "rating");
    }
}

#[test]
fn temperatures_outside_zero_to_two_and_an_empty_context_window_are_refused() {
    let mut thread = populated(Limits::default());
    for temperature in [-0.01, 2.01, f64::NAN, f64::INFINITY] {
        let settings = ThreadSettings {
            temperature: Some(temperature),
            ..ThreadSettings::default()
        };
        let err = refused(&mut thread, |t| t.update_settings(&settings, at(10)));
        assert_invalid_value(&err, "temperature");
    }
    let settings = ThreadSettings {
        context_window: Some(0),
        ..ThreadSettings::default()
    };
    let err = refused(&mut thread, |t| t.update_settings(&settings, at(10)));
    assert_invalid_value(&err, "context window");
}

#[test]
fn other_invalid_values_are_refused() {
    let mut thread = populated(Limits::default());
    let err = refused(&mut thread, |t| t.set_title(" \n\t ", at(10)));
    assert_invalid_value(&err, "title");
    let err = refused(&mut thread, |t| {
        t.regenerate_message(&mid("u1"), regenerate("m9"), at(10))
    });
    assert_invalid_value(&err, "role of the regenerated message");
    let err = refused(&mut thread, |t| {
        t.upsert_context(context("", "k", json!(1)), at(10))
    });
    assert_invalid_value(&err, "context type");
    let err = refused(&mut thread, |t| {
        t.upsert_context(context("memory", "a\u{1f}b", json!(1)), at(10))
    });
    assert_invalid_value(&err, "context key");
    thread.set_status(ThreadStatus::Deleted, at(11)).unwrap();
    let err = refused(&mut thread, |t| t.set_status(ThreadStatus::Active, at(12)));
    assert_transition(&err, "deleted", "change the status of");
}

#[test]
fn a_thread_with_invalid_initial_settings_or_title_is_not_created() {
    use chatsync_model::ThreadInit;
    let init = |title: Option<&str>, temperature: Option<f64>| {
        let mut init = ThreadInit::new(
            ThreadId::new("t").unwrap(),
            crate::support::actor("device-a"),
            at(0),
        );
        init.title = title.map(Into::into);
        init.settings.temperature = temperature;
        init
    };
    let err = Thread::create(init(Some("  "), None), Limits::default()).unwrap_err();
    assert_invalid_value(&err, "title");
    let err = Thread::create(init(None, Some(3.0)), Limits::default()).unwrap_err();
    assert_invalid_value(&err, "temperature");
    let err = Thread::create(init(Some("far too long"), None), SMALL).unwrap_err();
    assert_too_large(&err, "title", 8);
    assert!(Thread::create(init(Some("Fine"), Some(2.0)), SMALL).is_ok());
}
