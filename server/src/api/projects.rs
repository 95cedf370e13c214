//! `projects:*` and `threads:move`: the user's projects, kept in their index, with the JSON of the
//! browser's `Project` (thread count and last activity included).
//!
//! - `projects:create` takes the project's fields (`name` required) and an optional `id`; a repeat
//!   with the same id and fields answers as the first did and writes nothing, one with other fields
//!   is `409 already_exists`.
//! - `projects:update` takes `projectId` and the fields to change (`null` clears one);
//!   `projects:archive` and `projects:delete` take `projectId`. Deleting a deleted project is done;
//!   its threads keep working, in no project.
//! - `projects:list` (a query) takes `{ includeArchived? }`.
//! - `threads:move` takes `threadId` and `projectId` (a project's id, or `null` for none).

use std::sync::Arc;

use chatsync_model::input::Fields;
use chatsync_model::{Index, Patch, PatchTarget, ProjectId};
use serde_json::{Map, Value};

use super::documents::{self, Deleted, ThreadRef, new_id};
use super::error::ApiError;
use super::index::{read_index, write_index};
use super::json;
use crate::relay::Relay;
use crate::storage::Storage;

fn project_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("project {id:?} not found"))
}

/// A project id from the arguments: one that cannot be an id names no project.
fn project_id(raw: &str) -> Result<ProjectId, ApiError> {
    ProjectId::new(raw).map_err(|_| project_not_found(raw))
}

/// The arguments without `key` (read by hand), for the patch of the rest.
fn without(args: &Value, key: &str) -> Result<(Option<Value>, Value), ApiError> {
    let Some(object) = args.as_object() else {
        return Err(ApiError::InvalidInput(
            "the arguments must be an object".into(),
        ));
    };
    let mut rest: Map<String, Value> = object.clone();
    let taken = rest.remove(key);
    Ok((taken, Value::Object(rest)))
}

fn required_id(value: Option<Value>, key: &str) -> Result<String, ApiError> {
    match value {
        Some(Value::String(id)) => Ok(id),
        Some(_) => Err(ApiError::InvalidInput(format!("`{key}` must be a string"))),
        None => Err(ApiError::InvalidInput(format!("`{key}` is required"))),
    }
}

/// The `projects:*` mutation `path`.
pub(super) async fn mutation<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    path: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    match path {
        "projects:create" => {
            let (id, fields) = without(args, "id")?;
            let id = match id {
                None | Some(Value::Null) => ProjectId::new(new_id())?,
                Some(Value::String(id)) => ProjectId::new(id)?,
                Some(_) => return Err(ApiError::InvalidInput("`id` must be a string".into())),
            };
            let patch = Patch::from_json(PatchTarget::Project, &fields)?;
            write_index(relay, user, move |index, now| {
                if let Some(existing) = index.project(&id) {
                    return if same_fields(&json(&existing)?, &fields) {
                        json(&existing)
                    } else {
                        Err(ApiError::AlreadyExists(format!(
                            "project {id} already exists with other fields"
                        )))
                    };
                }
                json(&index.create_project(&id, &patch, now)?)
            })
            .await
        }
        "projects:update" => {
            let (id, fields) = without(args, "projectId")?;
            let id = project_id(&required_id(id, "projectId")?)?;
            let patch = Patch::from_json(PatchTarget::Project, &fields)?;
            write_index(relay, user, move |index, now| {
                json(&index.update_project(&id, &patch, now)?)
            })
            .await
        }
        "projects:archive" | "projects:delete" => {
            let mut f = Fields::of(&args)?;
            let raw = f.required_string("projectId")?;
            f.finish()?;
            let id = project_id(&raw)?;
            let archive = path == "projects:archive";
            write_index(relay, user, move |index, now| {
                if archive {
                    return json(&index.archive_project(&id, now)?);
                }
                if !index.has_project(&id) && was_deleted(index, &id) {
                    return Ok(Value::Null);
                }
                index.delete_project(&id, now)?;
                Ok(Value::Null)
            })
            .await
        }
        other => Err(super::mutation::unknown_path(other)),
    }
}

/// Whether the project is a deleted one's tombstone: its id resolves to no project.
fn was_deleted(index: &Index, id: &ProjectId) -> bool {
    index.resolve_project_id(Some(id.to_string())).is_none()
}

/// Whether the stored project holds each field as `wanted` gives it (`null`: not set).
fn same_fields(existing: &Value, wanted: &Value) -> bool {
    let Some(wanted) = wanted.as_object() else {
        return false;
    };
    wanted.iter().all(|(key, value)| match value {
        Value::Null => existing.get(key).is_none(),
        value => existing.get(key) == Some(value),
    })
}

/// `projects:list`.
pub(super) async fn list<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let mut f = Fields::of(&args)?;
    let include_archived = f.bool("includeArchived")?.unwrap_or(false);
    f.finish()?;
    read_index(relay, user, move |index, _| {
        json(&index.list_projects(include_archived))
    })
    .await?
}

/// `threads:move`: into the project `projectId`, or out of any with `null`. Refused for a project
/// the user does not have (`404`), and for a purged thread (`410`).
pub(super) async fn move_thread<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let mut f = Fields::of(&args)?;
    let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
    if !f.has("projectId") && args.get("projectId") != Some(&Value::Null) {
        return Err(ApiError::InvalidInput(
            "`projectId` is required (a project's id, or null for none)".into(),
        ));
    }
    let project = f.string("projectId")?.map(|p| project_id(&p)).transpose()?;
    f.finish()?;
    let (thread_id, wanted) = (thread.id.clone(), project.clone());
    let known = read_index(relay, user, move |index, _| {
        if index.is_purged(&thread_id) {
            return Err(ApiError::Purged(format!("thread {thread_id} was purged")));
        }
        Ok(wanted.as_ref().is_none_or(|p| index.has_project(p)))
    })
    .await??;
    if !known {
        return Err(project_not_found(
            project.as_ref().map_or("", ProjectId::as_str),
        ));
    }
    documents::write_thread(
        relay,
        user,
        &thread,
        Deleted::NotFound,
        move |thread, now| {
            thread.set_project(project.map(|p| p.to_string()), now)?;
            json(&thread.summary(chatsync_model::ReadAt::new(now)))
        },
    )
    .await
}
