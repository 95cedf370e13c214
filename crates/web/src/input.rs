//! What JavaScript passes in. The argument shapes of `types.ts` are the model's
//! (`chatsync_model::input`, shared with the relay's HTTP API); only the store's own options are read
//! here, since one of them is a function.

use chatsync_model::input::Fields;
use wasm_bindgen::JsValue;

use crate::error::{Result, StoreError};
use crate::fields::Js;
pub(crate) use crate::fields::{from_js, from_js_or_default};
use crate::token::TokenSource;
use crate::util::random_hex;

/// A fresh id for a message, artifact, tool call or approval: 128 random bits.
pub(crate) fn new_id() -> String {
    random_hex(16)
}

/// `ChatStore.open`'s options.
#[derive(Debug, Default)]
pub(crate) struct StoreOptions {
    pub db_name: Option<String>,
    /// `relayUrl`, then each of `relayUrls` not already named: the relays tried in turn. Empty for
    /// a local-only store.
    pub relay_urls: Vec<String>,
    pub token: TokenSource,
}

impl StoreOptions {
    /// Reads the options; `undefined` and `null` are the defaults.
    pub(crate) fn from_js(value: &JsValue) -> Result<Self> {
        if value.is_undefined() || value.is_null() {
            return Ok(Self::default());
        }
        let value = Js(value.clone());
        let mut f = Fields::of(&value).map_err(StoreError::from)?;
        let mut relay_urls = Vec::new();
        if let Some(url) = f.string("relayUrl").map_err(StoreError::from)? {
            relay_urls.push(url);
        }
        add_urls(&mut relay_urls, f.value("relayUrls"))?;
        let options = Self {
            db_name: f.string("dbName").map_err(StoreError::from)?,
            relay_urls,
            token: TokenSource::from_js(f.value("token").map(|v| v.0))?,
        };
        f.finish().map_err(StoreError::from)?;
        Ok(options)
    }
}

/// `relayUrls`, an array of strings (several relays on one database, tried in turn), added to
/// `urls` where not already in it.
fn add_urls(urls: &mut Vec<String>, list: Option<Js>) -> Result<()> {
    let Some(Js(list)) = list else {
        return Ok(());
    };
    let invalid = || StoreError::InvalidInput("relayUrls must be an array of strings".into());
    if !js_sys::Array::is_array(&list) {
        return Err(invalid());
    }
    for url in js_sys::Array::from(&list) {
        let url = url.as_string().ok_or_else(invalid)?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    Ok(())
}
