//! JSON values (message metadata, tool input and output, context values), which the model stores and
//! returns without looking inside.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Limits, ModelError};

/// A JSON value, kept as its JSON text.
///
/// The document stores these as text: nobody co-edits them, and a string keeps arbitrary JSON (arrays,
/// nulls, big numbers) exact. The model passes the text through, so it needs no JSON parser of its own:
/// the browser package hands it to the browser's `JSON.parse`, and native code converts with
/// [`Json::to_value`] or serde (a `Json` serializes as the value it holds).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(String);

impl Json {
    /// Text a JSON serializer produced (`JSON.stringify`, `serde_json::to_string`). It is not parsed
    /// here; text that is not JSON reads back as a JSON string (see [`Json::to_value`]).
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The JSON text.
    pub fn as_text(&self) -> &str {
        &self.0
    }

    /// The value, parsed. Text that is not JSON (a foreign peer wrote it) reads as a JSON string.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| serde_json::Value::String(self.0.clone()))
    }

    /// Whether the text is a JSON object. Exact for text a serializer wrote, which starts with `{`
    /// exactly when it is an object.
    fn is_object(&self) -> bool {
        self.0.trim_start().starts_with('{')
    }
}

/// `null`.
impl Default for Json {
    fn default() -> Self {
        Self("null".into())
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Self(value.to_string())
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Self::from)
    }
}

/// The text to store for `value`, refusing it when it is over the limit.
pub(crate) fn encode(
    field: &'static str,
    value: &Json,
    limits: &Limits,
) -> Result<String, ModelError> {
    Limits::check(field, limits.max_json_bytes, value.0.len())?;
    Ok(value.0.clone())
}

/// Like [`encode`], for values that must be JSON objects.
pub(crate) fn encode_object(
    field: &'static str,
    value: &Json,
    limits: &Limits,
) -> Result<String, ModelError> {
    if !value.is_object() {
        return Err(ModelError::InvalidJson {
            field,
            expected: "a JSON object",
        });
    }
    encode(field, value, limits)
}

/// A stored value.
pub(crate) fn decode(text: String) -> Json {
    Json(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_value_round_trips_through_its_text() {
        let value = json!({ "n": [1, 2.5, null, "x"], "big": 18446744073709551615u64 });
        let stored = Json::from(value.clone());
        assert_eq!(stored.to_value(), value);
        assert_eq!(serde_json::to_value(&stored).unwrap(), value);
        assert_eq!(
            serde_json::from_value::<Json>(value.clone()).unwrap(),
            stored
        );
    }

    #[test]
    fn text_that_is_not_json_reads_as_a_string() {
        assert_eq!(Json::from_text("not json").to_value(), json!("not json"));
    }

    #[test]
    fn only_objects_are_objects() {
        assert!(Json::from(json!({})).is_object());
        assert!(Json::from_text(" {\"a\":1}").is_object());
        for other in [json!([]), json!("{"), json!(null), json!(1)] {
            assert!(!Json::from(other).is_object());
        }
    }
}
