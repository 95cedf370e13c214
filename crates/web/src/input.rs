//! What JavaScript passes in, checked into the model's types. Each struct mirrors an interface of
//! `types.ts`; unknown fields are refused so a typo is an `invalid_input` error, not a silent no-op.

use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ArtifactUpsert,
    Feedback, MessageEnd, MessageId, MessageStatus, NewMessage, Role, SessionState, ThreadSettings,
    ToolCallId, ToolCallOutcome, ToolCallStart, ToolCallStatus, Usage,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::error::{Result, StoreError};
use crate::util::random_hex;

/// Reads a JS value as `T`; `undefined` and `null` read as `T::default()`.
pub(crate) fn from_js_or_default<T: DeserializeOwned + Default>(value: JsValue) -> Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    from_js(value)
}

/// Reads a JS value as `T`. Through a JSON value first: serde-wasm-bindgen reads only the fields a
/// struct names, so a misspelt field would otherwise be ignored rather than refused.
pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T> {
    let json: serde_json::Value = serde_wasm_bindgen::from_value(value)
        .map_err(|e| StoreError::InvalidInput(e.to_string()))?;
    serde_json::from_value(json).map_err(|e| StoreError::InvalidInput(e.to_string()))
}

/// A fresh id for a message, artifact, tool call or approval: 128 random bits.
pub(crate) fn new_id() -> String {
    random_hex(16)
}

/// `ChatStore.open`'s options.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StoreOptions {
    pub db_name: Option<String>,
    pub relay_url: Option<String>,
    pub token: Option<String>,
}

/// `createThread`'s argument.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ThreadInit {
    pub title: Option<String>,
    #[serde(default)]
    pub settings: ThreadSettings,
    pub project_id: Option<String>,
}

/// `listThreads`' argument.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListOptions {
    #[serde(default)]
    pub include_archived: bool,
}

/// `appendMessage`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsNewMessage {
    role: Role,
    #[serde(default)]
    content: String,
    status: Option<MessageStatus>,
    parent_id: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    metadata: Option<serde_json::Value>,
}

impl JsNewMessage {
    pub fn into_model(self, id: MessageId) -> Result<NewMessage> {
        Ok(NewMessage {
            id,
            role: self.role,
            content: self.content,
            status: self.status,
            parent_id: self.parent_id.map(MessageId::new).transpose()?,
            provider: self.provider,
            model: self.model,
            metadata: self.metadata,
        })
    }
}

/// `finishMessage`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsMessageEnd {
    status: MessageStatus,
    usage: Option<Usage>,
}

impl JsMessageEnd {
    pub fn into_model(self) -> MessageEnd {
        MessageEnd {
            status: self.status,
            usage: self.usage,
        }
    }
}

/// `setFeedback`'s argument: the model's [`Feedback`], as is.
pub(crate) type JsFeedback = Feedback;

/// `upsertArtifact`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsArtifact {
    id: Option<String>,
    kind: String,
    title: String,
    content: String,
    status: Option<ArtifactStatus>,
    message_id: Option<String>,
}

impl JsArtifact {
    pub fn into_model(self) -> Result<ArtifactUpsert> {
        Ok(ArtifactUpsert {
            id: ArtifactId::new(self.id.unwrap_or_else(new_id))?,
            kind: self.kind,
            title: self.title,
            content: self.content,
            status: self.status.unwrap_or(ArtifactStatus::Draft),
            message_id: self.message_id.map(MessageId::new).transpose()?,
        })
    }
}

/// `startToolCall`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsToolCallStart {
    id: Option<String>,
    message_id: String,
    tool_name: String,
    provider_call_id: Option<String>,
    #[serde(default)]
    input: serde_json::Value,
    status: Option<ToolCallStatus>,
}

impl JsToolCallStart {
    pub fn into_model(self) -> Result<ToolCallStart> {
        Ok(ToolCallStart {
            id: ToolCallId::new(self.id.unwrap_or_else(new_id))?,
            message_id: MessageId::new(self.message_id)?,
            tool_name: self.tool_name,
            provider_call_id: self.provider_call_id,
            input: self.input,
            status: self.status.unwrap_or(ToolCallStatus::Running),
        })
    }
}

/// `finishToolCall`'s argument: `{ status: "completed", output? }` or `{ status: "failed", error }`.
/// Read as one flat struct and checked here: serde's internally tagged enums buffer the whole input
/// first, which costs 3.5 KB of the gzipped package.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsToolCallEnd {
    status: ToolCallStatus,
    output: Option<serde_json::Value>,
    error: Option<String>,
}

impl JsToolCallEnd {
    pub fn into_model(self) -> Result<ToolCallOutcome> {
        match (self.status, self.output, self.error) {
            (ToolCallStatus::Completed, output, None) => Ok(ToolCallOutcome::Completed {
                output: output.unwrap_or_default(),
            }),
            (ToolCallStatus::Failed, None, Some(error)) => Ok(ToolCallOutcome::Failed { error }),
            (ToolCallStatus::Completed, _, Some(_)) => Err(StoreError::InvalidInput(
                "a completed tool call has `output`, not `error`".into(),
            )),
            (ToolCallStatus::Failed, _, _) => Err(StoreError::InvalidInput(
                "a failed tool call has `error` and no `output`".into(),
            )),
            (other, _, _) => Err(StoreError::InvalidInput(format!(
                "a tool call ends `completed` or `failed`, not `{}`",
                other.as_str()
            ))),
        }
    }
}

/// `requestApproval`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsApprovalRequest {
    id: Option<String>,
    kind: String,
    subject: String,
    message_id: Option<String>,
}

impl JsApprovalRequest {
    pub fn into_model(self) -> Result<ApprovalRequest> {
        Ok(ApprovalRequest {
            id: ApprovalId::new(self.id.unwrap_or_else(new_id))?,
            kind: self.kind,
            subject: self.subject,
            message_id: self.message_id.map(MessageId::new).transpose()?,
        })
    }
}

/// `decideApproval`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsApprovalDecision {
    approve: bool,
    decided_by: String,
    reason: Option<String>,
}

impl JsApprovalDecision {
    pub fn into_model(self) -> ApprovalDecision {
        ApprovalDecision {
            approve: self.approve,
            decided_by: self.decided_by,
            reason: self.reason,
        }
    }
}

/// `setSessionState`'s argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JsSessionState {
    external_id: Option<String>,
    phase: String,
    plan: Option<String>,
}

impl JsSessionState {
    pub fn into_model(self) -> SessionState {
        SessionState {
            external_id: self.external_id,
            phase: self.phase,
            plan: self.plan,
        }
    }
}
