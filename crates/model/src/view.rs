//! Serializable views: what a UI renders. Built by [`Thread::view`](crate::Thread::view) and
//! [`Thread::summary`](crate::Thread::summary); field names are camelCase for JavaScript.

use serde::{Deserialize, Serialize};

pub use crate::part_view::{PartView, TextPart, ToolApproval, ToolPart, ToolPartState};
use crate::usage::Activity;
use crate::{
    ApprovalId, ApprovalStatus, ArtifactId, ArtifactStatus, Feedback, Json, MessageId,
    MessageStatus, Role, ThreadId, ThreadSettings, ThreadStatus, TitleSource, ToolCallId,
    ToolCallStatus, Usage,
};

/// The moment a view is taken at, which decides what counts as interrupted or expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAt {
    /// Now, ms since the epoch.
    pub now_ms: u64,
    /// A `pending` or `streaming` message not updated for longer than this is shown as `interrupted`.
    pub stale_after_ms: u64,
}

impl ReadAt {
    /// The default staleness window: a stream that has said nothing for 30 s has lost its writer.
    pub const DEFAULT_STALE_AFTER_MS: u64 = 30_000;

    /// `now_ms` with the default staleness window.
    pub fn new(now_ms: u64) -> Self {
        Self {
            now_ms,
            stale_after_ms: Self::DEFAULT_STALE_AFTER_MS,
        }
    }
}

/// A whole thread as a UI renders it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadView {
    /// The thread's id.
    pub id: ThreadId,
    /// The document's schema version.
    pub schema_version: u64,
    /// True for a document from a newer schema: shown, never written.
    pub read_only: bool,
    /// The title to show.
    pub title: String,
    /// Where the title comes from.
    pub title_source: TitleSource,
    /// Active, archived or deleted.
    pub status: ThreadStatus,
    /// The project, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Creation time, ms.
    pub created_at: u64,
    /// Time of the latest write, ms.
    pub updated_at: u64,
    /// Time of the latest message, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<u64>,
    /// Model settings.
    pub settings: ThreadSettings,
    /// A brief summary for quick reference, if one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Input tokens of every message of the thread, on every branch (each reply cost them).
    #[serde(default)]
    pub total_input_tokens: u64,
    /// Output tokens of every message of the thread, on every branch.
    #[serde(default)]
    pub total_output_tokens: u64,
    /// Whether the thread stays on the device it was made on: never synced.
    #[serde(default, skip_serializing_if = "is_false")]
    pub local_only: bool,
    /// The messages on the active path, in order.
    pub messages: Vec<MessageView>,
    /// Artifacts, oldest first.
    pub artifacts: Vec<ArtifactView>,
    /// Tool calls, oldest first.
    pub tool_calls: Vec<ToolCallView>,
    /// Approval requests still waiting for a decision, oldest first.
    pub pending_approvals: Vec<ApprovalView>,
    /// Agent session state, if an agent stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionView>,
    /// Unexpired context entries, highest priority first.
    pub context: Vec<ContextEntryView>,
}

/// One message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// Its id.
    pub id: MessageId,
    /// Who wrote it.
    pub role: Role,
    /// Its text: the text parts, concatenated.
    pub content: String,
    /// Its parts in order, in the AI SDK's `UIMessage` part shapes. A message stored before parts
    /// existed shows its content as one text part.
    pub parts: Vec<PartView>,
    /// Its status; `interrupted` when it stopped streaming without finishing.
    pub status: MessageStatus,
    /// Why the model stopped, as the writer said at finish (the AI SDK's `finishReason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// What went wrong, for a message finished as `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<MessageId>,
    /// Creation time, ms.
    pub created_at: u64,
    /// Latest update, ms.
    pub updated_at: u64,
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Application metadata (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Json>,
    /// A person's rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// This message and its alternatives (edits, regenerations), in order: the `‹ 2 / 3 ›` control.
    pub siblings: Vec<MessageId>,
    /// This message's place in `siblings`.
    pub sibling_index: usize,
}

/// One artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactView {
    /// Its id.
    pub id: ArtifactId,
    /// What it is.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its content.
    pub content: String,
    /// Draft or final.
    pub status: ArtifactStatus,
    /// 1 at creation, one more per update.
    pub version: u64,
    /// Creation time, ms.
    pub created_at: u64,
    /// Latest update, ms.
    pub updated_at: u64,
    /// The message that produced the latest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
}

/// One tool call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallView {
    /// Its id.
    pub id: ToolCallId,
    /// The message that made it.
    pub message_id: MessageId,
    /// The tool.
    pub tool_name: String,
    /// The provider's call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_call_id: Option<String>,
    /// Arguments.
    pub input: Json,
    /// Result, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Json>,
    /// Status.
    pub status: ToolCallStatus,
    /// Start, ms.
    pub started_at: u64,
    /// End, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<u64>,
    /// End minus start, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One approval request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    /// Its id.
    pub id: ApprovalId,
    /// What kind of thing is to be approved.
    pub kind: String,
    /// What is to be approved.
    pub subject: String,
    /// Status.
    pub status: ApprovalStatus,
    /// The message that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// The tool call it is about, for a tool call's approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<ToolCallId>,
    /// When it was asked, ms.
    pub requested_at: u64,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Agent session state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The agent framework's session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Phase.
    pub phase: String,
    /// Plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Last update, ms.
    pub updated_at: u64,
}

/// One context entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextEntryView {
    /// Its type.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: Json,
    /// Higher first.
    pub priority: i64,
    /// Expiry, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// A thread as the thread list shows it; what the index document stores per thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadSummary {
    /// The thread's id.
    pub id: ThreadId,
    /// Its title.
    pub title: String,
    /// Active, archived or deleted.
    pub status: ThreadStatus,
    /// Creation time, ms.
    pub created_at: u64,
    /// Latest activity, ms: what the list sorts by.
    pub last_activity_at: u64,
    /// Messages on the active path.
    pub message_count: u64,
    /// The latest message, short.
    pub preview: String,
    /// The project, if any. A deleted project's id reads as none in what [`Index`](crate::Index)
    /// returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// A brief summary for quick reference, if one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Input tokens of every message of the thread, on every branch.
    #[serde(default)]
    pub total_input_tokens: u64,
    /// Output tokens of every message of the thread, on every branch.
    #[serde(default)]
    pub total_output_tokens: u64,
    /// When the thread was moved to the trash, ms; `None` when it is not in the trash. Kept by the
    /// [`Index`](crate::Index) alone: [`Thread::summary`](crate::Thread::summary) leaves it `None` and
    /// [`Index::upsert`](crate::Index::upsert) ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trashed_at: Option<u64>,
    /// Whether the thread stays on the device it was made on: never synced.
    #[serde(default, skip_serializing_if = "is_false")]
    pub local_only: bool,
    /// Messages and tokens per quarter hour of the recent past, for [`usage`](crate::usage()). Not
    /// part of the JSON.
    #[serde(skip)]
    pub activity: Vec<Activity>,
}

impl ThreadSummary {
    /// An active thread with nothing in it yet, to fill in with `..ThreadSummary::new(id)`.
    pub fn new(id: ThreadId) -> Self {
        Self {
            id,
            title: String::new(),
            status: ThreadStatus::Active,
            created_at: 0,
            last_activity_at: 0,
            message_count: 0,
            preview: String::new(),
            project_id: None,
            summary: None,
            total_input_tokens: 0,
            total_output_tokens: 0,
            trashed_at: None,
            local_only: false,
            activity: Vec::new(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
