//! What the package hands to JavaScript: views as JSON text for the browser's `JSON.parse` (one call
//! instead of one per field), and the few small objects (events, status) built directly.

use chatsync_model::view_json::{WriteJson, to_json_text};
use js_sys::{JSON, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::error::{Result, StoreError};

/// A view, a summary or a list of them, as plain JS objects. A stored JSON value (metadata, tool
/// input or output) that `JSON.parse` refuses, because a foreign peer wrote it, arrives as a string:
/// each is parsed once on its own to tell, which costs little (few messages carry one) and keeps one
/// bad value from failing the whole view.
pub(crate) fn to_js<T: WriteJson + ?Sized>(value: &T) -> Result<JsValue> {
    let text = to_json_text(value, &|text| JSON::parse(text).is_ok());
    JSON::parse(&text)
        .map_err(|_| StoreError::Storage("could not convert a view: JSON.parse refused it".into()))
}

/// A plain JS object with these entries.
pub(crate) fn js_object(entries: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in entries {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// A count or a time in milliseconds as a JS number (wasm-bindgen would make a `u64` a BigInt).
pub(crate) fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}
