//! Tool calls: the audit trail of what the assistant ran, with what, and how it went.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::Thread;
use crate::schema::key;
use crate::{Json, MessageId, ModelError, ToolCallId, ToolCallStatus, access, json};

/// A tool call the assistant made.
#[derive(Clone, Debug)]
pub struct ToolCallStart {
    /// Its id, new in this thread.
    pub id: ToolCallId,
    /// The assistant message that made it.
    pub message_id: MessageId,
    /// The tool's name.
    pub tool_name: String,
    /// The provider's id for the call (e.g. OpenAI's `call_…`).
    pub provider_call_id: Option<String>,
    /// The arguments.
    pub input: Json,
    /// `pending` (requested, not started) or `running`.
    pub status: ToolCallStatus,
}

/// How a tool call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolCallOutcome {
    /// It returned output.
    Completed {
        /// The result.
        output: Json,
    },
    /// It failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// How a tool call is shown as a part of its message (the AI SDK's tool part).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ToolCallOptions {
    /// A tool not known in advance (the AI SDK's `dynamic-tool` part).
    pub dynamic: bool,
    /// The model is still writing the input: the part is `input-streaming` until
    /// [`Thread::set_tool_call_input`].
    pub input_streaming: bool,
}

impl Thread {
    /// Records a tool call; its start time is `now_ms`. A message with parts gets the call's tool
    /// part at its end.
    pub fn start_tool_call(&mut self, call: ToolCallStart, now_ms: u64) -> Result<(), ModelError> {
        self.start_tool_call_with(call, ToolCallOptions::default(), now_ms)
    }

    /// [`Thread::start_tool_call`] for a dynamic tool, or one whose input is still streaming.
    pub fn start_tool_call_with(
        &mut self,
        call: ToolCallStart,
        options: ToolCallOptions,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if call.status.is_finished() {
            return Err(ModelError::InvalidValue {
                field: "initial tool call status",
                value: call.status.to_string(),
                expected: "pending or running",
            });
        }
        self.limits.short("tool name", &call.tool_name)?;
        if let Some(p) = &call.provider_call_id {
            self.limits.short("provider call id", p)?;
        }
        let input = json::encode("tool input", &call.input, &self.limits)?;
        self.entry(key::MESSAGES, "message", call.message_id.as_str())?;
        let calls = self.container(key::TOOL_CALLS, ObjType::Map)?;
        if access::get_obj(&self.doc, &calls, call.id.as_str(), ObjType::Map).is_some() {
            return Err(ModelError::AlreadyExists {
                kind: "tool call",
                id: call.id.to_string(),
            });
        }
        self.touch(now_ms)?;
        let obj = self
            .doc
            .put_object(&calls, call.id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "messageId", call.message_id.as_str())?;
        self.doc.put(&obj, "toolName", call.tool_name)?;
        access::put_opt(&mut self.doc, &obj, "providerCallId", call.provider_call_id)?;
        self.doc.put(&obj, "input", input)?;
        self.doc.put(&obj, "status", call.status.as_str())?;
        self.doc.put(&obj, "startedAt", now_ms)?;
        if options.dynamic {
            self.doc.put(&obj, "dynamic", true)?;
        }
        if options.input_streaming {
            self.doc.put(&obj, "inputStreaming", true)?;
        }
        self.append_tool_part(&call.message_id, &call.id)
    }

    /// Sets the whole input of a call whose input was streaming (or replaces an unfinished call's
    /// input): its part becomes `input-available`.
    pub fn set_tool_call_input(
        &mut self,
        id: &ToolCallId,
        input: Json,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let input = json::encode("tool input", &input, &self.limits)?;
        let obj = self.entry(key::TOOL_CALLS, "tool call", id.as_str())?;
        let status = self.tool_call_status(&obj);
        if status.is_finished() {
            return Err(ModelError::InvalidTransition {
                kind: "tool call",
                id: id.to_string(),
                state: status.to_string(),
                action: "set the input of",
            });
        }
        self.touch(now_ms)?;
        self.doc.put(&obj, "input", input)?;
        access::put_opt(&mut self.doc, &obj, "inputStreaming", None::<bool>)
    }

    /// Marks a `pending` call as running; its start time becomes `now_ms`.
    pub fn mark_tool_call_running(
        &mut self,
        id: &ToolCallId,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let obj = self.entry(key::TOOL_CALLS, "tool call", id.as_str())?;
        let status = self.tool_call_status(&obj);
        if status != ToolCallStatus::Pending {
            return Err(ModelError::InvalidTransition {
                kind: "tool call",
                id: id.to_string(),
                state: status.to_string(),
                action: "start",
            });
        }
        self.touch(now_ms)?;
        self.doc
            .put(&obj, "status", ToolCallStatus::Running.as_str())?;
        self.doc.put(&obj, "startedAt", now_ms)?;
        Ok(())
    }

    /// Ends a pending or running call, recording its completion time and duration.
    pub fn finish_tool_call(
        &mut self,
        id: &ToolCallId,
        outcome: ToolCallOutcome,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let obj = self.entry(key::TOOL_CALLS, "tool call", id.as_str())?;
        let status = self.tool_call_status(&obj);
        if status.is_finished() {
            return Err(ModelError::InvalidTransition {
                kind: "tool call",
                id: id.to_string(),
                state: status.to_string(),
                action: "finish",
            });
        }
        let (status, output, error) = match outcome {
            ToolCallOutcome::Completed { output } => (
                ToolCallStatus::Completed,
                Some(json::encode("tool output", &output, &self.limits)?),
                None,
            ),
            ToolCallOutcome::Failed { error } => {
                self.limits.short("tool error", &error)?;
                (ToolCallStatus::Failed, None, Some(error))
            }
        };
        let started = access::get_u64(&self.doc, &obj, "startedAt").unwrap_or(now_ms);
        self.touch(now_ms)?;
        self.doc.put(&obj, "status", status.as_str())?;
        self.doc.put(&obj, "completedAt", now_ms)?;
        self.doc
            .put(&obj, "durationMs", now_ms.saturating_sub(started))?;
        access::put_opt(&mut self.doc, &obj, "output", output)?;
        access::put_opt(&mut self.doc, &obj, "error", error)?;
        Ok(())
    }

    pub(super) fn tool_call_status(&self, obj: &automerge::ObjId) -> ToolCallStatus {
        access::get_str(&self.doc, obj, "status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(ToolCallStatus::Failed)
    }
}
