//! Reading what JavaScript passes in: a JavaScript object is a [`Source`] for the model's readers
//! (`chatsync_model::input`), which the relay's HTTP API shares — so the browser and the relay accept
//! the same fields and refuse the same mistakes.
//!
//! Hand-written readers rather than serde: serde's derived deserializers, with a JSON value in
//! between to see every field, were 14 KB of the gzipped package for fourteen small argument
//! shapes.

use chatsync_model::input::{self, FromFields, InputError, Source};
use chatsync_model::{FieldKind, FieldValue, Json, Patch, PatchTarget};
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

    fn items(&self) -> Option<Vec<Self>> {
        // A message's `parts`.
        Array::is_array(&self.0).then(|| Array::from(&self.0).iter().map(Self).collect())
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

/// A patch of the preferences, the profile or a project from a JS object: each field read as the
/// model's table says ([`Patch::kind_of`]), so no field needs code here; `null` clears a field,
/// `undefined` leaves it (which the model's [`Source`] does not tell apart, hence not a reader of
/// `chatsync_model::input`); the model refuses unknown fields and bad values.
pub(crate) fn patch_from_js(target: PatchTarget, value: &JsValue) -> Result<Patch> {
    let object = Js(value.clone());
    if !object.is_object() {
        return Err(InputError::NotAnObject.into());
    }
    let mut patch = Patch::new(target);
    for name in object.keys() {
        let value = Reflect::get(value, &JsValue::from_str(&name)).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() {
            continue;
        }
        let value = Js(value);
        let (read, expected) = match patch.kind_of(&name) {
            // `set` refuses the unknown field with the model's error.
            _ if value.0.is_null() => (None, ""),
            None => (None, ""),
            Some(FieldKind::Bool) => (value.as_bool().map(FieldValue::Bool), "a boolean"),
            Some(FieldKind::Number | FieldKind::Count) => (
                value
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(n))
                    .map(|n| FieldValue::Number(n as u64)),
                "a non-negative integer",
            ),
            Some(FieldKind::Object) => (
                value
                    .is_object()
                    .then(|| value.to_json())
                    .flatten()
                    .map(FieldValue::Json),
                "an object",
            ),
            Some(_) => (value.as_string().map(FieldValue::Text), "a string"),
        };
        if read.is_none() && !expected.is_empty() {
            return Err(InputError::WrongType {
                field: name,
                expected,
            }
            .into());
        }
        patch.set(&name, read)?;
    }
    Ok(patch)
}

/// Largest integer a JS number (an IEEE double) holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
