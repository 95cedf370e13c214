//! Reading what JavaScript passes in: a JavaScript object is a [`Source`] for the model's readers
//! (`chatsync_model::input`), which the relay's HTTP API shares — so the browser and the relay accept
//! the same fields and refuse the same mistakes.
//!
//! Hand-written readers rather than serde: serde's derived deserializers, with a JSON value in
//! between to see every field, were 14 KB of the gzipped package for fourteen small argument
//! shapes.

use chatsync_model::Json;
use chatsync_model::input::{self, FromFields, InputError, Source};
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Result, StoreError};

/// A value JavaScript passed in, as the model's readers see it.
pub(crate) struct Js(pub JsValue);

impl Source for Js {
    fn field(&self, key: &str) -> Option<Self> {
        let value = Reflect::get(&self.0, &JsValue::from_str(key)).ok()?;
        (!value.is_undefined() && !value.is_null()).then_some(Self(value))
    }

    fn keys(&self) -> Vec<String> {
        match self.0.dyn_ref::<Object>() {
            Some(object) => Object::keys(object)
                .iter()
                .map(|key| key.as_string().unwrap_or_default())
                .collect(),
            None => Vec::new(),
        }
    }

    fn is_object(&self) -> bool {
        self.0.is_object() && !Array::is_array(&self.0)
    }

    fn as_string(&self) -> Option<String> {
        self.0.as_string()
    }

    fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }

    fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }

    fn to_json(&self) -> Option<Json> {
        // Any JSON value (metadata, tool input or output), as the browser's `JSON.stringify` writes it.
        JSON::stringify(&self.0)
            .ok()
            .and_then(|text| text.as_string())
            .map(Json::from_text)
    }
}

impl From<InputError> for StoreError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Value(model) => Self::Model(model),
            other => Self::InvalidInput(other.to_string()),
        }
    }
}

/// Reads `value`, which must be an object with no fields but `T`'s.
pub(crate) fn from_js<T: FromFields>(value: &JsValue) -> Result<T> {
    Ok(input::read(&Js(value.clone()))?)
}

/// Like [`from_js`]; `undefined` and `null` read as `T::default()`.
pub(crate) fn from_js_or_default<T: FromFields + Default>(value: &JsValue) -> Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    from_js(value)
}
