//! The JS API's argument shapes (see the package's `types.ts`), read field by field, and turned
//! into the model's types. Ids a caller may omit are made by the caller's `new_id` (the model has no
//! randomness).

use super::{Fields, FromFields, InputError, Source};
use crate::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ArtifactId, ArtifactStatus, ArtifactUpsert,
    ContextEntry, Feedback, Json, MessageEnd, MessageId, MessageStatus, NewMessage, Role,
    SessionState, ThreadSettings, ToolCallId, ToolCallOutcome, ToolCallStart, ToolCallStatus,
    Usage,
};

/// `createThread`'s argument (`ThreadInit`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadInitInput {
    /// A person's title.
    pub title: Option<String>,
    /// Model settings.
    pub settings: ThreadSettings,
    /// The project.
    pub project_id: Option<String>,
}

/// `listThreads`' argument (`ListOptions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListInput {
    /// Include archived threads.
    pub include_archived: bool,
}

/// `appendMessage`'s argument (`NewMessage`), without its id.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessageInput {
    /// Who wrote it.
    pub role: Role,
    /// Its content.
    pub content: String,
    /// Its initial status.
    pub status: Option<MessageStatus>,
    /// The message it answers.
    pub parent_id: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Application metadata.
    pub metadata: Option<Json>,
}

impl NewMessageInput {
    /// The model's message, with id `id`.
    pub fn into_model(self, id: MessageId) -> Result<NewMessage, InputError> {
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

/// `finishMessage`'s argument (`MessageEnd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageEndInput {
    /// `complete`, `error` or `cancelled`.
    pub status: MessageStatus,
    /// Token usage.
    pub usage: Option<Usage>,
}

impl MessageEndInput {
    /// The model's message end.
    pub fn into_model(self) -> MessageEnd {
        MessageEnd {
            status: self.status,
            usage: self.usage,
        }
    }
}

/// `upsertArtifact`'s argument (`ArtifactUpsert`).
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactInput {
    /// Its id; omitted for a new artifact.
    pub id: Option<String>,
    /// What it is.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its content.
    pub content: String,
    /// Draft (the default) or final.
    pub status: Option<ArtifactStatus>,
    /// The message that produced it.
    pub message_id: Option<String>,
}

impl ArtifactInput {
    /// The model's upsert; `new_id` names a new artifact.
    pub fn into_model(self, new_id: impl FnOnce() -> String) -> Result<ArtifactUpsert, InputError> {
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

/// `startToolCall`'s argument (`ToolCallStart`).
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCallStartInput {
    /// Its id; omitted for a generated one.
    pub id: Option<String>,
    /// The message that made the call.
    pub message_id: String,
    /// The tool.
    pub tool_name: String,
    /// The provider's call id.
    pub provider_call_id: Option<String>,
    /// Arguments.
    pub input: Json,
    /// `pending` or `running` (the default).
    pub status: Option<ToolCallStatus>,
}

impl ToolCallStartInput {
    /// The model's tool call start; `new_id` names it when no id was given.
    pub fn into_model(self, new_id: impl FnOnce() -> String) -> Result<ToolCallStart, InputError> {
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

/// `finishToolCall`'s argument (`ToolCallEnd`): `{ status: "completed", output? }` or
/// `{ status: "failed", error }`, read as one flat shape and checked in `into_model`.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCallEndInput {
    /// `completed` or `failed`.
    pub status: ToolCallStatus,
    /// The result of a completed call.
    pub output: Option<Json>,
    /// Why a failed call failed.
    pub error: Option<String>,
}

impl ToolCallEndInput {
    /// The model's outcome, if the fields go together.
    pub fn into_model(self) -> Result<ToolCallOutcome, InputError> {
        match (self.status, self.output, self.error) {
            (ToolCallStatus::Completed, output, None) => Ok(ToolCallOutcome::Completed {
                output: output.unwrap_or_default(),
            }),
            (ToolCallStatus::Failed, None, Some(error)) => Ok(ToolCallOutcome::Failed { error }),
            (ToolCallStatus::Completed, _, Some(_)) => Err(InputError::Shape(
                "a completed tool call has `output`, not `error`",
            )),
            (ToolCallStatus::Failed, _, _) => Err(InputError::Shape(
                "a failed tool call has `error` and no `output`",
            )),
            (_, _, _) => Err(InputError::Shape(
                "a tool call ends `completed` or `failed`",
            )),
        }
    }
}

/// `requestApproval`'s argument (`ApprovalRequest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequestInput {
    /// Its id; omitted for a generated one.
    pub id: Option<String>,
    /// What kind of thing is to be approved.
    pub kind: String,
    /// What is to be approved.
    pub subject: String,
    /// The message that asks.
    pub message_id: Option<String>,
}

impl ApprovalRequestInput {
    /// The model's request; `new_id` names it when no id was given.
    pub fn into_model(
        self,
        new_id: impl FnOnce() -> String,
    ) -> Result<ApprovalRequest, InputError> {
        Ok(ApprovalRequest {
            id: ApprovalId::new(self.id.unwrap_or_else(new_id))?,
            kind: self.kind,
            subject: self.subject,
            message_id: self.message_id.map(MessageId::new).transpose()?,
        })
    }
}

/// `decideApproval`'s argument (`ApprovalDecision`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalDecisionInput {
    /// Approve or reject.
    pub approve: bool,
    /// Who decided.
    pub decided_by: String,
    /// Why.
    pub reason: Option<String>,
}

impl ApprovalDecisionInput {
    /// The model's decision.
    pub fn into_model(self) -> ApprovalDecision {
        ApprovalDecision {
            approve: self.approve,
            decided_by: self.decided_by,
            reason: self.reason,
        }
    }
}

/// `setSessionState`'s argument (`SessionState`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStateInput {
    /// The agent framework's session id.
    pub external_id: Option<String>,
    /// Phase.
    pub phase: String,
    /// Plan.
    pub plan: Option<String>,
}

impl SessionStateInput {
    /// The model's session state.
    pub fn into_model(self) -> SessionState {
        SessionState {
            external_id: self.external_id,
            phase: self.phase,
            plan: self.plan,
        }
    }
}

/// A context entry (`ContextEntry` of the view): `type`, `key`, `value`, `priority?`, `expiresAt?`.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextEntryInput {
    /// The model's entry (priority 0 when omitted).
    pub entry: ContextEntry,
}

impl FromFields for ThreadSettings {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            provider: f.string("provider")?,
            model: f.string("model")?,
            system_prompt: f.string("systemPrompt")?,
            temperature: f.number("temperature")?,
            context_window: f.uint("contextWindow")?,
        })
    }
}

impl FromFields for ThreadInitInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            title: f.string("title")?,
            settings: f.nested("settings")?.unwrap_or_default(),
            project_id: f.string("projectId")?,
        })
    }
}

impl FromFields for ListInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            include_archived: f.bool("includeArchived")?.unwrap_or(false),
        })
    }
}

impl FromFields for NewMessageInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
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

impl FromFields for Usage {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            input_tokens: f.required_uint("inputTokens")?,
            output_tokens: f.required_uint("outputTokens")?,
        })
    }
}

impl FromFields for MessageEndInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            status: f.required_parsed("status")?,
            usage: f.nested("usage")?,
        })
    }
}

impl FromFields for Feedback {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        let rating = f.required_uint("rating")?;
        let rating = u8::try_from(rating).map_err(|_| InputError::WrongType {
            field: "rating".into(),
            expected: "1 to 5",
        })?;
        Ok(Self {
            rating,
            text: f.string("text")?,
        })
    }
}

impl FromFields for ArtifactInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
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

impl FromFields for ToolCallStartInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
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

impl FromFields for ToolCallEndInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            status: f.required_parsed("status")?,
            output: f.json("output")?,
            error: f.string("error")?,
        })
    }
}

impl FromFields for ApprovalRequestInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            id: f.string("id")?,
            kind: f.required_string("kind")?,
            subject: f.required_string("subject")?,
            message_id: f.string("messageId")?,
        })
    }
}

impl FromFields for ApprovalDecisionInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            approve: f.required_bool("approve")?,
            decided_by: f.required_string("decidedBy")?,
            reason: f.string("reason")?,
        })
    }
}

impl FromFields for SessionStateInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            external_id: f.string("externalId")?,
            phase: f.required_string("phase")?,
            plan: f.string("plan")?,
        })
    }
}

impl FromFields for ContextEntryInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        let entry_type = f.required_string("type")?;
        let key = f.required_string("key")?;
        let value = f
            .json("value")?
            .ok_or_else(|| InputError::Missing("value".into()))?;
        Ok(Self {
            entry: ContextEntry {
                entry_type,
                key,
                value,
                priority: f.int("priority")?.unwrap_or(0),
                expires_at: f.uint("expiresAt")?,
            },
        })
    }
}
