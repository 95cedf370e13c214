//! `POST /api/mutation`: one path per write of the JS API, named `<area>:<verb>`, whose arguments are
//! the JS method's (an object argument's fields, a positional argument by its name) plus `threadId`.
//! Parsing happens before any document is touched; every write then goes through the model.
//!
//! Creates with a caller-chosen id are idempotent: repeating one with the same content answers as
//! the first did and writes nothing; repeating it with other content is `409 already_exists`.

use chatsync_model::input::{
    AppendMessageInput, ApprovalDecisionInput, ApprovalRequestInput, ArtifactInput,
    ContextEntryInput, Fields, FinishMessageInput, FromFields, PartInput, SessionStateInput,
    ThreadInitInput, ToolCallEndInput, ToolCallStartInput,
};
use chatsync_model::{
    Feedback, Json, Limits, NewPart, PatchTarget, Thread, ThreadInit, ThreadSettings, ThreadStatus,
    ToolCallOptions,
};
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
    "messages:appendPart",
    "messages:finish",
    "messages:updateMetadata",
    "messages:edit",
    "messages:regenerate",
    "messages:selectBranch",
    "messages:setFeedback",
    "artifacts:upsert",
    "toolCalls:start",
    "toolCalls:setInput",
    "toolCalls:finish",
    "approvals:request",
    "approvals:decide",
    "sessions:save",
    "context:upsert",
    "context:set",
    "context:remove",
    "threads:setSummary",
    "threads:unarchive",
    "threads:move",
    "threads:restore",
    "threads:purge",
    "preferences:set",
    "profile:set",
    "projects:create",
    "projects:update",
    "projects:archive",
    "projects:delete",
    "threads:share",
    "threads:unshare",
    "threads:createShareLink",
    "threads:revokeShareLink",
];

/// A parsed write to one thread.
#[derive(Debug)]
pub(super) enum Write {
    SetTitle(String),
    SetSummary(Option<String>),
    SetSettings(ThreadSettings),
    SetStatus(ThreadStatus),
    Append(AppendMessageInput),
    AppendDelta {
        message_id: String,
        text: String,
        part: Option<String>,
    },
    AppendPart(String, NewPart),
    Finish(String, FinishMessageInput),
    UpdateMetadata {
        message_id: String,
        metadata: Option<Json>,
        merge: bool,
    },
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
    StartToolCall(ToolCallStartInput, ToolCallOptions),
    SetToolCallInput(String, Json),
    FinishToolCall(String, ToolCallEndInput),
    RequestApproval(ApprovalRequestInput, Option<String>),
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
    // The paths on the user's index (and `threads:move`, which checks it first).
    match path {
        "threads:move" => return super::projects::move_thread(relay, user, args).await,
        "threads:delete" => return super::trash::trash(relay, user, args).await,
        "threads:restore" => return super::trash::restore(relay, user, args).await,
        "threads:purge" => return super::trash::purge(relay, user, args).await,
        "preferences:set" => {
            return super::user::set(relay, user, PatchTarget::Preferences, args).await;
        }
        "profile:set" => return super::user::set(relay, user, PatchTarget::Profile, args).await,
        p if super::shares::MUTATIONS.contains(&p) => {
            return super::shares::mutation(relay, user, path, args).await;
        }
        p if p.starts_with("projects:") => {
            return super::projects::mutation(relay, user, path, args).await;
        }
        _ => {}
    }
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
    documents::write_thread(
        relay,
        user,
        &thread,
        Deleted::NotFound,
        move |thread, now| apply::apply(thread, write, now),
    )
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
        "threads:setSummary" => Write::SetSummary(summary_arg(f)?),
        "threads:archive" => Write::SetStatus(ThreadStatus::Archived),
        "threads:unarchive" => Write::SetStatus(ThreadStatus::Active),
        "messages:append" => Write::Append(AppendMessageInput::read(f)?),
        "messages:appendDelta" => Write::AppendDelta {
            message_id: f.required_string("messageId")?,
            text: f.required_string("text")?,
            part: f.string("part")?,
        },
        "messages:appendPart" => {
            let message_id = f.required_string("messageId")?;
            let part: PartInput = f
                .nested("part")?
                .ok_or_else(|| ApiError::InvalidInput("missing field `part`".into()))?;
            Write::AppendPart(message_id, part.0)
        }
        "messages:finish" => Write::Finish(
            f.required_string("messageId")?,
            FinishMessageInput::read(f)?,
        ),
        "messages:updateMetadata" => Write::UpdateMetadata {
            message_id: f.required_string("messageId")?,
            metadata: f.json("metadata")?,
            merge: f.bool("merge")?.unwrap_or(false),
        },
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
        "toolCalls:start" => {
            let call = ToolCallStartInput::read(f)?;
            let options = ToolCallOptions {
                dynamic: f.bool("dynamic")?.unwrap_or(false),
                input_streaming: f.bool("inputStreaming")?.unwrap_or(false),
            };
            Write::StartToolCall(call, options)
        }
        "toolCalls:setInput" => Write::SetToolCallInput(
            f.required_string("callId")?,
            f.json("input")?.unwrap_or_default(),
        ),
        "toolCalls:finish" => {
            Write::FinishToolCall(f.required_string("callId")?, ToolCallEndInput::read(f)?)
        }
        "approvals:request" => {
            let request = ApprovalRequestInput::read(f)?;
            Write::RequestApproval(request, f.string("toolCallId")?)
        }
        "approvals:decide" => Write::DecideApproval(
            f.required_string("approvalId")?,
            ApprovalDecisionInput::read(f)?,
        ),
        "sessions:save" => Write::SaveSession(SessionStateInput::read(f)?),
        "context:upsert" | "context:set" => Write::UpsertContext(ContextEntryInput::read(f)?),
        "context:remove" => {
            Write::RemoveContext(f.required_string("type")?, f.required_string("key")?)
        }
        other => return Err(unknown_path(other)),
    })
}

/// `threads:setSummary`'s text, as `text` (the JS method's argument) or `summary`; `null` clears it.
fn summary_arg<S: chatsync_model::input::Source>(
    f: &mut Fields<'_, S>,
) -> Result<Option<String>, ApiError> {
    let (text, summary) = (f.string("text")?, f.string("summary")?);
    match (text, summary) {
        (Some(_), Some(_)) => Err(ApiError::InvalidInput(
            "give the summary as `text` or as `summary`, not both".into(),
        )),
        (text, summary) => Ok(text.or(summary)),
    }
}

/// The refusal of a path that is not a mutation.
pub(crate) fn unknown_path(path: &str) -> ApiError {
    ApiError::InvalidInput(format!(
        "unknown mutation path {path:?}; expected one of {}",
        PATHS.join(", ")
    ))
}
