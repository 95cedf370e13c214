//! Tool calls: start, run, finish, and the transitions that are refused.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::view::ToolCallView;
use chatsync_model::{
    ModelError, Role, Thread, ToolCallId, ToolCallOutcome, ToolCallStart, ToolCallStatus,
};
use serde_json::json;

use crate::support::{append, at, mid, new_thread, refused, view_at};

fn tool_id(id: &str) -> ToolCallId {
    ToolCallId::new(id).unwrap()
}

fn start(id: &str, status: ToolCallStatus) -> ToolCallStart {
    ToolCallStart {
        id: tool_id(id),
        message_id: mid("a1"),
        tool_name: "search".into(),
        provider_call_id: Some("call_abc".into()),
        input: json!({"q": "rome"}).into(),
        status,
    }
}

fn with_reply() -> Thread {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Find Rome", at(1));
    append(&mut thread, "a1", Role::Assistant, "", at(2));
    thread
}

fn call(thread: &Thread, id: &str) -> ToolCallView {
    thread
        .tool_calls()
        .into_iter()
        .find(|c| c.id.as_str() == id)
        .unwrap()
}

#[test]
fn a_call_runs_and_completes_with_its_output_and_duration() {
    let mut thread = with_reply();
    thread
        .start_tool_call(start("tc1", ToolCallStatus::Pending), at(10))
        .unwrap();
    let pending = call(&thread, "tc1");
    assert_eq!(pending.status, ToolCallStatus::Pending);
    assert_eq!(pending.started_at, at(10));
    assert_eq!(pending.message_id, mid("a1"));
    assert_eq!(pending.tool_name, "search");
    assert_eq!(pending.provider_call_id.as_deref(), Some("call_abc"));
    assert_eq!(pending.input, json!({"q": "rome"}).into());
    assert_eq!(
        (pending.output, pending.completed_at, pending.duration_ms),
        (None, None, None)
    );

    thread
        .mark_tool_call_running(&tool_id("tc1"), at(20))
        .unwrap();
    let running = call(&thread, "tc1");
    assert_eq!(running.status, ToolCallStatus::Running);
    assert_eq!(running.started_at, at(20), "running restarts the clock");

    let output = json!([{"title": "Rome"}, null, 12345678901234567890u64]);
    thread
        .finish_tool_call(
            &tool_id("tc1"),
            ToolCallOutcome::Completed {
                output: output.clone().into(),
            },
            at(270),
        )
        .unwrap();
    let done = call(&thread, "tc1");
    assert_eq!(done.status, ToolCallStatus::Completed);
    assert_eq!(done.output, Some(output.into()));
    assert_eq!(done.completed_at, Some(at(270)));
    assert_eq!(done.duration_ms, Some(250));
    assert_eq!(done.error, None);
    assert_eq!(view_at(&thread, at(270)).tool_calls, [done]);
}

#[test]
fn a_failed_call_keeps_its_error_and_no_output() {
    let mut thread = with_reply();
    thread
        .start_tool_call(start("tc1", ToolCallStatus::Running), at(10))
        .unwrap();
    let failure = ToolCallOutcome::Failed {
        error: "timeout".into(),
    };
    thread
        .finish_tool_call(&tool_id("tc1"), failure, at(40))
        .unwrap();
    let failed = call(&thread, "tc1");
    assert_eq!(failed.status, ToolCallStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("timeout"));
    assert_eq!(failed.output, None);
    assert_eq!(failed.duration_ms, Some(30));
}

#[test]
fn calls_are_listed_by_start_time() {
    let mut thread = with_reply();
    thread
        .start_tool_call(start("late", ToolCallStatus::Pending), at(20))
        .unwrap();
    thread
        .start_tool_call(start("early", ToolCallStatus::Pending), at(10))
        .unwrap();
    let ids: Vec<_> = thread.tool_calls().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, [tool_id("early"), tool_id("late")]);
}

#[test]
fn transitions_out_of_order_are_refused() {
    let mut thread = with_reply();
    for status in [ToolCallStatus::Completed, ToolCallStatus::Failed] {
        let err = refused(&mut thread, |t| {
            t.start_tool_call(start("tc0", status), at(5))
        });
        assert!(matches!(err, ModelError::InvalidValue { .. }), "{err}");
    }

    thread
        .start_tool_call(start("tc1", ToolCallStatus::Running), at(10))
        .unwrap();
    let err = refused(&mut thread, |t| {
        t.mark_tool_call_running(&tool_id("tc1"), at(11))
    });
    assert!(
        matches!(&err, ModelError::InvalidTransition { state, action: "start", .. } if state == "running"),
        "{err}"
    );

    let done = ToolCallOutcome::Completed {
        output: json!(1).into(),
    };
    thread
        .finish_tool_call(&tool_id("tc1"), done.clone(), at(12))
        .unwrap();
    let err = refused(&mut thread, |t| {
        t.finish_tool_call(&tool_id("tc1"), done, at(13))
    });
    assert!(
        matches!(&err, ModelError::InvalidTransition { state, action: "finish", .. } if state == "completed"),
        "{err}"
    );
    let err = refused(&mut thread, |t| {
        t.mark_tool_call_running(&tool_id("tc1"), at(14))
    });
    assert!(matches!(err, ModelError::InvalidTransition { .. }), "{err}");
    let err = refused(&mut thread, |t| {
        t.start_tool_call(start("tc1", ToolCallStatus::Pending), at(15))
    });
    assert!(
        matches!(
            err,
            ModelError::AlreadyExists {
                kind: "tool call",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(call(&thread, "tc1").completed_at, Some(at(12)));
}
