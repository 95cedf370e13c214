//! Reading the argument shapes of the JS API (`NewMessage`, `MessageEnd`, `ArtifactUpsert`, …) from
//! any object-like input, so the browser package (a JavaScript object) and the relay's HTTP API (a
//! JSON value) accept exactly the same fields and refuse exactly the same mistakes.
//!
//! A [`Source`] is what a reader walks: one implementation per input representation. The readers
//! are generic over it, so each build keeps only the representation it uses. Every field read is
//! remembered, and [`read`] refuses the fields nothing asked for: a misspelt field is an error that
//! names it, never a silent no-op.

mod json_source;
mod shapes;

use std::str::FromStr;

use crate::{Json, ModelError};

pub use shapes::{
    ApprovalDecisionInput, ApprovalRequestInput, ArtifactInput, ContextEntryInput, ListInput,
    MessageEndInput, NewMessageInput, SessionStateInput, ThreadInitInput, ToolCallEndInput,
    ToolCallStartInput,
};

/// Largest integer a JS number (an IEEE double) holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// One input value, as a reader needs to see it.
pub trait Source: Sized {
    /// The field `key` of an object; `None` when it is absent or null (or `undefined`).
    fn field(&self, key: &str) -> Option<Self>;
    /// The names of an object's fields.
    fn keys(&self) -> Vec<String>;
    /// Whether this is an object (not an array, not a scalar).
    fn is_object(&self) -> bool;
    /// The string, if this is one.
    fn as_string(&self) -> Option<String>;
    /// The boolean, if this is one.
    fn as_bool(&self) -> Option<bool>;
    /// The number, if this is one.
    fn as_f64(&self) -> Option<f64>;
    /// This value as JSON text; `None` if it has no JSON form.
    fn to_json(&self) -> Option<Json>;
}

/// Why an input was refused. Every variant names the field; a nested object's say which field holds it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The value must be an object.
    #[error("expected an object")]
    NotAnObject,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    Missing(String),
    /// A field no reader asked for.
    #[error("unknown field `{field}`, expected one of `{expected}`")]
    Unknown {
        /// The field.
        field: String,
        /// The fields this shape has, joined.
        expected: String,
    },
    /// A field of the wrong type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it must be.
        expected: &'static str,
    },
    /// Fields that do not go together (a completed tool call with an `error`).
    #[error("{0}")]
    Shape(&'static str),
    /// A value the model refused (an unknown role, an invalid id).
    #[error(transparent)]
    Value(#[from] ModelError),
    /// What is wrong inside a nested object.
    #[error("`{field}`: {error}")]
    Nested {
        /// The field holding the object.
        field: &'static str,
        /// What is wrong in it.
        error: Box<InputError>,
    },
}

impl InputError {
    /// The stable code of this error: `invalid_input`, or the model's for a refused value.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Value(e) => e.code(),
            Self::Nested { error, .. } => error.code(),
            _ => "invalid_input",
        }
    }
}

/// A shape read from an object's fields.
pub trait FromFields: Sized {
    /// Reads the fields this shape has.
    fn read<S: Source>(fields: &mut Fields<'_, S>) -> Result<Self, InputError>;
}

/// Reads `value`, which must be an object with no fields but `T`'s.
pub fn read<T: FromFields, S: Source>(value: &S) -> Result<T, InputError> {
    let mut fields = Fields::of(value)?;
    let read = T::read(&mut fields)?;
    fields.finish()?;
    Ok(read)
}

/// Like [`read`]; an absent value reads as `T::default()`.
pub fn read_or_default<T: FromFields + Default, S: Source>(
    value: Option<&S>,
) -> Result<T, InputError> {
    value.map_or_else(|| Ok(T::default()), read)
}

/// An object being read, and the names of the fields read so far.
pub struct Fields<'a, S> {
    object: &'a S,
    read: Vec<&'static str>,
}

impl<'a, S: Source> Fields<'a, S> {
    /// Starts reading `object`, which must be an object.
    pub fn of(object: &'a S) -> Result<Self, InputError> {
        if !object.is_object() {
            return Err(InputError::NotAnObject);
        }
        Ok(Self {
            object,
            read: Vec::new(),
        })
    }

    /// Refuses any field no reader asked for.
    pub fn finish(self) -> Result<(), InputError> {
        for key in self.object.keys() {
            if !self.read.contains(&key.as_str()) {
                return Err(InputError::Unknown {
                    field: key,
                    expected: self.read.join("`, `"),
                });
            }
        }
        Ok(())
    }

    /// Whether the object has `key` (not null); does not count as reading it.
    pub fn has(&self, key: &str) -> bool {
        self.object.field(key).is_some()
    }

    /// The field's value, for a field the caller reads itself.
    pub fn value(&mut self, key: &'static str) -> Option<S> {
        self.read.push(key);
        self.object.field(key)
    }

    /// An optional string.
    pub fn string(&mut self, key: &'static str) -> Result<Option<String>, InputError> {
        self.value(key)
            .map(|v| v.as_string().ok_or_else(|| wrong_type(key, "a string")))
            .transpose()
    }

    /// A string that must be there.
    pub fn required_string(&mut self, key: &'static str) -> Result<String, InputError> {
        self.string(key)?.ok_or_else(|| missing(key))
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>, InputError> {
        self.value(key)
            .map(|v| v.as_bool().ok_or_else(|| wrong_type(key, "a boolean")))
            .transpose()
    }

    /// A boolean that must be there.
    pub fn required_bool(&mut self, key: &'static str) -> Result<bool, InputError> {
        self.bool(key)?.ok_or_else(|| missing(key))
    }

    /// An optional number.
    pub fn number(&mut self, key: &'static str) -> Result<Option<f64>, InputError> {
        self.value(key)
            .map(|v| v.as_f64().ok_or_else(|| wrong_type(key, "a number")))
            .transpose()
    }

    /// An optional non-negative integer (at most 2^53 - 1, as JavaScript holds exactly).
    pub fn uint(&mut self, key: &'static str) -> Result<Option<u64>, InputError> {
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
    pub fn required_uint(&mut self, key: &'static str) -> Result<u64, InputError> {
        self.uint(key)?.ok_or_else(|| missing(key))
    }

    /// An optional integer (of either sign, within ±(2^53 - 1)).
    pub fn int(&mut self, key: &'static str) -> Result<Option<i64>, InputError> {
        self.number(key)?
            .map(|n| {
                if n.fract() == 0.0 && (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&n) {
                    Ok(n as i64)
                } else {
                    Err(wrong_type(key, "an integer"))
                }
            })
            .transpose()
    }

    /// An optional string naming one of a closed set (a role, a status).
    pub fn parsed<T: FromStr<Err = ModelError>>(
        &mut self,
        key: &'static str,
    ) -> Result<Option<T>, InputError> {
        self.string(key)?
            .map(|s| s.parse().map_err(InputError::from))
            .transpose()
    }

    /// Like [`Self::parsed`], for a field that must be there.
    pub fn required_parsed<T: FromStr<Err = ModelError>>(
        &mut self,
        key: &'static str,
    ) -> Result<T, InputError> {
        self.parsed(key)?.ok_or_else(|| missing(key))
    }

    /// Any JSON value (metadata, tool input or output, a context value).
    pub fn json(&mut self, key: &'static str) -> Result<Option<Json>, InputError> {
        self.value(key)
            .map(|v| {
                v.to_json()
                    .ok_or_else(|| wrong_type(key, "plain JSON data"))
            })
            .transpose()
    }

    /// An optional nested object read as `T`, with no fields but `T`'s.
    pub fn nested<T: FromFields>(&mut self, key: &'static str) -> Result<Option<T>, InputError> {
        self.value(key)
            .map(|value| {
                read(&value).map_err(|e| InputError::Nested {
                    field: key,
                    error: Box::new(e),
                })
            })
            .transpose()
    }
}

fn missing(key: &str) -> InputError {
    InputError::Missing(key.to_owned())
}

fn wrong_type(key: &str, expected: &'static str) -> InputError {
    InputError::WrongType {
        field: key.to_owned(),
        expected,
    }
}
