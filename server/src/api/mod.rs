//! The HTTP API for backends (an LLM agent, a job): `POST /api/mutation` and `POST /api/query` with
//! `{ "path", "args" }`, and `POST /api/stream` for a streamed reply. The token's user is who writes
//! and reads; another user's thread is answered exactly like one that does not exist, unless it
//! is shared with the caller (`shares`: read or write access, checked on every call). Every write
//! goes through the model and the relay's local-write seam, is answered `200` only once it is
//! stored, and reaches every connected device live.
//!
//! - [`error`]: the one error shape, `{ "code", "message" }`.
//! - `request`: the bearer token, the per-user budget, bounded bodies, the envelope.
//! - `mutation` and `query`: the paths; `apply`: a mutation through the model, and idempotent
//!   repeats. `stream`: NDJSON replies; `sse` and `ui_chunks`: the AI SDK's UI message stream
//!   (`Content-Type: text/event-stream`); `merge`: metadata merged as the AI SDK merges it.
//! - `documents`: threads and the index through the model; `index`: the index alone.
//! - `search`: `threads:search`, over the search table (`crate::search` keeps it current).
//! - `shares`: sharing a thread with another user, and read-only share links.
//! - `user` (preferences, profile, usage), `projects` (and `threads:move`), `trash`
//!   (`threads:delete` to the trash, restore, purge).

mod apply;
mod documents;
pub mod error;
mod index;
mod merge;
mod mutation;
mod open_streams;
mod projects;
mod query;
mod rate;
mod request;
mod search;
mod shares;
mod sse;
mod sse_events;
mod stream;
mod trash;
mod ui_chunks;
mod user;

pub(crate) use documents::{ThreadRef, now_ms, read_any_thread};
pub(crate) use index::{read_index, write_index};
pub(crate) use shares::link_error as link_refused;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method};
use axum::routing::post;
use serde::Serialize;
use serde_json::Value;
use tower_http::cors::{Any, CorsLayer};

use crate::http::AppState;
use crate::storage::Storage;
use error::ApiError;
use open_streams::OpenStreams;
use rate::RateLimiter;

/// What the API's handlers share.
pub(crate) struct ApiState<S> {
    app: AppState<S>,
    rate: Arc<RateLimiter>,
    streams: Arc<OpenStreams>,
}

impl<S> Clone for ApiState<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            rate: self.rate.clone(),
            streams: self.streams.clone(),
        }
    }
}

/// The API's routes. They bound their bodies themselves (a stream may run longer than a request
/// may), so they are served beside the relay's other routes, not under their request bounds.
pub fn routes<S: Storage>(app: AppState<S>) -> Router {
    let rate = Arc::new(RateLimiter::new(
        app.relay.limits().max_api_requests_per_second,
    ));
    Router::new()
        .route("/api/mutation", post(mutation::<S>))
        .route("/api/query", post(query::<S>))
        .route("/api/stream", post(stream::<S>))
        // Authenticated by bearer token, never by cookie, so a page of any origin may call it (a
        // browser-side agent, a test page) without giving another site anything.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::POST])
                .allow_headers([AUTHORIZATION, CONTENT_TYPE]),
        )
        .with_state(ApiState {
            app,
            rate,
            streams: Arc::default(),
        })
}

/// `{ "value": … }`.
type Answer = Result<Json<Value>, ApiError>;

fn answer(value: Value) -> Json<Value> {
    Json(serde_json::json!({ "value": value }))
}

/// A value as JSON (the views serialize as the browser's `JSON.parse` of its own output).
pub(crate) fn json<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| {
        tracing::error!(error = %e, "a view did not serialize");
        ApiError::Internal
    })
}

/// Runs `work` in a task of its own, tracked for shutdown: a caller that fires and forgets (and
/// hangs up) does not cut a write short between memory and storage.
async fn detached<S: Storage>(
    state: &ApiState<S>,
    work: impl Future<Output = Result<Value, ApiError>> + Send + 'static,
) -> Answer {
    match state.app.connections.spawn(work).await {
        Ok(result) => result.map(answer),
        Err(e) => {
            tracing::error!(error = %e, "an API request's task failed");
            Err(ApiError::Internal)
        }
    }
}

async fn mutation<S: Storage>(
    State(state): State<ApiState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let user = request::caller(&state, &headers).await?;
    let call = read_call(&state, &headers, body).await?;
    let task = state.clone();
    detached(&state, async move {
        mutation::run(&task, &user, &call.path, &call.args).await
    })
    .await
}

async fn query<S: Storage>(
    State(state): State<ApiState<S>>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    // A share link reads its one thread, and nothing else.
    if let Some(token) = request::bearer(&headers)
        .filter(|token| token.starts_with(crate::relay::SHARE_LINK_PREFIX))
        .map(str::to_owned)
    {
        // Its own request budget, as a user's: one per link (a prefix of the token names it; the NUL
        // keeps it apart from every user id).
        let budget: String = "\u{0}link:".chars().chain(token.chars().take(96)).collect();
        if let Err(retry_after) = state.rate.take(&budget, std::time::Instant::now()) {
            state.app.relay.metrics().refused("api_rate_limited");
            return Err(ApiError::RateLimited {
                per_second: state.rate.per_second(),
                retry_after,
            });
        }
        let link = shares::verified_link(&state.app.relay, &token).await?;
        let call = read_call(&state, &headers, body).await?;
        let task = state.clone();
        return detached(&state, async move {
            shares::query_by_link(&task.app.relay, link, &call.path, &call.args).await
        })
        .await;
    }
    let user = request::caller(&state, &headers).await?;
    let call = read_call(&state, &headers, body).await?;
    let task = state.clone();
    detached(&state, async move {
        query::run(&task, &user, &call.path, &call.args).await
    })
    .await
}

async fn stream<S: Storage>(
    State(state): State<ApiState<S>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let verified = request::verified_caller(&state, &headers).await?;
    let (user, expires_at) = (verified.user, verified.expires_at);
    // The AI SDK's UI message stream names its thread in the query; NDJSON in its first line.
    let ui_stream = sse::is_event_stream(&headers)
        .then(|| sse::Target::from_uri(&uri))
        .transpose()?;
    let max = state.app.relay.limits().max_connections_per_user;
    let Some(open) = state.streams.open(&user, max) else {
        state.app.relay.metrics().refused("api_streams_per_user");
        return Err(ApiError::TooManyStreams(max));
    };
    let task = state.clone();
    detached(&state, async move {
        let _open = open;
        match ui_stream {
            Some(target) => sse::run(task, user, expires_at, target, body).await,
            None => stream::run(task, user, expires_at, body).await,
        }
    })
    .await
}

async fn read_call<S: Storage>(
    state: &ApiState<S>,
    headers: &HeaderMap,
    body: Body,
) -> Result<request::Call, ApiError> {
    let limits = state.app.relay.limits();
    let bytes = request::read_body(
        headers,
        body,
        limits.max_request_body_bytes,
        limits.http_request_timeout,
    )
    .await?;
    request::parse_call(&bytes)
}
