//! What JavaScript passes in. The argument shapes of `types.ts` are the model's
//! (`chatsync_model::input`, shared with the relay's HTTP API); only the store's own options are read
//! here, since one of them is a function, and the fields only the browser has (`localOnly`, a list's
//! `projectId` and `trashed`), read after the model's shape from the same object.

use chatsync_model::input::{
    ApprovalRequestInput, Fields, FromFields, InputError, ListInput, Source, ThreadInitInput,
    ToolCallStartInput,
};
use chatsync_model::{ThreadSettings, ToolCallOptions};
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

/// `createThread`'s argument: the model's [`ThreadInitInput`] and `localOnly`.
#[derive(Debug, Default)]
pub(crate) struct NewThread {
    pub init: ThreadInitInput,
    /// `None`: the preferences' model and system prompt.
    pub settings: Option<ThreadSettings>,
    /// `None`: as the preferences' `saveConversationHistory` says.
    pub local_only: Option<bool>,
}

impl FromFields for NewThread {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        let given = f.has("settings");
        let mut init = ThreadInitInput::read(f)?;
        Ok(Self {
            settings: given.then(|| std::mem::take(&mut init.settings)),
            init,
            local_only: f.bool("localOnly")?,
        })
    }
}

/// `listThreads`' argument: the model's [`ListInput`], one project's threads, or the trash.
#[derive(Debug, Default)]
pub(crate) struct ThreadList {
    pub list: ListInput,
    pub project_id: Option<String>,
    pub trashed: bool,
}

impl FromFields for ThreadList {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            list: ListInput::read(f)?,
            project_id: f.string("projectId")?,
            trashed: f.bool("trashed")?.unwrap_or(false),
        })
    }
}

/// `appendDelta`'s options: `part`, the id of the text or reasoning part the text goes into.
#[derive(Debug, Default)]
pub(crate) struct DeltaOptions {
    pub part: Option<String>,
}

impl FromFields for DeltaOptions {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            part: f.string("part")?,
        })
    }
}

/// `startToolCall`'s argument: the model's [`ToolCallStartInput`], `dynamic` and `inputStreaming`
/// (the fields the relay's `toolCalls:start` reads beside it).
#[derive(Debug)]
pub(crate) struct ToolCallStartArgs {
    pub call: ToolCallStartInput,
    pub options: ToolCallOptions,
}

impl FromFields for ToolCallStartArgs {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            call: ToolCallStartInput::read(f)?,
            options: ToolCallOptions {
                dynamic: f.bool("dynamic")?.unwrap_or(false),
                input_streaming: f.bool("inputStreaming")?.unwrap_or(false),
            },
        })
    }
}

/// `requestApproval`'s argument: the model's [`ApprovalRequestInput`] and `toolCallId`, the tool
/// call it approves (as the relay's `approvals:request` reads it).
#[derive(Debug)]
pub(crate) struct ApprovalRequestArgs {
    pub request: ApprovalRequestInput,
    pub tool_call_id: Option<String>,
}

impl FromFields for ApprovalRequestArgs {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            request: ApprovalRequestInput::read(f)?,
            tool_call_id: f.string("toolCallId")?,
        })
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
