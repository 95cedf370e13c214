//! The AI SDK's UI message stream chunks (`UIMessageChunk` of the `ai` package: what
//! `toUIMessageStreamResponse()` sends as server-sent events) turned into writes to one message.
//! No IO: [`Chunks::read`] takes one chunk's JSON and returns the writes it means, or why the chunk
//! is refused — before anything of it is stored.
//!
//! Mapping: `start-step` → a `step-start` part; `text-*` / `reasoning-*` → a text / reasoning part
//! and its deltas (the stream's part ids are its own: each part gets a fresh id in the thread);
//! `tool-input-start` → a tool call, `input-streaming`; `tool-input-delta` is transient (the call
//! is stored when its input is whole); `tool-input-available` → its input; `tool-input-error`,
//! `tool-output-available` (not `preliminary`), `tool-output-error`, `tool-output-denied` → its
//! end; `tool-approval-request` / `-response` → an approval of the call; `source-url`,
//! `source-document`, `file`, `data-*` (not `transient`) → parts; `start`, `message-metadata` and
//! `finish`'s `messageMetadata` merge into the message's metadata (as `useChat` merges them);
//! `finish` / `error` / `abort` end the message `complete` (with `finishReason`) / `error` (with the
//! text) / `cancelled`; `reset-step` removes the current step's parts (those after the last
//! `step-start`). `finish-step`, `text-end`, `reasoning-end` change nothing stored; `custom`,
//! `reasoning-file` and `steering-message` are not stored.

use std::collections::HashMap;

use chatsync_model::{
    ApprovalId, ApprovalRequest, FilePart, Json, MessageId, MessageStatus, NewPart, PartId,
    ToolCallId, ToolCallOptions, ToolCallOutcome, ToolCallStart, ToolCallStatus,
};
use serde_json::Value;

use super::error::ApiError;

/// The kind of approval a tool call's approval request is stored as (the package's adapters use
/// the same).
pub(crate) const TOOL_APPROVAL_KIND: &str = "tool-call";

/// One write the stream asks for.
#[derive(Debug)]
pub(crate) enum Op {
    Part(NewPart),
    Delta(PartId, String),
    StartTool(ToolCallStart, ToolCallOptions),
    SetToolInput(ToolCallId, Json),
    FinishTool(ToolCallId, ToolCallOutcome),
    RequestApproval(ApprovalRequest, ToolCallId),
    DecideApproval(ApprovalId, bool, Option<String>),
    /// Merged into the message's metadata.
    Metadata(Value),
    /// The current step's parts removed.
    ResetStep,
}

/// How the stream ended the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct End {
    pub status: MessageStatus,
    pub finish_reason: Option<String>,
    pub error: Option<String>,
}

/// What one chunk means.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub ops: Vec<Op>,
    pub end: Option<End>,
}

/// The stream's state: its parts and tool calls so far.
pub(crate) struct Chunks {
    message: MessageId,
    /// The stream's text and reasoning parts (kind, the stream's id) → the thread's part ids.
    parts: HashMap<(String, String), PartId>,
    /// Tool calls this stream started.
    tools: HashMap<String, ToolCallId>,
    new_id: fn() -> String,
}

/// The chunk types the `ai` package sends that change nothing stored.
const IGNORED: &[&str] = &[
    "finish-step",
    "text-end",
    "reasoning-end",
    "custom",
    "reasoning-file",
    "steering-message",
];

impl Chunks {
    pub(crate) fn new(message: MessageId, new_id: fn() -> String) -> Self {
        Self {
            message,
            parts: HashMap::new(),
            tools: HashMap::new(),
            new_id,
        }
    }

    /// The `messageId` and `messageMetadata` of a `start` chunk.
    pub(crate) fn start_of(chunk: &Value) -> Option<Option<&str>> {
        (chunk.get("type")?.as_str()? == "start")
            .then(|| chunk.get("messageId").and_then(Value::as_str))
    }

    /// The writes one chunk means.
    pub(crate) fn read(&mut self, chunk: &Value) -> Result<Read, ApiError> {
        let c = Chunk(chunk);
        if !chunk.is_object() {
            return Err(invalid("a chunk must be a JSON object".into()));
        }
        let ty = c.required("type")?;
        let mut ops = Vec::new();
        let mut end = None;
        let mut op = |op| ops.push(op);
        match ty {
            "start" | "message-metadata" => {
                let key = "messageMetadata";
                if let Some(meta) = c.metadata(key, ty == "message-metadata")? {
                    op(Op::Metadata(meta));
                }
            }
            "start-step" => op(Op::Part(NewPart::StepStart)),
            "reset-step" => {
                // As the AI SDK: the step's open parts and partial tool calls are forgotten too.
                self.parts.clear();
                self.tools.clear();
                op(Op::ResetStep);
            }
            "text-start" | "reasoning-start" => {
                let id = PartId::new((self.new_id)())?;
                let kind = &ty[..ty.len() - "-start".len()];
                let key = (kind.to_owned(), c.required("id")?.to_owned());
                self.parts.insert(key, id.clone());
                let (id, text) = (Some(id), String::new());
                op(Op::Part(if ty == "text-start" {
                    NewPart::Text { id, text }
                } else {
                    NewPart::Reasoning { id, text }
                }));
            }
            "text-delta" | "reasoning-delta" => {
                let stream_id = c.required("id")?;
                // A text delta goes to a text part, a reasoning one to a reasoning part.
                let kind = &ty[..ty.len() - "-delta".len()];
                let key = (kind.to_owned(), stream_id.to_owned());
                let part = self.parts.get(&key).ok_or_else(|| {
                    invalid(format!(
                        "`{ty}` for part {stream_id:?}, which no `{kind}-start` began"
                    ))
                })?;
                op(Op::Delta(part.clone(), c.required("delta")?.to_owned()));
            }
            "tool-input-start" => {
                let call = c.required("toolCallId")?;
                let id = self.tool_id(call);
                let start = self.tool_start(&c, &id, call, Json::default())?;
                self.tools.insert(call.to_owned(), id);
                let options = ToolCallOptions {
                    dynamic: c.flag("dynamic"),
                    input_streaming: true,
                };
                op(Op::StartTool(start, options));
            }
            "tool-input-delta" => {
                let call = c.required("toolCallId")?;
                c.required("inputTextDelta")?;
                if !self.tools.contains_key(call) {
                    return Err(invalid(format!(
                        "`tool-input-delta` for tool call {call:?}, which no `tool-input-start` began"
                    )));
                }
            }
            "tool-input-available" | "tool-input-error" => {
                let call = c.required("toolCallId")?;
                let input = Json::from(chunk.get("input").cloned().unwrap_or(Value::Null));
                let id = self.tool_id(call);
                if self.tools.contains_key(call) {
                    op(Op::SetToolInput(id.clone(), input));
                } else {
                    let start = self.tool_start(&c, &id, call, input)?;
                    let options = ToolCallOptions {
                        dynamic: c.flag("dynamic"),
                        input_streaming: false,
                    };
                    op(Op::StartTool(start, options));
                    self.tools.insert(call.to_owned(), id.clone());
                }
                if ty == "tool-input-error" {
                    let error = c.required("errorText")?.to_owned();
                    op(Op::FinishTool(id, ToolCallOutcome::Failed { error }));
                }
            }
            "tool-output-available" => {
                let id = self.tool_id(c.required("toolCallId")?);
                let output = chunk
                    .get("output")
                    .cloned()
                    .ok_or_else(|| missing(ty, "output"))?;
                if !c.flag("preliminary") {
                    let output = Json::from(output);
                    op(Op::FinishTool(id, ToolCallOutcome::Completed { output }));
                }
            }
            "tool-output-error" => {
                let id = self.tool_id(c.required("toolCallId")?);
                let error = c.required("errorText")?.to_owned();
                op(Op::FinishTool(id, ToolCallOutcome::Failed { error }));
            }
            "tool-output-denied" => {
                let id = self.tool_id(c.required("toolCallId")?);
                let error = "denied".to_owned();
                op(Op::FinishTool(id, ToolCallOutcome::Failed { error }));
            }
            "tool-approval-request" => {
                let call = c.required("toolCallId")?;
                let request = ApprovalRequest {
                    id: ApprovalId::new(safe_id(c.required("approvalId")?))?,
                    kind: TOOL_APPROVAL_KIND.into(),
                    subject: call.to_owned(),
                    message_id: Some(self.message.clone()),
                };
                op(Op::RequestApproval(request, self.tool_id(call)));
            }
            "tool-approval-response" => {
                let id = ApprovalId::new(safe_id(c.required("approvalId")?))?;
                let approved = chunk
                    .get("approved")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| missing(ty, "approved"))?;
                op(Op::DecideApproval(id, approved, c.optional("reason")?));
            }
            "source-url" => op(Op::Part(NewPart::SourceUrl {
                source_id: c.required("sourceId")?.to_owned(),
                url: c.required("url")?.to_owned(),
                title: c.optional("title")?,
            })),
            "source-document" => op(Op::Part(NewPart::SourceDocument {
                source_id: c.required("sourceId")?.to_owned(),
                media_type: c.required("mediaType")?.to_owned(),
                title: c.required("title")?.to_owned(),
                filename: c.optional("filename")?,
            })),
            "file" => op(Op::Part(NewPart::File(FilePart {
                url: Some(c.required("url")?.to_owned()),
                media_type: c.required("mediaType")?.to_owned(),
                ..FilePart::default()
            }))),
            "finish" => {
                if let Some(meta) = c.metadata("messageMetadata", false)? {
                    op(Op::Metadata(meta));
                }
                end = Some(End {
                    status: MessageStatus::Complete,
                    finish_reason: c.optional("finishReason")?,
                    error: None,
                });
            }
            "error" => {
                end = Some(End {
                    status: MessageStatus::Error,
                    finish_reason: None,
                    error: Some(c.required("errorText")?.to_owned()),
                });
            }
            "abort" => {
                end = Some(End {
                    status: MessageStatus::Cancelled,
                    finish_reason: None,
                    error: None,
                });
            }
            data if data.starts_with("data-") => {
                let value = chunk
                    .get("data")
                    .cloned()
                    .ok_or_else(|| missing(ty, "data"))?;
                if !c.flag("transient") {
                    op(Op::Part(NewPart::Data {
                        data_type: data.to_owned(),
                        id: c.optional("id")?,
                        data: Json::from(value),
                    }));
                }
            }
            ignored if IGNORED.contains(&ignored) => {}
            other => {
                return Err(invalid(format!(
                    "unknown UI message chunk type {:?}",
                    other.chars().take(64).collect::<String>()
                )));
            }
        }
        Ok(Read { ops, end })
    }

    /// The thread's id for the stream's tool call `call`: the same id when chatsync accepts it.
    fn tool_id(&self, call: &str) -> ToolCallId {
        self.tools.get(call).cloned().unwrap_or_else(|| {
            ToolCallId::new(safe_id(call)).unwrap_or_else(|_| {
                ToolCallId::new((self.new_id)()).expect("a generated id is valid")
            })
        })
    }

    fn tool_start(
        &self,
        c: &Chunk<'_>,
        id: &ToolCallId,
        call: &str,
        input: Json,
    ) -> Result<ToolCallStart, ApiError> {
        Ok(ToolCallStart {
            id: id.clone(),
            message_id: self.message.clone(),
            tool_name: c.required("toolName")?.to_owned(),
            provider_call_id: (id.as_str() != call).then(|| call.to_owned()),
            input,
            status: ToolCallStatus::Running,
        })
    }
}

/// An id as chatsync accepts it: characters it refuses become `_`, and it is cut to 128 bytes.
/// Providers' ids (`call_…`, `toolu_…`, `fc_…`) pass unchanged.
fn safe_id(id: &str) -> String {
    let mut safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    safe.truncate(chatsync_model::MAX_ID_LEN);
    if safe.is_empty() {
        safe.push('_');
    }
    safe
}

/// A chunk's fields.
struct Chunk<'a>(&'a Value);

impl Chunk<'_> {
    fn ty(&self) -> &str {
        self.0
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("chunk")
    }

    fn required(&self, key: &str) -> Result<&str, ApiError> {
        match self.0.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(invalid(format!(
                "`{}`'s `{key}` must be a string",
                self.ty()
            ))),
            None => Err(missing(self.ty(), key)),
        }
    }

    fn optional(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!(
                "`{}`'s `{key}` must be a string",
                self.ty()
            ))),
        }
    }

    fn flag(&self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool) == Some(true)
    }

    /// Metadata, which chatsync keeps as a JSON object.
    fn metadata(&self, key: &str, required: bool) -> Result<Option<Value>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) if !required => Ok(None),
            None | Some(Value::Null) => Err(missing(self.ty(), key)),
            Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
            Some(_) => Err(invalid(format!(
                "`{}`'s `{key}` must be a JSON object (chatsync keeps message metadata as one)",
                self.ty()
            ))),
        }
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::InvalidInput(format!("UI message stream: {message}"))
}

fn missing(ty: &str, key: &str) -> ApiError {
    invalid(format!("a `{ty}` chunk lacks `{key}`"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids() -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        format!("p{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn chunks() -> Chunks {
        Chunks::new(MessageId::new("m").unwrap(), ids)
    }

    #[test]
    fn deltas_go_to_the_part_their_start_began() {
        let mut c = chunks();
        let start = c.read(&json!({ "type": "text-start", "id": "0" })).unwrap();
        let Op::Part(NewPart::Text { id: Some(part), .. }) = &start.ops[0] else {
            panic!("{start:?}")
        };
        let delta = c
            .read(&json!({ "type": "text-delta", "id": "0", "delta": "Hi" }))
            .unwrap();
        assert!(matches!(&delta.ops[0], Op::Delta(p, d) if p == part && d == "Hi"));
        let err = c
            .read(&json!({ "type": "reasoning-delta", "id": "0", "delta": "x" }))
            .unwrap_err();
        assert!(err.to_string().contains("no `reasoning-start`"), "{err}");
    }

    #[test]
    fn malformed_chunks_are_refused_with_what_is_wrong() {
        let mut c = chunks();
        for (chunk, needle) in [
            (json!([1]), "JSON object"),
            (json!({ "delta": "x" }), "lacks `type`"),
            (json!({ "type": "text-start" }), "lacks `id`"),
            (json!({ "type": "bogus" }), "unknown UI message chunk type"),
            (
                json!({ "type": "tool-input-start", "toolCallId": "c" }),
                "lacks `toolName`",
            ),
            (
                json!({ "type": "message-metadata", "messageMetadata": 3 }),
                "JSON object",
            ),
            (
                json!({ "type": "tool-input-delta", "toolCallId": "c", "inputTextDelta": "{" }),
                "no `tool-input-start`",
            ),
        ] {
            let err = c.read(&chunk).unwrap_err();
            assert_eq!(err.code(), "invalid_input");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn provider_ids_pass_and_odd_ones_are_made_safe() {
        assert_eq!(safe_id("call_AbC-1.2:3"), "call_AbC-1.2:3");
        assert_eq!(safe_id("a/b c"), "a_b_c");
        assert_eq!(safe_id(""), "_");
        let c = chunks();
        assert_eq!(c.tool_id("toolu_01X").as_str(), "toolu_01X");
    }
}
