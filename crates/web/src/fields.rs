//! Reading a plain JavaScript object field by field, for what JavaScript passes in.
//!
//! Hand-written readers rather than serde: serde's derived deserializers, with a JSON value in
//! between to see every field, were 14 KB of the gzipped package for fourteen small argument
//! shapes. Each field read is remembered, so [`Fields::finish`] refuses the ones nothing asked for:
//! a misspelt field is an `invalid_input` error, not a silent no-op.

use std::str::FromStr;

use chatsync_model::{FieldKind, FieldValue, Json, ModelError, Patch, PatchTarget};
use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Result, StoreError};

/// Largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A shape JavaScript passes in, read from an object's fields.
pub(crate) trait FromJs: Sized {
    /// Reads the fields this shape has.
    fn read(fields: &mut Fields) -> Result<Self>;
}

/// Reads `value`, which must be an object with no fields but `T`'s.
pub(crate) fn from_js<T: FromJs>(value: &JsValue) -> Result<T> {
    let mut fields = Fields::of(value)?;
    let read = T::read(&mut fields)?;
    fields.finish()?;
    Ok(read)
}

/// Like [`from_js`]; `undefined` and `null` read as `T::default()`.
pub(crate) fn from_js_or_default<T: FromJs + Default>(value: &JsValue) -> Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    from_js(value)
}

/// An object being read, and the names of the fields read so far.
pub(crate) struct Fields {
    object: Object,
    read: Vec<&'static str>,
}

impl Fields {
    fn of(value: &JsValue) -> Result<Self> {
        if !value.is_object() || Array::is_array(value) {
            return Err(invalid("expected an object".into()));
        }
        Ok(Self {
            object: value.clone().unchecked_into(),
            read: Vec::new(),
        })
    }

    /// Refuses any field no reader asked for.
    fn finish(self) -> Result<()> {
        for key in Object::keys(&self.object) {
            let key = key.as_string().unwrap_or_default();
            if !self.read.contains(&key.as_str()) {
                let expected = self.read.join("`, `");
                return Err(invalid(format!(
                    "unknown field `{key}`, expected one of `{expected}`"
                )));
            }
        }
        Ok(())
    }

    /// The field's value; `undefined` and `null` read as absent.
    fn get(&mut self, key: &'static str) -> Option<JsValue> {
        self.read.push(key);
        let value = Reflect::get(&self.object, &JsValue::from_str(key)).ok()?;
        (!value.is_undefined() && !value.is_null()).then_some(value)
    }

    /// An optional value of any type, for a field the caller reads itself.
    pub fn value(&mut self, key: &'static str) -> Option<JsValue> {
        self.get(key)
    }

    /// An optional string.
    pub fn string(&mut self, key: &'static str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| v.as_string().ok_or_else(|| wrong_type(key, "a string")))
            .transpose()
    }

    /// A string that must be there.
    pub fn required_string(&mut self, key: &'static str) -> Result<String> {
        self.string(key)?.ok_or_else(|| missing(key))
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| v.as_bool().ok_or_else(|| wrong_type(key, "a boolean")))
            .transpose()
    }

    /// A boolean that must be there.
    pub fn required_bool(&mut self, key: &'static str) -> Result<bool> {
        self.bool(key)?.ok_or_else(|| missing(key))
    }

    /// An optional number.
    pub fn number(&mut self, key: &'static str) -> Result<Option<f64>> {
        self.get(key)
            .map(|v| v.as_f64().ok_or_else(|| wrong_type(key, "a number")))
            .transpose()
    }

    /// An optional non-negative integer.
    pub fn uint(&mut self, key: &'static str) -> Result<Option<u64>> {
        self.number(key)?
            .map(|n| {
                if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n) {
                    Ok(n as u64)
                } else {
                    Err(wrong_type(key, "a non-negative integer"))
                }
            })
            .transpose()
    }

    /// A non-negative integer that must be there.
    pub fn required_uint(&mut self, key: &'static str) -> Result<u64> {
        self.uint(key)?.ok_or_else(|| missing(key))
    }

    /// An optional string naming one of a closed set (a role, a status).
    pub fn parsed<T: FromStr<Err = ModelError>>(&mut self, key: &'static str) -> Result<Option<T>> {
        self.string(key)?
            .map(|s| s.parse().map_err(StoreError::from))
            .transpose()
    }

    /// Like [`Self::parsed`], for a field that must be there.
    pub fn required_parsed<T: FromStr<Err = ModelError>>(
        &mut self,
        key: &'static str,
    ) -> Result<T> {
        self.parsed(key)?.ok_or_else(|| missing(key))
    }

    /// Any JSON value (metadata, tool input or output), as the browser's `JSON.stringify` writes it.
    pub fn json(&mut self, key: &'static str) -> Result<Option<Json>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        JSON::stringify(&value)
            .ok()
            .and_then(|text| text.as_string())
            .map(|text| Some(Json::from_text(text)))
            .ok_or_else(|| wrong_type(key, "plain JSON data"))
    }

    /// An optional nested object read as `T`, with no fields but `T`'s.
    pub fn nested<T: FromJs>(&mut self, key: &'static str) -> Result<Option<T>> {
        self.get(key)
            .map(|value| {
                from_js(&value).map_err(|e| match e {
                    StoreError::InvalidInput(why) => invalid(format!("`{key}`: {why}")),
                    other => other,
                })
            })
            .transpose()
    }
}

fn invalid(why: String) -> StoreError {
    StoreError::InvalidInput(why)
}

fn missing(key: &str) -> StoreError {
    invalid(format!("missing field `{key}`"))
}

fn wrong_type(key: &str, expected: &str) -> StoreError {
    invalid(format!("`{key}` must be {expected}"))
}

/// A patch of the preferences, the profile or a project from a JS object: each field read as the
/// model's table says ([`Patch::kind_of`]), so no field needs code here; `null` clears a field,
/// `undefined` leaves it; the model refuses unknown fields and bad values.
pub(crate) fn patch_from_js(target: PatchTarget, value: &JsValue) -> Result<Patch> {
    let fields = Fields::of(value)?;
    let mut patch = Patch::new(target);
    for key in Object::keys(&fields.object) {
        let name = key.as_string().unwrap_or_default();
        let value = Reflect::get(&fields.object, &key).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() {
            continue;
        }
        let read = match patch.kind_of(&name) {
            _ if value.is_null() => None,
            // `set` refuses the unknown field with the model's error.
            None => None,
            Some(FieldKind::Bool) => Some(FieldValue::Bool(
                value
                    .as_bool()
                    .ok_or_else(|| wrong_type(&name, "a boolean"))?,
            )),
            Some(FieldKind::Number | FieldKind::Count) => Some(FieldValue::Number(
                value
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(n))
                    .ok_or_else(|| wrong_type(&name, "a non-negative integer"))?
                    as u64,
            )),
            Some(FieldKind::Object) if value.is_object() && !Array::is_array(&value) => {
                let text = JSON::stringify(&value).ok().and_then(|t| t.as_string());
                let text = text.ok_or_else(|| wrong_type(&name, "plain JSON data"))?;
                Some(FieldValue::Json(Json::from_text(text)))
            }
            Some(FieldKind::Object) => return Err(wrong_type(&name, "an object")),
            Some(_) => Some(FieldValue::Text(
                value
                    .as_string()
                    .ok_or_else(|| wrong_type(&name, "a string"))?,
            )),
        };
        patch.set(&name, read)?;
    }
    Ok(patch)
}
