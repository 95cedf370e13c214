//! Applying a parsed mutation to a thread through the model, and what counts as the same request
//! again: a repeat of a create with a caller-chosen id answers as the first did and writes nothing;
//! one with other content is `409 already_exists`.

use chatsync_model::input::{NewMessageInput, ThreadInitInput};
use chatsync_model::{ApprovalId, MessageId, ReadAt, Regenerate, Thread, TitleSource, ToolCallId};
use serde_json::Value;

use super::documents::new_id;
use super::error::ApiError;
use super::json;
use super::mutation::Write;

/// `ReadAt` that never infers `interrupted`: for comparing what is stored.
fn stored_state(now: u64) -> ReadAt {
    ReadAt {
        now_ms: now,
        stale_after_ms: u64::MAX,
    }
}

/// Applies one write. Idempotent repeats return before writing anything.
pub(super) fn apply(thread: &mut Thread, write: Write, now: u64) -> Result<Value, ApiError> {
    let at = ReadAt::new(now);
    match write {
        Write::SetTitle(title) => thread.set_title(title, now)?,
        Write::SetSettings(settings) => thread.update_settings(&settings, now)?,
        Write::SetStatus(status) => {
            if thread.status() != status {
                thread.set_status(status, now)?;
            }
        }
        Write::Append(id, message) => {
            let id = MessageId::new(id.unwrap_or_else(new_id))?;
            if let Some(existing) = thread.message(&id, stored_state(now)) {
                return if same_message(&existing, &message) {
                    json(&thread.message(&id, at))
                } else {
                    Err(already_exists("message", &id))
                };
            }
            thread.append_message(message.into_model(id.clone())?, now)?;
            return json(&thread.message(&id, at));
        }
        Write::AppendDelta(id, text) => thread.append_delta(&MessageId::new(id)?, &text, now)?,
        Write::Finish(id, end) => {
            let id = MessageId::new(id)?;
            let stored = thread.message(&id, stored_state(now)).map(|m| m.status);
            // Finishing again as it was finished (a retry) is done.
            if stored != Some(end.status) {
                thread.finish_message(&id, end.into_model(), now)?;
            }
        }
        Write::Edit {
            message_id,
            id,
            content,
        } => {
            let original = MessageId::new(message_id)?;
            let new = MessageId::new(id.unwrap_or_else(new_id))?;
            if let Some(existing) = thread.message(&new, at) {
                return if existing.content == content && existing.siblings.contains(&original) {
                    json(&existing)
                } else {
                    Err(already_exists("message", &new))
                };
            }
            thread.edit_message(&original, new.clone(), content, now)?;
            return json(&thread.message(&new, at));
        }
        Write::Regenerate {
            message_id,
            id,
            provider,
            model,
        } => {
            let original = MessageId::new(message_id)?;
            let new = MessageId::new(id.unwrap_or_else(new_id))?;
            if let Some(existing) = thread.message(&new, at) {
                return if existing.siblings.contains(&original) {
                    json(&existing)
                } else {
                    Err(already_exists("message", &new))
                };
            }
            let regenerate = Regenerate {
                new_id: new.clone(),
                provider,
                model,
            };
            thread.regenerate_message(&original, regenerate, now)?;
            return json(&thread.message(&new, at));
        }
        Write::SelectBranch(id) => thread.select_branch(&MessageId::new(id)?, now)?,
        Write::SetFeedback(id, feedback) => {
            thread.set_feedback(&MessageId::new(id)?, feedback, now)?;
        }
        Write::UpsertArtifact(artifact) => {
            let artifact = artifact.into_model(new_id)?;
            let id = artifact.id.clone();
            let current = thread.artifacts().into_iter().find(|a| a.id == id);
            let unchanged = current.is_some_and(|a| {
                a.kind == artifact.kind
                    && a.title == artifact.title
                    && a.content == artifact.content
                    && a.status == artifact.status
                    && a.message_id == artifact.message_id
            });
            if !unchanged {
                thread.upsert_artifact(artifact, now)?;
            }
            return Ok(Value::String(id.to_string()));
        }
        Write::StartToolCall(call) => {
            let call = call.into_model(new_id)?;
            let id = call.id.clone();
            if let Some(existing) = thread.tool_calls().into_iter().find(|c| c.id == id) {
                let same = existing.message_id == call.message_id
                    && existing.tool_name == call.tool_name
                    && existing.provider_call_id == call.provider_call_id
                    && existing.input.to_value() == call.input.to_value();
                return if same {
                    Ok(Value::String(id.to_string()))
                } else {
                    Err(already_exists("tool call", &id))
                };
            }
            thread.start_tool_call(call, now)?;
            return Ok(Value::String(id.to_string()));
        }
        Write::FinishToolCall(id, end) => {
            thread.finish_tool_call(&ToolCallId::new(id)?, end.into_model()?, now)?;
        }
        Write::RequestApproval(request) => {
            let request = request.into_model(new_id)?;
            let id = request.id.clone();
            if let Some(existing) = thread.approvals().into_iter().find(|a| a.id == id) {
                let same = existing.kind == request.kind
                    && existing.subject == request.subject
                    && existing.message_id == request.message_id;
                return if same {
                    Ok(Value::String(id.to_string()))
                } else {
                    Err(already_exists("approval", &id))
                };
            }
            thread.request_approval(request, now)?;
            return Ok(Value::String(id.to_string()));
        }
        Write::DecideApproval(id, decision) => {
            let id = ApprovalId::new(id)?;
            let wanted = if decision.approve {
                chatsync_model::ApprovalStatus::Approved
            } else {
                chatsync_model::ApprovalStatus::Rejected
            };
            let current = thread.approvals().into_iter().find(|a| a.id == id);
            // Deciding again as it was decided (a retry) is done.
            if current.is_none_or(|a| a.status != wanted) {
                thread.decide_approval(&id, decision.into_model(), now)?;
            }
        }
        Write::SaveSession(session) => thread.set_session_state(session.into_model(), now)?,
        Write::UpsertContext(entry) => thread.upsert_context(entry.entry, now)?,
        Write::RemoveContext(entry_type, key) => thread.remove_context(&entry_type, &key, now)?,
    }
    Ok(Value::Null)
}

/// Whether a stored message is what a repeated `messages:append` asks for.
fn same_message(existing: &chatsync_model::view::MessageView, new: &NewMessageInput) -> bool {
    let metadata = |m: Option<&chatsync_model::Json>| m.map(chatsync_model::Json::to_value);
    existing.role == new.role
        && existing.content == new.content
        && new
            .parent_id
            .as_ref()
            .is_none_or(|p| existing.parent_id.as_ref().is_some_and(|e| e.as_str() == p))
        && existing.provider == new.provider
        && existing.model == new.model
        && metadata(existing.metadata.as_ref()) == metadata(new.metadata.as_ref())
}

/// Whether an existing thread is what a repeated `threads:create` asks for.
pub(super) fn created_as(existing: &Thread, wanted: &ThreadInitInput) -> bool {
    let (title, source) = existing.title();
    let title_same = match &wanted.title {
        Some(t) => source == TitleSource::Person && title == t.trim(),
        None => source != TitleSource::Person,
    };
    let settings = existing.settings();
    let w = &wanted.settings;
    let settings_same = (w.provider.is_none() || w.provider == settings.provider)
        && (w.model.is_none() || w.model == settings.model)
        && (w.system_prompt.is_none() || w.system_prompt == settings.system_prompt)
        && (w.temperature.is_none() || w.temperature == settings.temperature)
        && (w.context_window.is_none() || w.context_window == settings.context_window);
    let project = existing.summary(ReadAt::new(0)).project_id;
    title_same && settings_same && project == wanted.project_id
}

fn already_exists(kind: &str, id: &impl std::fmt::Display) -> ApiError {
    ApiError::AlreadyExists(format!(
        "{kind} {id:?} already exists with other content",
        id = id.to_string()
    ))
}
