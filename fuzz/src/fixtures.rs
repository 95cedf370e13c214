//! Small real documents for the targets and their seeds, written through the model's own API so
//! they hold what chatsync really stores: messages (streamed, finished, edited, regenerated, rated),
//! an artifact, tool calls, an approval, agent session state, context and settings.

use chatsync_model::automerge::ActorId;
use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ArtifactUpsert,
    ContextEntry, Feedback, Index, Json, Limits, MessageEnd, MessageId, MessageStatus, NewMessage,
    ReadAt, Regenerate, Role, SessionState, Thread, ThreadId, ThreadInit, ToolCallId,
    ToolCallOutcome, ToolCallStart, ToolCallStatus, Usage,
};
use chatsync_protocol::DocumentId;

/// The document the captured frames mostly sync (`crates/protocol/tests/fixtures/wire-capture.jsonl`):
/// the relay target stores [`thread`] under it, so captured requests and syncs meet a real document.
pub const CAPTURED_DOCUMENT: &str = "bQsq314HiQ6Sk4sLcK1zrchCxv7";

/// The user every relay-target connection belongs to, and so the owner of the stored document.
pub const USER: &str = "fuzz-user";

/// The stored document's id.
pub fn captured_document() -> DocumentId {
    CAPTURED_DOCUMENT.parse().expect("a document id")
}

/// The thread's id: the stored document's, as the browser store names threads.
pub fn thread_id() -> ThreadId {
    ThreadId::new(CAPTURED_DOCUMENT).expect("a thread id")
}

fn mid(id: &str) -> MessageId {
    MessageId::new(id).expect("a message id")
}

/// A thread with every part of the schema written once, committed as several changes.
pub fn thread(actor: &[u8]) -> Thread {
    let init = ThreadInit::new(thread_id(), ActorId::from(actor.to_vec()), 1_000);
    let mut t = Thread::create(init, Limits::default()).expect("create");
    let step = |result: Result<(), chatsync_model::ModelError>| result.expect("a fixture write");
    step(t.append_message(
        NewMessage::new(mid("u1"), Role::User, "What is a CRDT?"),
        1_001,
    ));
    t.commit();
    step(t.append_message(NewMessage::new(mid("a1"), Role::Assistant, ""), 1_002));
    for (i, token) in ["A conflict-free ", "replicated ", "data type."]
        .iter()
        .enumerate()
    {
        step(t.append_delta(&mid("a1"), token, 1_003 + i as u64));
    }
    t.commit();
    let end = MessageEnd {
        status: MessageStatus::Complete,
        usage: Some(Usage {
            input_tokens: 12,
            output_tokens: 7,
        }),
    };
    step(t.finish_message(&mid("a1"), end, 1_010));
    let feedback = Feedback {
        rating: 1,
        text: Some("clear".into()),
    };
    step(t.set_feedback(&mid("a1"), feedback, 1_011));
    t.commit();
    step(t.edit_message(&mid("u1"), mid("u1b"), "What is a CRDT, briefly?", 1_020));
    let regenerate = Regenerate {
        new_id: mid("a1b"),
        provider: Some("stand-in".into()),
        model: Some("small".into()),
    };
    step(t.regenerate_message(&mid("a1"), regenerate, 1_021));
    step(t.select_branch(&mid("u1"), 1_022));
    t.commit();
    let call = ToolCallStart {
        id: ToolCallId::new("t1").expect("a tool call id"),
        message_id: mid("a1"),
        tool_name: "search".into(),
        provider_call_id: Some("call_1".into()),
        input: Json::from_text(r#"{"q":"crdt","n":3}"#),
        status: ToolCallStatus::Pending,
    };
    step(t.start_tool_call(call, 1_030));
    let outcome = ToolCallOutcome::Completed {
        output: Json::from_text(r#"["a","b"]"#),
    };
    step(t.finish_tool_call(
        &ToolCallId::new("t1").expect("a tool call id"),
        outcome,
        1_031,
    ));
    let artifact = ArtifactUpsert {
        id: ArtifactId::new("x1").expect("an artifact id"),
        kind: "code".into(),
        title: "crdt.rs".into(),
        content: "fn merge() {}".into(),
        status: ArtifactStatus::Final,
        message_id: Some(mid("a1")),
    };
    step(t.upsert_artifact(artifact, 1_032));
    let approval = ApprovalRequest {
        id: ApprovalId::new("p1").expect("an approval id"),
        kind: "plan".into(),
        subject: "go".into(),
        message_id: Some(mid("a1")),
    };
    step(t.request_approval(approval, 1_033));
    let decision = ApprovalDecision {
        approve: true,
        decided_by: "user".into(),
        reason: None,
    };
    step(t.decide_approval(
        &ApprovalId::new("p1").expect("an approval id"),
        decision,
        1_034,
    ));
    let session = SessionState {
        external_id: Some("agent-7".into()),
        phase: "planning".into(),
        plan: Some("1. read".into()),
    };
    step(t.set_session_state(session, 1_035));
    let context = ContextEntry {
        entry_type: "memory".into(),
        key: "lang".into(),
        value: Json::from_text(r#""rust""#),
        priority: 2,
        expires_at: Some(9_000),
    };
    step(t.upsert_context(context, 1_036));
    step(t.set_title("CRDTs", 1_037));
    t.commit();
    t
}

/// An index listing [`thread`].
pub fn index(actor: &[u8]) -> Index {
    let mut index = Index::new(ActorId::from(actor.to_vec()));
    let summary = thread(actor).summary(ReadAt::new(2_000));
    index.upsert(&summary, 2_000).expect("an index write");
    index.commit();
    index
}
