//! Finding the user's index document: the relay's `GET /api/me` says which document every device of
//! this user shares as its thread list.

use chatsync_protocol::DocumentId;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::error::{Result, StoreError};
use crate::inner::RelayConfig;
use crate::util::within;

/// How long opening a store waits for the relay before carrying on with a local index.
const ME_TIMEOUT_MS: u32 = 3_000;

/// [`index_id`] with the token the store's source gives; when it is refused, the source is asked once
/// more (a token function may have a fresh one), and only a token refused again is unauthorized.
pub(crate) async fn index_id_for(relay: &RelayConfig) -> Result<Option<DocumentId>> {
    let token = relay.tokens.get().await?;
    match index_id(&relay.urls, token.as_deref()).await {
        Err(StoreError::Unauthorized) => {
            let fresh = relay.tokens.get().await?;
            if fresh == token {
                return Err(StoreError::Unauthorized);
            }
            index_id(&relay.urls, fresh.as_deref()).await
        }
        other => other,
    }
}

/// The index document id the relays assign this user, from the first of them that says: one that is
/// down says nothing, and every relay of one database answers every user the same way. `Ok(None)`
/// when none can say (unreachable, or plain automerge-repo sync servers without the API),
/// `Err(Unauthorized)` when one refuses the token.
pub(crate) async fn index_id(
    relay_urls: &[String],
    token: Option<&str>,
) -> Result<Option<DocumentId>> {
    let Some(window) = web_sys::window() else {
        return Ok(None);
    };
    if !window.navigator().on_line() {
        return Ok(None);
    }
    for relay_url in relay_urls {
        let Some(url) = me_url(relay_url, token) else {
            continue;
        };
        let fetch = JsFuture::from(window.fetch_with_str(&url));
        let Some(response) = within(ME_TIMEOUT_MS, fetch).await else {
            continue;
        };
        let Ok(response) = response.and_then(|r| r.dyn_into::<Response>()) else {
            continue;
        };
        match response.status() {
            200 => {}
            401 | 403 => return Err(StoreError::Unauthorized),
            _ => continue,
        }
        let Ok(body) = response.json() else {
            continue;
        };
        let Ok(body) = JsFuture::from(body).await else {
            continue;
        };
        let id = js_sys::Reflect::get(&body, &"indexDocumentId".into())
            .ok()
            .and_then(|v| v.as_string())
            .and_then(|v| v.parse().ok());
        if id.is_some() {
            return Ok(id);
        }
    }
    Ok(None)
}

/// The HTTP API beside the sync endpoint: the sync URL's last path segment (`sync`) replaced by
/// `api/me`, so a relay mounted under a prefix works — `ws://host/sync?x` → `http://host/api/me`,
/// `wss://host/chat/sync` → `https://host/chat/api/me`, `ws://host` → `http://host/api/me` — with the
/// token as the `token` query parameter.
fn me_url(relay_url: &str, token: Option<&str>) -> Option<String> {
    let (scheme, rest) = relay_url.split_once("://")?;
    let http = match scheme {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let rest = rest.split(['?', '#']).next()?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    // What stays of the path: everything up to and including its last `/`.
    let prefix = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let token = js_sys::encode_uri_component(token.unwrap_or_default());
    Some(format!("{http}://{host}/{prefix}api/me?token={token}"))
}
