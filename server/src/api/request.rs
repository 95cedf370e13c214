//! What every API request goes through before its path runs: the bearer token, the user's request
//! budget, a body bounded in size and in time, and the `{ "path", "args" }` envelope.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use chatsync_model::input::Fields;
use futures_util::StreamExt;
use serde_json::Value;

use super::ApiState;
use super::error::ApiError;
use crate::storage::Storage;

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The user the request's token names, once their request budget allows one more request. A JWKS
/// refetch the token needs (a rotated key) is awaited, bounded, as on `/sync` and `/api/me`; a
/// provider that is down is 503 `auth_unavailable`, not 401.
pub(crate) async fn caller<S: Storage>(
    state: &ApiState<S>,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    Ok(verified_caller(state, headers).await?.user)
}

/// [`caller`], with when the token expires (a stream stops taking lines then).
pub(crate) async fn verified_caller<S: Storage>(
    state: &ApiState<S>,
    headers: &HeaderMap,
) -> Result<crate::auth::Verified, ApiError> {
    let verified = state
        .app
        .relay
        .auth()
        .authenticate(bearer(headers))
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "refused an API request");
            ApiError::refused(&e)
        })?;
    state
        .rate
        .take(&verified.user, Instant::now())
        .map_err(|retry_after| {
            state.app.relay.metrics().refused("api_rate_limited");
            ApiError::RateLimited {
                per_second: state.rate.per_second(),
                retry_after,
            }
        })?;
    Ok(verified)
}

/// The whole body, refused beyond `limit` bytes (at once when `Content-Length` says so) or when it
/// has not arrived within `timeout`.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::TooLarge(format!("the request body is over {limit} bytes"));
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::InvalidInput("the request body broke off before its end".into())
            })?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ApiError::Timeout(timeout))?
}

/// A parsed `{ "path", "args" }` body.
#[derive(Debug)]
pub(crate) struct Call {
    /// The path (`threads:create`, …).
    pub path: String,
    /// Its arguments: an object (`{}` when omitted).
    pub args: Value,
}

/// Parses the envelope of a mutation or query.
pub(crate) fn parse_call(bytes: &[u8]) -> Result<Call, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::InvalidInput(format!("the body is not valid JSON: {e}")))?;
    let source = &value;
    let mut fields = Fields::of(&source)
        .map_err(|_| ApiError::InvalidInput("the body must be a JSON object".into()))?;
    let path = fields.required_string("path")?;
    let args = fields
        .value("args")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    fields.finish()?;
    if !args.is_object() {
        return Err(ApiError::InvalidInput("`args` must be an object".into()));
    }
    Ok(Call { path, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_names_what_is_wrong() {
        let call = parse_call(br#"{"path":"threads:list"}"#).unwrap();
        assert_eq!(
            (call.path.as_str(), call.args),
            ("threads:list", serde_json::json!({}))
        );
        for (body, needle) in [
            (&br#"{"path":"x","args":{}"#[..], "not valid JSON"),
            (br#"[]"#, "JSON object"),
            (br#"{"args":{}}"#, "missing field `path`"),
            (br#"{"path":1}"#, "`path` must be a string"),
            (br#"{"path":"x","args":[]}"#, "`args` must be an object"),
            (br#"{"path":"x","extra":1}"#, "unknown field `extra`"),
        ] {
            let err = parse_call(body).unwrap_err();
            assert_eq!(err.code(), "invalid_input");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
