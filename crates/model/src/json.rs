//! JSON values (metadata, tool input and output, context values) are stored as JSON text: nobody co-edits
//! them, and a string keeps arbitrary JSON (arrays, nulls, big numbers) exact.

use serde_json::Value;

use crate::{Limits, ModelError};

/// Serializes `value`, refusing it when it is over the limit.
pub(crate) fn encode(
    field: &'static str,
    value: &Value,
    limits: &Limits,
) -> Result<String, ModelError> {
    let text = value.to_string();
    Limits::check(field, limits.max_json_bytes, text.len())?;
    Ok(text)
}

/// Like [`encode`], for values that must be JSON objects.
pub(crate) fn encode_object(
    field: &'static str,
    value: &Value,
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

/// Parses stored JSON text; text that is not JSON (written by a foreign peer) reads as a JSON string.
pub(crate) fn decode(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}
