//! Finding the user's index document: the relay's `GET /api/me` says which document every device of
//! this user shares as its thread list.

use chatsync_protocol::DocumentId;
use futures_util::{FutureExt, select};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::error::{Result, StoreError};
use crate::inner::RelayConfig;

/// How long opening a store waits for the relay before carrying on with a local index.
const ME_TIMEOUT_MS: u32 = 3_000;

/// The index document id the relay assigns this user: `Ok(None)` when the relay cannot say (it is
/// unreachable, or a plain automerge-repo sync server without the API), `Err(Unauthorized)` when it
/// refuses the token.
pub(crate) async fn index_id(relay: &RelayConfig) -> Result<Option<DocumentId>> {
    let Some(window) = web_sys::window() else {
        return Ok(None);
    };
    if !window.navigator().on_line() {
        return Ok(None);
    }
    let Some(url) = me_url(relay) else {
        return Ok(None);
    };
    let fetch = JsFuture::from(window.fetch_with_str(&url)).fuse();
    let timeout = TimeoutFuture::new(ME_TIMEOUT_MS).fuse();
    futures_util::pin_mut!(fetch, timeout);
    let response = select! {
        response = fetch => response,
        () = timeout => return Ok(None),
    };
    let Ok(response) = response.and_then(|r| r.dyn_into::<Response>()) else {
        return Ok(None);
    };
    match response.status() {
        200 => {}
        401 | 403 => return Err(StoreError::Unauthorized),
        _ => return Ok(None),
    }
    let Ok(body) = response.json() else {
        return Ok(None);
    };
    let Ok(body) = JsFuture::from(body).await else {
        return Ok(None);
    };
    let id = js_sys::Reflect::get(&body, &"indexDocumentId".into())
        .ok()
        .and_then(|v| v.as_string())
        .and_then(|v| v.parse().ok());
    Ok(id)
}

/// `ws://host/sync?x` → `http://host/api/me?token=…`.
fn me_url(relay: &RelayConfig) -> Option<String> {
    let (scheme, rest) = relay.url.split_once("://")?;
    let http = match scheme {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let host = rest.split(['/', '?', '#']).next()?;
    let token = relay.token.as_deref().unwrap_or_default();
    let token = js_sys::encode_uri_component(token);
    Some(format!("{http}://{host}/api/me?token={token}"))
}
