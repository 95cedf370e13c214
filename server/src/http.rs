//! The HTTP surface: `GET /sync` (the WebSocket), `/healthz`, `/readyz`, `/metrics`, `/api/*`, and optionally a
//! folder of static files (the demo app). The router is a function of the state, so tests can call it
//! without a socket.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::api::error::ApiError;
use crate::auth::{Auth, Verified};

use crate::relay::{Frame, Inbound, Relay, serve_verified_connection};
use crate::storage::Storage;

/// What every handler shares.
pub struct AppState<S> {
    /// The relay.
    pub relay: Arc<Relay<S>>,
    /// Fires on shutdown: connections close with 1001.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks, so shutdown can wait for in-flight writes.
    pub connections: TaskTracker,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            relay: self.relay.clone(),
            shutdown: self.shutdown.clone(),
            connections: self.connections.clone(),
        }
    }
}

/// The relay's routes, `/metrics` included.
pub fn app<S: Storage>(state: AppState<S>) -> Router {
    app_with(
        state,
        AppOptions {
            web_dir: None,
            metrics: true,
        },
    )
}

/// [`app`], serving the files of `web_dir` at every path the API does not use.
pub fn app_with_web<S: Storage>(state: AppState<S>, web_dir: Option<&Path>) -> Router {
    app_with(
        state,
        AppOptions {
            web_dir,
            metrics: true,
        },
    )
}

/// What the main router serves beside sync and the API.
#[derive(Clone, Copy, Debug)]
pub struct AppOptions<'a> {
    /// Static files (the demo app) to serve at every path the API does not use.
    pub web_dir: Option<&'a Path>,
    /// Whether to serve `/metrics` (not when it has a listener of its own).
    pub metrics: bool,
}

/// The relay's routes as `options` say. Every request is bounded: its body in size and the whole
/// request in time (a body trickling in must not hold a connection).
pub fn app_with<S: Storage>(state: AppState<S>, options: AppOptions<'_>) -> Router {
    let limits = state.relay.limits().clone();
    let mut router = Router::new()
        .route("/sync", get(sync::<S>))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz::<S>))
        // Browsers call this one from the app's own origin, which need not be the relay's (a dev
        // server, a test page). It is authenticated by bearer token, never by cookie, so any origin
        // may read it.
        .route(
            "/api/me",
            get(me::<S>).layer(
                CorsLayer::new()
                    .allow_origin(Any)
                    .allow_methods([Method::GET])
                    .allow_headers([AUTHORIZATION]),
            ),
        )
        .route("/api/auth-mode", get(auth_mode::<S>))
        .route("/api/dev-login", get(dev_login::<S>));
    if options.metrics {
        router = router.route("/metrics", get(metrics::<S>));
    }
    let api = crate::api::routes(state.clone());
    let router = router.with_state(state);
    let router = match options.web_dir {
        // `file.br` or `file.gz` beside `file` is sent to clients that accept brotli or gzip
        // (build-app.sh writes both).
        Some(dir) => {
            router.fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
        }
        None => router,
    };
    // The API bounds its bodies and their time itself (a streamed reply outlives a request's bound).
    bounded(router, &limits).merge(api)
}

/// Only `/metrics` (and `/healthz`), for a listener of their own.
pub fn metrics_app<S: Storage>(state: AppState<S>) -> Router {
    let limits = state.relay.limits().clone();
    let router = Router::new()
        .route("/metrics", get(metrics::<S>))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz::<S>))
        .with_state(state);
    bounded(router, &limits)
}

/// Bounds every request of `router` (its fallback included) in body size and in time.
fn bounded(router: Router, limits: &crate::relay::Limits) -> Router {
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.http_request_timeout,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.http_request_timeout))
        .layer(RequestBodyLimitLayer::new(limits.max_request_body_bytes))
}

/// How this relay checks tokens, so a sign-in page can offer the development login only where it works.
async fn auth_mode<S: Storage>(State(state): State<AppState<S>>) -> Json<serde_json::Value> {
    let mode = match state.relay.auth() {
        Auth::InsecureDev => "development",
        _ => "jwt",
    };
    Json(serde_json::json!({ "mode": mode }))
}

#[derive(Deserialize)]
struct DevLoginQuery {
    user: Option<String>,
}

/// With development auth only: the token for a user id (which is the user id). A relay with real auth
/// answers 404, exactly as if the route did not exist.
async fn dev_login<S: Storage>(
    State(state): State<AppState<S>>,
    Query(query): Query<DevLoginQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !matches!(state.relay.auth(), Auth::InsecureDev) {
        return Err(ApiError::NotFound("no such route".into()));
    }
    let user = query.user.unwrap_or_default();
    let user = user.trim();
    if user.is_empty() || user.len() > 128 || user.chars().any(char::is_control) {
        return Err(ApiError::InvalidInput(
            "`user` must be 1 to 128 printable characters".into(),
        ));
    }
    tracing::info!(user, "development login");
    Ok(Json(serde_json::json!({ "token": user, "userId": user })))
}

#[derive(Deserialize)]
struct SyncQuery {
    token: Option<String>,
}

/// The WebSocket read buffer, allocated up front for every connection. tungstenite's default is
/// 128 KiB, which made each idle joined connection cost 142.5 KB of relay memory; sync messages of a
/// streaming reply are a few hundred bytes, and a bigger frame grows the buffer as it arrives (up to
/// `max_frame_bytes`).
const WS_READ_BUFFER_BYTES: usize = 4 << 10;

/// How much the WebSocket writer collects before writing to the socket. The connection flushes
/// after every frame anyway, so this only sizes the first write; bigger frames are written whole.
const WS_WRITE_BUFFER_BYTES: usize = 4 << 10;

async fn sync<S: Storage>(
    State(state): State<AppState<S>>,
    Query(query): Query<SyncQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let verified = match query.token.as_deref() {
        // A share link syncs its one thread, read-only, until it expires or is revoked.
        Some(token) if token.starts_with(crate::relay::SHARE_LINK_PREFIX) => state
            .relay
            .verify_link_for_sync(token)
            .await
            .map_err(crate::api::link_refused)?,
        token => state.relay.auth().authenticate(token).await.map_err(|e| {
            tracing::warn!(error = %e, "refused a /sync connection");
            ApiError::refused(&e)
        })?,
    };
    let max = state.relay.limits().max_frame_bytes;
    Ok(upgrade
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(WS_WRITE_BUFFER_BYTES)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            let AppState {
                relay,
                shutdown,
                connections,
            } = state;
            connections.track_future(run_socket(relay, verified, socket, shutdown))
        }))
}

async fn run_socket<S: Storage>(
    relay: Arc<Relay<S>>,
    verified: Verified,
    socket: WebSocket,
    shutdown: CancellationToken,
) {
    let (sink, stream) = socket.split();
    let inbound = Box::pin(stream.filter_map(|frame| async move {
        match frame {
            // `Vec::from` takes the buffer over when nothing else shares it, instead of copying.
            Ok(WsMessage::Binary(bytes)) => Some(Inbound::Binary(Vec::from(bytes))),
            Ok(WsMessage::Text(_)) => Some(Inbound::Text),
            Ok(WsMessage::Close(_)) => Some(Inbound::Closed),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => Some(Inbound::Keepalive),
            Err(e) => Some(Inbound::Error(e.to_string())),
        }
    }));
    let outbound = Box::pin(sink.with(|frame: Frame| async move {
        Ok::<_, axum::Error>(match frame {
            Frame::Binary(bytes) => WsMessage::Binary(bytes.into()),
            Frame::Ping(bytes) => WsMessage::Ping(bytes.into()),
            Frame::Close { code, reason } => WsMessage::Close(Some(CloseFrame {
                code,
                // A close reason may hold at most 123 bytes.
                reason: truncate(&reason, 123).into(),
            })),
        })
    }));
    serve_verified_connection(relay, verified, inbound, outbound, shutdown).await;
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Who the token names, and where their thread list lives.
async fn me<S: Storage>(
    State(state): State<AppState<S>>,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user = authenticate(&state, bearer.or(query.token.as_deref()))
        .await?
        .user;
    Ok(Json(serde_json::json!({
        "userId": user,
        "indexDocumentId": state.relay.index_document_id(&user).to_string(),
    })))
}

/// The token's user, for a request that may carry it as a bearer token or a query parameter.
/// A JWKS refetch it needs is awaited here (bounded), never on another user's request.
pub(crate) async fn authenticate<S: Storage>(
    state: &AppState<S>,
    token: Option<&str>,
) -> Result<Verified, ApiError> {
    state.relay.auth().authenticate(token).await.map_err(|e| {
        tracing::warn!(error = %e, "refused a request");
        ApiError::refused(&e)
    })
}

/// Whether this relay can serve: 200 while its database answers, 503 while it does not (a load
/// balancer then sends clients to another relay). `/healthz` only says the process is up.
async fn readyz<S: Storage>(State(state): State<AppState<S>>) -> Result<&'static str, ApiError> {
    match state.relay.storage().ready().await {
        Ok(()) => Ok("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: storage unavailable");
            Err(ApiError::StorageUnavailable)
        }
    }
}

/// Served from in-memory counters only: a scrape never touches storage.
async fn metrics<S: Storage>(State(state): State<AppState<S>>) -> String {
    state.relay.metrics().render()
}
