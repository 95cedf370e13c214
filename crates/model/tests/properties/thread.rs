//! Thread documents.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::ActorId;
use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ContextEntry,
    Feedback, Limits, MessageEnd, MessageId, MessageStatus, NewMessage, ReadAt, Regenerate, Role,
    SessionState, Thread, ThreadId, ThreadInit, ThreadSettings, ThreadStatus, ToolCallId,
    ToolCallOutcome, ToolCallStart, ToolCallStatus,
};
use proptest::prelude::*;

use super::{cases, merge_orders};

#[derive(Clone, Debug)]
enum Op {
    Append {
        role: u8,
        text: String,
        parent: Option<usize>,
    },
    Delta {
        msg: usize,
        text: String,
    },
    Commit,
    Finish {
        msg: usize,
        status: u8,
        tokens: Option<(u64, u64)>,
    },
    Edit {
        msg: usize,
        text: String,
    },
    Regenerate {
        msg: usize,
    },
    Select {
        msg: usize,
    },
    Feedback {
        msg: usize,
        rating: u8,
    },
    Title(Option<String>),
    Temperature(f64),
    Status(u8),
    Artifact {
        pick: usize,
        content: String,
    },
    ToolStart {
        msg: usize,
    },
    ToolFinish {
        pick: usize,
        ok: bool,
    },
    Approval {
        msg: usize,
    },
    Decide {
        pick: usize,
        approve: bool,
    },
    Session(String),
    Context {
        key: u8,
        priority: i8,
        expires: Option<u8>,
    },
    RemoveContext {
        key: u8,
    },
    /// Sets (or clears) the brief summary.
    Summary(Option<String>),
    /// Moves the thread into project `p<n>`, or out of any.
    Project(Option<u8>),
    /// Replica `from`'s changes reach replica `to` mid-sequence.
    Sync {
        from: usize,
        to: usize,
    },
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{1,12}",
        "[\\p{L}\\p{So} \n]{1,6}",
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let pick = 0..64usize;
    prop_oneof![
        6 => (0..5u8, text(), proptest::option::of(pick.clone()))
            .prop_map(|(role, text, parent)| Op::Append { role, text, parent }),
        6 => (pick.clone(), text()).prop_map(|(msg, text)| Op::Delta { msg, text }),
        2 => Just(Op::Commit),
        2 => (pick.clone(), 0..7u8, proptest::option::of((0..5000u64, 0..5000u64)))
            .prop_map(|(msg, status, tokens)| Op::Finish { msg, status, tokens }),
        1 => (pick.clone(), text()).prop_map(|(msg, text)| Op::Edit { msg, text }),
        1 => pick.clone().prop_map(|msg| Op::Regenerate { msg }),
        1 => pick.clone().prop_map(|msg| Op::Select { msg }),
        1 => (pick.clone(), 0..7u8).prop_map(|(msg, rating)| Op::Feedback { msg, rating }),
        1 => proptest::option::of(text()).prop_map(Op::Title),
        1 => (-1.0..3.0f64).prop_map(Op::Temperature),
        1 => (0..3u8).prop_map(Op::Status),
        1 => (0..3usize, text()).prop_map(|(pick, content)| Op::Artifact { pick, content }),
        1 => pick.clone().prop_map(|msg| Op::ToolStart { msg }),
        1 => (pick.clone(), any::<bool>()).prop_map(|(pick, ok)| Op::ToolFinish { pick, ok }),
        1 => pick.clone().prop_map(|msg| Op::Approval { msg }),
        1 => (pick.clone(), any::<bool>()).prop_map(|(pick, approve)| Op::Decide { pick, approve }),
        1 => "[a-z]{1,8}".prop_map(Op::Session),
        1 => (0..4u8, any::<i8>(), proptest::option::of(0..200u8))
            .prop_map(|(key, priority, expires)| Op::Context { key, priority, expires }),
        1 => (0..4u8).prop_map(|key| Op::RemoveContext { key }),
        1 => proptest::option::of(text()).prop_map(Op::Summary),
        1 => proptest::option::of(0..3u8).prop_map(Op::Project),
        2 => (0..4usize, 0..4usize).prop_map(|(from, to)| Op::Sync { from, to }),
    ]
}

/// Ids created so far by any replica; an op names one by index (modulo), so ops often refer to ids a
/// replica has not seen yet — those must be refused cleanly, not panic.
#[derive(Default)]
struct Known {
    messages: Vec<MessageId>,
    tools: Vec<ToolCallId>,
    approvals: Vec<ApprovalId>,
    next: usize,
}

impl Known {
    fn fresh(&mut self, replica: usize, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-r{replica}-{}", self.next)
    }
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

const ROLES: [&str; 5] = ["user", "assistant", "system", "tool", "robot"];
const STATUSES: [&str; 7] = [
    "pending",
    "streaming",
    "complete",
    "error",
    "cancelled",
    "interrupted",
    "done",
];

/// Applies one op at `now`; refusals are expected and ignored, panics are not.
fn apply(replicas: &mut [Thread], r: usize, op: Op, known: &mut Known, now: u64) {
    let count = replicas.len();
    let t = &mut replicas[r];
    let _ = match op {
        Op::Append { role, text, parent } => match ROLES[role as usize].parse::<Role>() {
            Ok(role) => {
                let id = MessageId::new(known.fresh(r, "m")).unwrap();
                let mut m = NewMessage::new(id.clone(), role, text);
                m.parent_id = parent.and_then(|p| pick(&known.messages, p));
                let result = t.append_message(m, now);
                if result.is_ok() {
                    known.messages.push(id);
                }
                result
            }
            Err(e) => Err(e),
        },
        Op::Delta { msg, text } => match pick(&known.messages, msg) {
            Some(id) => t.append_delta(&id, &text, now),
            None => Ok(()),
        },
        Op::Commit => {
            t.commit();
            Ok(())
        }
        Op::Finish {
            msg,
            status,
            tokens,
        } => {
            let Some(id) = pick(&known.messages, msg) else {
                return;
            };
            match STATUSES[status as usize].parse::<MessageStatus>() {
                Ok(status) => {
                    let usage = tokens.map(|(i, o)| chatsync_model::Usage {
                        input_tokens: i,
                        output_tokens: o,
                    });
                    t.finish_message(&id, MessageEnd { status, usage }, now)
                }
                Err(e) => Err(e),
            }
        }
        Op::Edit { msg, text } => {
            let Some(id) = pick(&known.messages, msg) else {
                return;
            };
            let new = MessageId::new(known.fresh(r, "e")).unwrap();
            let result = t.edit_message(&id, new.clone(), text, now);
            if result.is_ok() {
                known.messages.push(new);
            }
            result
        }
        Op::Regenerate { msg } => {
            let Some(id) = pick(&known.messages, msg) else {
                return;
            };
            let new = MessageId::new(known.fresh(r, "g")).unwrap();
            let regenerate = Regenerate {
                new_id: new.clone(),
                provider: None,
                model: None,
            };
            let result = t.regenerate_message(&id, regenerate, now);
            if result.is_ok() {
                known.messages.push(new);
            }
            result
        }
        Op::Select { msg } => match pick(&known.messages, msg) {
            Some(id) => t.select_branch(&id, now),
            None => Ok(()),
        },
        Op::Feedback { msg, rating } => match pick(&known.messages, msg) {
            Some(id) => t.set_feedback(&id, Feedback { rating, text: None }, now),
            None => Ok(()),
        },
        Op::Summary(summary) => t.set_summary(summary, now),
        Op::Project(project) => t.set_project(project.map(|p| format!("p{p}")), now),
        Op::Title(Some(title)) => t.set_title(title, now),
        Op::Title(None) => t.clear_title(now),
        Op::Temperature(temperature) => t.update_settings(
            &ThreadSettings {
                temperature: Some(temperature),
                ..Default::default()
            },
            now,
        ),
        Op::Status(s) => {
            let status = [
                ThreadStatus::Active,
                ThreadStatus::Archived,
                ThreadStatus::Deleted,
            ][s as usize];
            t.set_status(status, now)
        }
        Op::Artifact { pick, content } => t.upsert_artifact(
            chatsync_model::ArtifactUpsert {
                id: ArtifactId::new(format!("plan-{pick}")).unwrap(),
                kind: "plan".into(),
                title: "Plan".into(),
                content,
                status: ArtifactStatus::Draft,
                message_id: None,
            },
            now,
        ),
        Op::ToolStart { msg } => {
            let Some(message_id) = pick(&known.messages, msg) else {
                return;
            };
            let id = ToolCallId::new(known.fresh(r, "t")).unwrap();
            let start = ToolCallStart {
                id: id.clone(),
                message_id,
                tool_name: "search".into(),
                provider_call_id: None,
                input: serde_json::json!({ "q": "x" }).into(),
                status: ToolCallStatus::Running,
            };
            let result = t.start_tool_call(start, now);
            if result.is_ok() {
                known.tools.push(id);
            }
            result
        }
        Op::ToolFinish { pick: p, ok } => {
            let Some(id) = pick(&known.tools, p) else {
                return;
            };
            let outcome = if ok {
                ToolCallOutcome::Completed {
                    output: serde_json::json!([1, 2]).into(),
                }
            } else {
                ToolCallOutcome::Failed {
                    error: "timeout".into(),
                }
            };
            t.finish_tool_call(&id, outcome, now)
        }
        Op::Approval { msg } => {
            let id = ApprovalId::new(known.fresh(r, "a")).unwrap();
            let request = ApprovalRequest {
                id: id.clone(),
                kind: "plan".into(),
                subject: "do it".into(),
                message_id: pick(&known.messages, msg),
            };
            let result = t.request_approval(request, now);
            if result.is_ok() {
                known.approvals.push(id);
            }
            result
        }
        Op::Decide { pick: p, approve } => {
            let Some(id) = pick(&known.approvals, p) else {
                return;
            };
            let decision = ApprovalDecision {
                approve,
                decided_by: format!("user-{r}"),
                reason: None,
            };
            t.decide_approval(&id, decision, now)
        }
        Op::Session(phase) => t.set_session_state(
            SessionState {
                external_id: Some("s1".into()),
                phase,
                plan: None,
            },
            now,
        ),
        Op::Context {
            key,
            priority,
            expires,
        } => t.upsert_context(
            ContextEntry {
                entry_type: "memory".into(),
                key: format!("k{key}"),
                value: serde_json::json!({ "p": priority }).into(),
                priority: i64::from(priority),
                expires_at: expires.map(|e| u64::from(e) * 10),
            },
            now,
        ),
        Op::RemoveContext { key } => t.remove_context("memory", &format!("k{key}"), now),
        Op::Sync { from, to } => {
            let (from, to) = (from % count, to % count);
            if from != to {
                let mut source = copy(&mut replicas[from]);
                let _ = replicas[to].merge(&mut source);
            }
            Ok(())
        }
    };
}

/// A copy of `thread` with its own actor, as another device holds it after a sync. Works for read-only
/// documents too (where `save` is refused).
fn copy(thread: &mut Thread) -> Thread {
    thread.commit();
    let bytes = thread.automerge().clone().save();
    Thread::load(
        thread.id().clone(),
        &bytes,
        ActorId::from(b"copy".to_vec()),
        *thread.limits(),
    )
    .unwrap()
}

fn genesis(replicas: usize) -> Vec<Thread> {
    let id = ThreadId::new("prop-thread").unwrap();
    let mut origin = Thread::create(
        ThreadInit::new(id.clone(), ActorId::from(b"origin".to_vec()), 1),
        Limits::default(),
    )
    .unwrap();
    let bytes = origin.save().unwrap();
    (0..replicas)
        .map(|r| {
            let actor = ActorId::from(format!("replica-{r}").into_bytes());
            Thread::load(id.clone(), &bytes, actor, Limits::default()).unwrap()
        })
        .collect()
}

fn scenario() -> impl Strategy<Value = (usize, Vec<(usize, Op)>, Vec<Vec<usize>>)> {
    (2..=4usize).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec((0..n, op()), 0..60),
            merge_orders(n),
        )
    })
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn replicas_converge_to_identical_views((n, ops, orders) in scenario()) {
        let mut replicas = genesis(n);
        let mut known = Known::default();
        for (step, (r, op)) in ops.into_iter().enumerate() {
            apply(&mut replicas, r, op, &mut known, 10 + step as u64);
        }
        // Everyone receives everyone's changes, each in its own order.
        let mut snapshots: Vec<Thread> = replicas.iter_mut().map(copy).collect();
        for (r, order) in orders.iter().enumerate() {
            for &o in order {
                let mut other = copy(&mut snapshots[o]);
                replicas[r].merge(&mut other).unwrap();
            }
        }
        let at = ReadAt { now_ms: 1_000_000, stale_after_ms: 100 };
        let first_view = serde_json::to_value(replicas[0].view(at)).unwrap();
        let first_approvals = replicas[0].approvals();
        let first_heads = replicas[0].heads();
        for replica in &mut replicas[1..] {
            prop_assert_eq!(&serde_json::to_value(replica.view(at)).unwrap(), &first_view);
            prop_assert_eq!(&replica.approvals(), &first_approvals);
            prop_assert_eq!(&replica.heads(), &first_heads);
        }
        // The browser package's JSON text, written without serde, reads as serde's.
        let is_json = |text: &str| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        let text = chatsync_model::view_json::to_json_text(&replicas[0].view(at), &is_json);
        prop_assert_eq!(&serde_json::from_str::<serde_json::Value>(&text).unwrap(), &first_view);
        let summary_text = chatsync_model::view_json::to_json_text(&replicas[0].summary(at), &is_json);
        prop_assert_eq!(
            serde_json::from_str::<serde_json::Value>(&summary_text).unwrap(),
            serde_json::to_value(replicas[0].summary(at)).unwrap()
        );
        // The summary (read without materializing every message) agrees with the full view.
        let summary = replicas[0].summary(at);
        let view = replicas[0].view(at);
        prop_assert_eq!(summary.message_count, view.messages.len() as u64);
        prop_assert_eq!(&summary.title, &view.title);
        let last = view.messages.last().map(|m| m.content.clone()).unwrap_or_default();
        prop_assert_eq!(&summary.preview, &chatsync_model::title::preview(&last));
        // Nothing any replica wrote is lost.
        for id in &known.messages {
            prop_assert!(replicas[0].message(id, at).is_some(), "message {} lost", id);
        }
        // Totals are the sums over every message, on every branch, whoever appended it: computed
        // from the merged messages, so concurrent appends and finishes never make them drift.
        let usages: Vec<_> = known
            .messages
            .iter()
            .filter_map(|id| replicas[0].message(id, at)?.usage)
            .collect();
        let input: u64 = usages.iter().map(|u| u.input_tokens).sum();
        let output: u64 = usages.iter().map(|u| u.output_tokens).sum();
        prop_assert_eq!((summary.total_input_tokens, summary.total_output_tokens), (input, output));
        prop_assert_eq!((view.total_input_tokens, view.total_output_tokens), (input, output));
        prop_assert_eq!(&summary.summary, &view.summary);
        prop_assert_eq!(&summary.project_id, &view.project_id);
        let counted: u64 = summary.activity.iter().map(|a| a.messages).sum();
        prop_assert_eq!(counted, known.messages.len() as u64);
        let tokens: u64 = summary.activity.iter().map(|a| a.tokens).sum();
        prop_assert_eq!(tokens, input + output);
    }
}
