//! What JavaScript passes in, read into the model's types. Each shape mirrors an interface of
//! `types.ts`; unknown fields are refused (see [`crate::fields`]).

use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ArtifactUpsert,
    ContextEntry, Feedback, Json, MessageEnd, MessageId, MessageStatus, NewMessage, Role,
    SessionState, ThreadSettings, ToolCallId, ToolCallOutcome, ToolCallStart, ToolCallStatus,
    Usage,
};

use crate::error::{Result, StoreError};
use crate::fields::{Fields, FromJs};
pub(crate) use crate::fields::{from_js, from_js_or_default};
use crate::token::TokenSource;
use crate::util::random_hex;

/// A fresh id for a message, artifact, tool call or approval: 128 random bits.
pub(crate) fn new_id() -> String {
    random_hex(16)
}

/// `ChatStore.open`'s options.
#[derive(Debug, Default)]
pub(crate) struct StoreOptions {
    pub db_name: Option<String>,
    pub relay_url: Option<String>,
    pub token: TokenSource,
}

/// `createThread`'s argument.
#[derive(Debug, Default)]
pub(crate) struct ThreadInit {
    pub title: Option<String>,
    /// `None`: the preferences' model and system prompt.
    pub settings: Option<ThreadSettings>,
    pub project_id: Option<String>,
    /// `None`: as the preferences' `saveConversationHistory` says.
    pub local_only: Option<bool>,
}

/// `listThreads`' argument.
#[derive(Debug, Default)]
pub(crate) struct ListOptions {
    pub include_archived: bool,
    pub project_id: Option<String>,
    pub trashed: bool,
}

/// `listProjects`' argument.
#[derive(Debug, Default)]
pub(crate) struct ListProjectsOptions {
    pub include_archived: bool,
}

/// `appendMessage`'s argument.
#[derive(Debug)]
pub(crate) struct JsNewMessage {
    role: Role,
    content: String,
    status: Option<MessageStatus>,
    parent_id: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    metadata: Option<Json>,
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
#[derive(Debug)]
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

impl FromJs for Feedback {
    fn read(f: &mut Fields) -> Result<Self> {
        let rating = f.required_uint("rating")?;
        let rating = u8::try_from(rating).map_err(|_| {
            StoreError::InvalidInput(format!("`rating` must be 1 to 5, not {rating}"))
        })?;
        Ok(Self {
            rating,
            text: f.string("text")?,
        })
    }
}

/// `upsertArtifact`'s argument.
#[derive(Debug)]
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
#[derive(Debug)]
pub(crate) struct JsToolCallStart {
    id: Option<String>,
    message_id: String,
    tool_name: String,
    provider_call_id: Option<String>,
    input: Json,
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
/// Read as one flat shape and checked in `into_model`.
#[derive(Debug)]
pub(crate) struct JsToolCallEnd {
    status: ToolCallStatus,
    output: Option<Json>,
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
#[derive(Debug)]
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
#[derive(Debug)]
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
#[derive(Debug)]
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

impl FromJs for StoreOptions {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            db_name: f.string("dbName")?,
            relay_url: f.string("relayUrl")?,
            token: TokenSource::from_js(f.value("token"))?,
        })
    }
}

impl FromJs for ThreadSettings {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            provider: f.string("provider")?,
            model: f.string("model")?,
            system_prompt: f.string("systemPrompt")?,
            temperature: f.number("temperature")?,
            context_window: f.uint("contextWindow")?,
        })
    }
}

impl FromJs for ThreadInit {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            title: f.string("title")?,
            settings: f.nested("settings")?,
            project_id: f.string("projectId")?,
            local_only: f.bool("localOnly")?,
        })
    }
}

impl FromJs for ListOptions {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            include_archived: f.bool("includeArchived")?.unwrap_or(false),
            project_id: f.string("projectId")?,
            trashed: f.bool("trashed")?.unwrap_or(false),
        })
    }
}

impl FromJs for ListProjectsOptions {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            include_archived: f.bool("includeArchived")?.unwrap_or(false),
        })
    }
}

impl FromJs for JsNewMessage {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            role: f.required_parsed("role")?,
            content: f.string("content")?.unwrap_or_default(),
            status: f.parsed("status")?,
            parent_id: f.string("parentId")?,
            provider: f.string("provider")?,
            model: f.string("model")?,
            metadata: f.json("metadata")?,
        })
    }
}

impl FromJs for Usage {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            input_tokens: f.required_uint("inputTokens")?,
            output_tokens: f.required_uint("outputTokens")?,
        })
    }
}

impl FromJs for JsMessageEnd {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            status: f.required_parsed("status")?,
            usage: f.nested("usage")?,
        })
    }
}

impl FromJs for JsArtifact {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            id: f.string("id")?,
            kind: f.required_string("kind")?,
            title: f.required_string("title")?,
            content: f.required_string("content")?,
            status: f.parsed("status")?,
            message_id: f.string("messageId")?,
        })
    }
}

impl FromJs for JsToolCallStart {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            id: f.string("id")?,
            message_id: f.required_string("messageId")?,
            tool_name: f.required_string("toolName")?,
            provider_call_id: f.string("providerCallId")?,
            input: f.json("input")?.unwrap_or_default(),
            status: f.parsed("status")?,
        })
    }
}

impl FromJs for JsToolCallEnd {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            status: f.required_parsed("status")?,
            output: f.json("output")?,
            error: f.string("error")?,
        })
    }
}

impl FromJs for JsApprovalRequest {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            id: f.string("id")?,
            kind: f.required_string("kind")?,
            subject: f.required_string("subject")?,
            message_id: f.string("messageId")?,
        })
    }
}

impl FromJs for JsApprovalDecision {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            approve: f.required_bool("approve")?,
            decided_by: f.required_string("decidedBy")?,
            reason: f.string("reason")?,
        })
    }
}

impl FromJs for JsSessionState {
    fn read(f: &mut Fields) -> Result<Self> {
        Ok(Self {
            external_id: f.string("externalId")?,
            phase: f.required_string("phase")?,
            plan: f.string("plan")?,
        })
    }
}

/// `setContext`'s argument: the model's [`ContextEntry`], its priority an integer (default 0).
impl FromJs for ContextEntry {
    fn read(f: &mut Fields) -> Result<Self> {
        let priority = f.number("priority")?.unwrap_or(0.0);
        if priority.fract() != 0.0 || priority.abs() > 9_007_199_254_740_991.0 {
            return Err(StoreError::InvalidInput(format!(
                "`priority` must be an integer, not {priority}"
            )));
        }
        Ok(Self {
            entry_type: f.required_string("type")?,
            key: f.required_string("key")?,
            value: f
                .json("value")?
                .ok_or_else(|| StoreError::InvalidInput("missing field `value`".into()))?,
            priority: priority as i64,
            expires_at: f.uint("expiresAt")?,
        })
    }
}
