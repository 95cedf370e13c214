//! `POST /api/mutation`: one path per write of the JS API, named `<area>:<verb>`, whose arguments are
//! the JS method's (an object argument's fields, a positional argument by its name) plus `threadId`.
//! Parsing happens before any document is touched; every write then goes through the model.
//!
//! Creates with a caller-chosen id are idempotent: repeating one with the same content answers as
//! the first did and writes nothing; repeating it with other content is `409 already_exists`.

use chatsync_model::input::{
    ApprovalDecisionInput, ApprovalRequestInput, ArtifactInput, ContextEntryInput, Fields,
    FromFields, MessageEndInput, NewMessageInput, SessionStateInput, ThreadInitInput,
    ToolCallEndInput, ToolCallStartInput,
};
use chatsync_model::{Feedback, Limits, Thread, ThreadInit, ThreadSettings, ThreadStatus};
use serde_json::Value;

use super::apply;
use super::documents::{self, Deleted, ThreadRef};
use super::error::ApiError;
use super::{ApiState, json};
use crate::storage::Storage;

/// Every mutation path.
pub(crate) const PATHS: &[&str] = &[
    "threads:create",
    "threads:setTitle",
    "threads:setSettings",
    "threads:archive",
    "threads:delete",
    "messages:append",
    "messages:appendDelta",
    "messages:finish",
    "messages:edit",
    "messages:regenerate",
    "messages:selectBranch",
    "messages:setFeedback",
    "artifacts:upsert",
    "toolCalls:start",
    "toolCalls:finish",
    "approvals:request",
    "approvals:decide",
    "sessions:save",
    "context:upsert",
    "context:remove",
];

/// A parsed write to one thread.
#[derive(Debug)]
pub(super) enum Write {
    SetTitle(String),
    SetSettings(ThreadSettings),
    SetStatus(ThreadStatus),
    Append(Option<String>, NewMessageInput),
    AppendDelta(String, String),
    Finish(String, MessageEndInput),
    Edit {
        message_id: String,
        id: Option<String>,
        content: String,
    },
    Regenerate {
        message_id: String,
        id: Option<String>,
        provider: Option<String>,
        model: Option<String>,
    },
    SelectBranch(String),
    SetFeedback(String, Feedback),
    UpsertArtifact(ArtifactInput),
    StartToolCall(ToolCallStartInput),
    FinishToolCall(String, ToolCallEndInput),
    RequestApproval(ApprovalRequestInput),
    DecideApproval(String, ApprovalDecisionInput),
    SaveSession(SessionStateInput),
    UpsertContext(ContextEntryInput),
    RemoveContext(String, String),
}

/// Runs the mutation `path` with `args` as `user`; the answer's `value`.
pub(crate) async fn run<S: Storage>(
    state: &ApiState<S>,
    user: &str,
    path: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    if !PATHS.contains(&path) {
        return Err(unknown_path(path));
    }
    let relay = &state.app.relay;
    let source = args;
    let mut f = Fields::of(&source)?;
    if path == "threads:create" {
        let id = f.string("id")?;
        let init = ThreadInitInput::read(&mut f)?;
        f.finish()?;
        let thread = match &id {
            Some(id) => ThreadRef::parse(id).map_err(|_| {
                ApiError::InvalidInput(format!(
                    "`id` {id:?} is not a thread id (a document id: base58check of 16 bytes)"
                ))
            })?,
            None => ThreadRef::fresh(),
        };
        let wanted = init.clone();
        let summary = documents::create_thread(
            relay,
            user,
            &thread,
            move |id, actor, now| {
                let created = Thread::create(
                    ThreadInit {
                        id,
                        actor,
                        now_ms: now,
                        title: init.title,
                        settings: init.settings,
                        project_id: init.project_id,
                        local_only: false,
                    },
                    Limits::default(),
                )?;
                Ok(created)
            },
            move |existing| apply::created_as(existing, &wanted),
        )
        .await?;
        return json(&summary);
    }
    let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
    let write = parse(path, &mut f)?;
    f.finish()?;
    let deleted = match write {
        Write::SetStatus(ThreadStatus::Deleted) => Deleted::Allowed,
        _ => Deleted::NotFound,
    };
    documents::write_thread(relay, user, &thread, deleted, move |thread, now| {
        apply::apply(thread, write, now)
    })
    .await
}

/// Reads the arguments of the thread-scoped path `path` (beside `threadId`).
fn parse<S: chatsync_model::input::Source>(
    path: &str,
    f: &mut Fields<'_, S>,
) -> Result<Write, ApiError> {
    Ok(match path {
        "threads:setTitle" => Write::SetTitle(f.required_string("title")?),
        "threads:setSettings" => {
            // The settings' fields beside `threadId`, or under `settings`.
            if f.has("settings") {
                Write::SetSettings(f.nested("settings")?.unwrap_or_default())
            } else {
                Write::SetSettings(ThreadSettings::read(f)?)
            }
        }
        "threads:archive" => Write::SetStatus(ThreadStatus::Archived),
        "threads:delete" => Write::SetStatus(ThreadStatus::Deleted),
        "messages:append" => Write::Append(f.string("id")?, NewMessageInput::read(f)?),
        "messages:appendDelta" => {
            Write::AppendDelta(f.required_string("messageId")?, f.required_string("text")?)
        }
        "messages:finish" => {
            Write::Finish(f.required_string("messageId")?, MessageEndInput::read(f)?)
        }
        "messages:edit" => Write::Edit {
            message_id: f.required_string("messageId")?,
            id: f.string("id")?,
            content: f.required_string("content")?,
        },
        "messages:regenerate" => Write::Regenerate {
            message_id: f.required_string("messageId")?,
            id: f.string("id")?,
            provider: f.string("provider")?,
            model: f.string("model")?,
        },
        "messages:selectBranch" => Write::SelectBranch(f.required_string("messageId")?),
        "messages:setFeedback" => {
            Write::SetFeedback(f.required_string("messageId")?, Feedback::read(f)?)
        }
        "artifacts:upsert" => Write::UpsertArtifact(ArtifactInput::read(f)?),
        "toolCalls:start" => Write::StartToolCall(ToolCallStartInput::read(f)?),
        "toolCalls:finish" => {
            Write::FinishToolCall(f.required_string("callId")?, ToolCallEndInput::read(f)?)
        }
        "approvals:request" => Write::RequestApproval(ApprovalRequestInput::read(f)?),
        "approvals:decide" => Write::DecideApproval(
            f.required_string("approvalId")?,
            ApprovalDecisionInput::read(f)?,
        ),
        "sessions:save" => Write::SaveSession(SessionStateInput::read(f)?),
        "context:upsert" => Write::UpsertContext(ContextEntryInput::read(f)?),
        "context:remove" => {
            Write::RemoveContext(f.required_string("type")?, f.required_string("key")?)
        }
        other => return Err(unknown_path(other)),
    })
}

/// The refusal of a path that is not a mutation.
pub(crate) fn unknown_path(path: &str) -> ApiError {
    ApiError::InvalidInput(format!(
        "unknown mutation path {path:?}; expected one of {}",
        PATHS.join(", ")
    ))
}
