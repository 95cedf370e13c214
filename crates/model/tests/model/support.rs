//! Helpers shared by every module: threads with fixed actors, ids, a fixed clock, and a snapshot of a
//! document to prove that a refused write changed nothing.
#[cfg(target_arch = "wasm32")]
#[allow(unused_imports)]
// no tests here; kept so every module of the binary starts the same way
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::automerge::{ActorId, ChangeHash};
use chatsync_model::view::ThreadView;
use chatsync_model::{
    ApprovalId, ApprovalRequest, Limits, MessageId, ModelError, NewMessage, ReadAt, Role, Thread,
    ThreadId, ThreadInit, ToolCallId, ToolCallStart, ToolCallStatus,
};

/// A fixed "now": every time in these tests is an offset from it.
pub const T0: u64 = 1_700_000_000_000;

/// `T0 + offset_ms`.
pub fn at(offset_ms: u64) -> u64 {
    T0 + offset_ms
}

/// The id every test thread has.
pub fn thread_id() -> ThreadId {
    ThreadId::new("thread-1").unwrap()
}

/// A fixed Automerge actor.
pub fn actor(name: &str) -> ActorId {
    ActorId::from(name.as_bytes().to_vec())
}

/// A message id.
pub fn mid(id: &str) -> MessageId {
    MessageId::new(id).unwrap()
}

/// A new thread on device "device-a", created at `T0`, with default limits.
pub fn new_thread() -> Thread {
    new_thread_with(Limits::default())
}

/// A new thread on device "device-a", created at `T0`.
pub fn new_thread_with(limits: Limits) -> Thread {
    Thread::create(ThreadInit::new(thread_id(), actor("device-a"), T0), limits).unwrap()
}

/// Another device's replica of `thread`, loaded from its saved bytes.
pub fn replica(thread: &mut Thread, device: &str) -> Thread {
    let bytes = thread.save().unwrap();
    Thread::load(thread_id(), &bytes, actor(device), *thread.limits()).unwrap()
}

/// Appends a message with default status and parent.
pub fn append(thread: &mut Thread, id: &str, role: Role, content: &str, now_ms: u64) {
    thread
        .append_message(NewMessage::new(mid(id), role, content), now_ms)
        .unwrap();
}

/// The view at `now_ms` with the default staleness window.
/// A `search` tool call with empty input, made by message `message`.
pub fn search_call(id: &str, message: &str, status: ToolCallStatus) -> ToolCallStart {
    ToolCallStart {
        id: ToolCallId::new(id).unwrap(),
        message_id: mid(message),
        tool_name: "search".into(),
        provider_call_id: None,
        input: serde_json::json!({}).into(),
        status,
    }
}

/// A request to approve a plan ("go"), tied to no message.
pub fn plan_approval(id: &str) -> ApprovalRequest {
    ApprovalRequest {
        id: ApprovalId::new(id).unwrap(),
        kind: "plan".into(),
        subject: "go".into(),
        message_id: None,
    }
}

pub fn view_at(thread: &Thread, now_ms: u64) -> ThreadView {
    thread.view(ReadAt::new(now_ms))
}

/// The ids of the messages on the active path.
pub fn path(thread: &Thread) -> Vec<String> {
    view_at(thread, T0)
        .messages
        .iter()
        .map(|m| m.id.to_string())
        .collect()
}

/// One write to a thread, boxed so that tests can list many and run each through [`refused`].
pub type Write<'a> = Box<dyn FnOnce(&mut Thread) -> Result<(), ModelError> + 'a>;

/// Everything a write could change, observed from outside.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pending_ops: usize,
    view: String,
    heads: Vec<ChangeHash>,
}

impl Snapshot {
    /// Reads pending operations and the view before `heads()`, which commits.
    pub fn of(thread: &mut Thread) -> Self {
        let pending_ops = thread.pending_ops();
        let view = serde_json::to_string(&thread.view(ReadAt::new(at(1_000_000)))).unwrap();
        Self {
            pending_ops,
            view,
            heads: thread.heads(),
        }
    }
}

/// Runs `write`, which must be refused, and asserts that the document is exactly as it was. Earlier
/// writes are committed first, so any operation the refused write left pending shows.
pub fn refused(
    thread: &mut Thread,
    write: impl FnOnce(&mut Thread) -> Result<(), ModelError>,
) -> ModelError {
    thread.commit();
    let before = Snapshot::of(thread);
    assert_eq!(before.pending_ops, 0);
    let err = write(thread).expect_err("the write should have been refused");
    assert_eq!(
        Snapshot::of(thread),
        before,
        "a refused write changed the document ({err})"
    );
    err
}

/// A patch of `target` from a JSON object, which must be valid.
pub fn patch(
    target: chatsync_model::PatchTarget,
    json: serde_json::Value,
) -> chatsync_model::Patch {
    chatsync_model::Patch::from_json(target, &json).unwrap()
}

/// A patch of the preferences from a JSON object.
pub fn prefs(json: serde_json::Value) -> chatsync_model::Patch {
    patch(chatsync_model::PatchTarget::Preferences, json)
}
