//! The one error type of the HTTP API: a status, a stable code and a plain message, always answered
//! as `{ "code", "message" }`. Internal details are logged, never sent.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chatsync_model::ModelError;
use chatsync_model::input::InputError;

use crate::relay::LocalWriteError;

/// Why an API request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Malformed JSON, an unknown path, a missing, unknown or mistyped field, an invalid value.
    #[error("{0}")]
    InvalidInput(String),
    /// No token, or one that does not verify.
    #[error(
        "a valid token is required (Authorization: Bearer <token>; /sync takes it as `?token=`)"
    )]
    Unauthorized,
    /// A share link that is not one this relay signed (401 `unauthorized`).
    #[error("{0}")]
    BadLink(String),
    /// The identity provider's signing keys cannot be fetched right now: the token may be fine.
    #[error("the identity provider's signing keys cannot be fetched right now; try again")]
    AuthUnavailable,
    /// The caller may see the thing but not do this to it: a write to a thread shared with them
    /// read-only, sharing a thread that is not theirs, a share link revoked or expired (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing for this user: a document that is absent and one that is another user's get
    /// this same answer.
    #[error("{0}")]
    NotFound(String),
    /// A repeated create with the same id but other content.
    #[error("{0}")]
    AlreadyExists(String),
    /// Not allowed in the current state (finishing a finished message, …).
    #[error("{0}")]
    InvalidTransition(String),
    /// The thread was purged: its id is a tombstone that refuses every write (410).
    #[error("{0}")]
    Purged(String),
    /// The document comes from a newer schema and is read-only here.
    #[error("{0}")]
    ReadOnlySchema(String),
    /// The body, a line of a stream, a field, or the document is over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// The user's request budget is spent for now.
    #[error("more than {per_second} API requests per second for this user; retry shortly")]
    RateLimited {
        /// The budget.
        per_second: u32,
        /// When a request will be accepted again.
        retry_after: Duration,
    },
    /// The user already has as many `/api/stream` requests open as a user may have connections.
    #[error("{0} streams are already open for this user; finish one first")]
    TooManyStreams(usize),
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {} s", .0.as_secs())]
    Timeout(Duration),
    /// Storage failed; nothing was changed.
    #[error("storage unavailable; nothing was changed, retry later")]
    Storage,
    /// The relay's database does not answer (`/readyz`): a load balancer should send clients to
    /// another relay.
    #[error("the relay's database is unreachable; writes are refused until it is back")]
    StorageUnavailable,
    /// A memory budget is spent; retry later.
    #[error("{0}")]
    Busy(String),
    /// A stored document is damaged, or something failed that is not the caller's doing.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::BadLink(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::AlreadyExists(_) | Self::InvalidTransition(_) | Self::ReadOnlySchema(_) => {
                StatusCode::CONFLICT
            }
            Self::Purged(_) => StatusCode::GONE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } | Self::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Storage | Self::StorageUnavailable | Self::Busy(_) | Self::AuthUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "invalid_input",
            Self::Unauthorized | Self::BadLink(_) => "unauthorized",
            Self::AuthUnavailable => "auth_unavailable",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::AlreadyExists(_) => "already_exists",
            Self::InvalidTransition(_) => "invalid_transition",
            Self::ReadOnlySchema(_) => "read_only_schema",
            Self::Purged(_) => "purged",
            Self::TooLarge(_) => "too_large",
            Self::RateLimited { .. } | Self::TooManyStreams(_) => "rate_limited",
            Self::Timeout(_) => "timeout",
            Self::Storage => "storage",
            Self::StorageUnavailable => "storage_unavailable",
            Self::Busy(_) => "busy",
            Self::Internal => "internal",
        }
    }

    /// 401 `unauthorized` for a token that is not good, or 503 `auth_unavailable` when the
    /// identity provider's keys cannot be fetched.
    pub fn refused(error: &crate::auth::AuthError) -> Self {
        if error.is_unavailable() {
            Self::AuthUnavailable
        } else {
            Self::Unauthorized
        }
    }

    /// The answer for a thread that is absent, deleted or another user's: one text for all three.
    pub fn thread_not_found() -> Self {
        Self::NotFound("thread not found".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        let mut response = (self.status_code(), Json(body)).into_response();
        if let Self::RateLimited { retry_after, .. } = self {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        let message = e.to_string();
        match e {
            ModelError::NotFound { .. } => Self::NotFound(message),
            ModelError::AlreadyExists { .. } => Self::AlreadyExists(message),
            ModelError::InvalidTransition { .. } => Self::InvalidTransition(message),
            ModelError::ReadOnlySchema { .. } => Self::ReadOnlySchema(message),
            ModelError::Purged { .. } => Self::Purged(message),
            ModelError::TooLarge { .. } => Self::TooLarge(message),
            ModelError::Malformed { .. } | ModelError::Automerge(_) => {
                tracing::error!(error = %message, "a stored thread is damaged");
                Self::Internal
            }
            _ => Self::InvalidInput(message),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Value(model) => model.into(),
            other => Self::InvalidInput(other.to_string()),
        }
    }
}

impl From<LocalWriteError> for ApiError {
    fn from(e: LocalWriteError) -> Self {
        match e {
            LocalWriteError::NotFound => Self::thread_not_found(),
            LocalWriteError::ReadOnly => Self::Forbidden(
                "the thread is shared with you read-only: writes are refused".into(),
            ),
            LocalWriteError::Purged => Self::Purged("the thread was purged".into()),
            LocalWriteError::TooLarge { .. } => Self::TooLarge(e.to_string()),
            LocalWriteError::Busy(why) => Self::Busy(why),
            LocalWriteError::Storage => Self::Storage,
            LocalWriteError::NotConfirmed { .. } => Self::Busy(e.to_string()),
            LocalWriteError::Internal(why) => {
                tracing::error!(error = %why, "a local write failed");
                Self::Internal
            }
        }
    }
}
