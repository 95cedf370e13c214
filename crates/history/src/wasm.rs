//! The module's JS API (`pkg/history`, which the package's `thread.history()` and the rest load on
//! first use): plain functions of a thread's id and Automerge bytes (`thread.save()`), each reading
//! the document afresh — the package keeps no copy of it, so nothing here can go stale. Errors are
//! `Error`s with the store's `code`s.

use automerge::ActorId;
use chatsync_model::ThreadId;
use chatsync_model::view_json::to_json_text;
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::{History, HistoryError, RestoreTarget, Version};

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn error(e: HistoryError) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &"code".into(), &e.code().into());
    error.into()
}

fn load(id: &str, bytes: &[u8]) -> Result<History, JsValue> {
    let id = ThreadId::new(id).map_err(|e| error(e.into()))?;
    History::load(id, bytes).map_err(error)
}

/// The thread's versions, oldest first: `{ version, at, kind, summary }`.
#[wasm_bindgen]
pub fn versions(id: &str, bytes: &[u8]) -> Result<Array, JsValue> {
    let mut history = load(id, bytes)?;
    let list = Array::new();
    for v in history.versions() {
        let entry = Object::new();
        // Setting properties on a fresh plain object cannot fail.
        let _ = Reflect::set(&entry, &"version".into(), &v.version.to_string().into());
        let _ = Reflect::set(&entry, &"at".into(), &JsValue::from_f64(v.at as f64));
        let _ = Reflect::set(&entry, &"kind".into(), &v.kind.as_str().into());
        let _ = Reflect::set(&entry, &"summary".into(), &v.summary.as_str().into());
        list.push(&entry);
    }
    Ok(list)
}

/// The thread's view at `version`, as `thread.view()` gives it now.
#[wasm_bindgen(js_name = viewAt)]
pub fn view_at(id: &str, bytes: &[u8], version: &str) -> Result<JsValue, JsValue> {
    let version = Version::parse(version).map_err(error)?;
    let view = load(id, bytes)?.view_at(&version).map_err(error)?;
    JSON::parse(&to_json_text(&view, &|text| JSON::parse(text).is_ok()))
}

/// The change that restores `version` (the whole thread, or the message `message_id`), by `actor`
/// at `now`; `undefined` when nothing differs.
#[wasm_bindgen]
pub fn restore(
    id: &str,
    bytes: &[u8],
    version: &str,
    message_id: Option<String>,
    actor: &[u8],
    now: f64,
) -> Result<Option<Vec<u8>>, JsValue> {
    let version = Version::parse(version).map_err(error)?;
    let target = message_id.map_or(RestoreTarget::Thread, RestoreTarget::Message);
    load(id, bytes)?
        .restore(&version, target, ActorId::from(actor), now as u64)
        .map_err(error)
}

/// The change that undoes the last edit of the device whose actors start with `device`, by `actor`
/// at `now`; `undefined` when there is none.
#[wasm_bindgen]
pub fn undo(
    id: &str,
    bytes: &[u8],
    device: &[u8],
    actor: &[u8],
    now: f64,
) -> Result<Option<Vec<u8>>, JsValue> {
    load(id, bytes)?
        .undo(device, ActorId::from(actor), now as u64)
        .map_err(error)
}
