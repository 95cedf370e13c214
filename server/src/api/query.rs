//! `POST /api/query`: reads, with the same JSON as the browser's — `threads:list` is
//! `listThreads()`, `threads:get` is a thread's `view()` — so an agent can build its prompt.

use chatsync_model::PatchTarget;
use chatsync_model::input::{Fields, FromFields, ListInput};
use serde_json::Value;

use super::documents::{self, ThreadRef};
use super::error::ApiError;
use super::{ApiState, json};
use crate::storage::Storage;

/// Every query path.
pub(crate) const PATHS: &[&str] = &[
    "threads:list",
    "threads:get",
    "threads:search",
    "preferences:get",
    "profile:get",
    "projects:list",
    "usage:get",
    "threads:listShared",
    "threads:shares",
];

/// Runs the query `path` with `args` as `user`; the answer's `value`.
pub(crate) async fn run<S: Storage>(
    state: &ApiState<S>,
    user: &str,
    path: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let relay = &state.app.relay;
    let source = args;
    let mut f = Fields::of(&source)?;
    match path {
        "threads:list" => {
            let options = ListInput::read(&mut f)?;
            let project_id = f.string("projectId")?;
            let trashed = f.bool("trashed")?.unwrap_or(false);
            f.finish()?;
            let options = chatsync_model::ListOptions {
                include_archived: options.include_archived,
                // An id that cannot be a project's names none: nothing is in it.
                project_id: match project_id {
                    Some(p) => match chatsync_model::ProjectId::new(p) {
                        Ok(p) => Some(p),
                        Err(_) => return Ok(Value::Array(Vec::new())),
                    },
                    None => None,
                },
                trashed,
            };
            json(&documents::list_threads(relay, user, options).await?)
        }
        "threads:search" => super::search::search(relay, user, args).await,
        "preferences:get" => super::user::get(relay, user, PatchTarget::Preferences, args).await,
        "profile:get" => super::user::get(relay, user, PatchTarget::Profile, args).await,
        "projects:list" => super::projects::list(relay, user, args).await,
        "usage:get" => super::user::usage(relay, user, args).await,
        "threads:listShared" => super::shares::list_shared(relay, user, args).await,
        "threads:shares" => super::shares::shares_of(relay, user, args).await,
        "threads:get" => {
            let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
            f.finish()?;
            // Serialized on the blocking pool too: a long thread's view is megabytes of JSON.
            let mut view = documents::read_thread(relay, user, &thread, |thread, now| {
                json(&thread.view(chatsync_model::ReadAt::new(now)))
            })
            .await??;
            // The thread document keeps the id of a project deleted since; it shows as in none.
            if let Some(project) = view.get("projectId").and_then(Value::as_str) {
                let project = project.to_owned();
                let resolved = super::index::read_index(relay, user, move |index, _| {
                    index.resolve_project_id(Some(project.clone()))
                })
                .await?;
                if resolved.is_none()
                    && let Some(fields) = view.as_object_mut()
                {
                    fields.remove("projectId");
                }
            }
            Ok(view)
        }
        other => Err(ApiError::InvalidInput(format!(
            "unknown query path {other:?}; expected one of {}",
            PATHS.join(", ")
        ))),
    }
}
