//! `POST /api/query`: reads, with the same JSON as the browser's — `threads:list` is
//! `listThreads()`, `threads:get` is a thread's `view()` — so an agent can build its prompt.

use chatsync_model::input::{Fields, FromFields, ListInput};
use serde_json::Value;

use super::documents::{self, ThreadRef};
use super::error::ApiError;
use super::{ApiState, json};
use crate::storage::Storage;

/// Every query path.
pub(crate) const PATHS: &[&str] = &["threads:list", "threads:get"];

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
            f.finish()?;
            json(&documents::list_threads(relay, user, options.include_archived).await?)
        }
        "threads:get" => {
            let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
            f.finish()?;
            // Serialized on the blocking pool too: a long thread's view is megabytes of JSON.
            documents::read_thread(relay, user, &thread, |thread, now| {
                json(&thread.view(chatsync_model::ReadAt::new(now)))
            })
            .await?
        }
        other => Err(ApiError::InvalidInput(format!(
            "unknown query path {other:?}; expected one of {}",
            PATHS.join(", ")
        ))),
    }
}
