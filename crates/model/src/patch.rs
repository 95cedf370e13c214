//! [`Patch`]: a change to some fields of the preferences, the profile or a project, checked field by
//! field as it is built.
//!
//! One table per record names its fields and what each holds ([`FieldKind`]), so a reader of JSON or
//! of a JavaScript object needs no code per field: it asks [`Patch::kind_of`] how to read a value
//! and hands it to [`Patch::set`]. (Per-field structs and readers cost the browser package a few KB.)

use crate::{Json, Limits, ModelError};

/// What a field holds, and how it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// `true` or `false`.
    Bool,
    /// A non-negative integer.
    Number,
    /// An integer of at least 1.
    Count,
    /// A non-blank string of at most [`Limits::max_short_text_bytes`].
    Text,
    /// A string of at most [`Limits::max_content_bytes`] (a system prompt).
    LongText,
    /// A JSON object.
    Object,
}

/// A field's value. `Number` serves [`FieldKind::Number`] and [`FieldKind::Count`]; `Text` every
/// string kind.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// For [`FieldKind::Bool`].
    Bool(bool),
    /// For [`FieldKind::Number`] and [`FieldKind::Count`].
    Number(u64),
    /// For the string kinds.
    Text(String),
    /// For [`FieldKind::Object`].
    Json(Json),
}

/// Which record a patch changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchTarget {
    /// The user's [`Preferences`](crate::Preferences).
    Preferences,
    /// The user's profile ([`Index::profile`](crate::Index::profile)).
    Profile,
    /// A [`Project`](crate::Project).
    Project,
}

use FieldKind::*;

/// The preferences' fields, with their JSON names.
pub const PREFERENCE_FIELDS: &[(&str, FieldKind)] = &[
    ("preferredModel", Text),
    ("defaultSystemPrompt", LongText),
    ("responsePreferences", Object),
    ("enableContextMemory", Bool),
    ("maxContextMessages", Count),
    ("saveConversationHistory", Bool),
    ("allowDataTraining", Bool),
    ("dailyMessageLimit", Number),
    ("monthlyTokenLimit", Number),
    ("trashRetentionDays", Count),
    ("keepNewestThreads", Count),
    ("keepActiveDays", Count),
];

/// The profile's fields.
pub const PROFILE_FIELDS: &[(&str, FieldKind)] = &[
    ("username", Text),
    ("email", Text),
    ("displayName", Text),
    ("avatarUrl", Text),
    ("preferences", Object),
];

/// A project's fields (its id, times and thread counts are not patched).
pub const PROJECT_FIELDS: &[(&str, FieldKind)] = &[
    ("name", Text),
    ("description", Text),
    ("path", Text),
    ("type", Text),
    ("framework", Text),
    ("language", Text),
    ("status", Text),
    ("lastOpened", Number),
    ("settings", Object),
    ("metadata", Object),
    ("archived", Bool),
];

/// Fields to set (`Some`) or clear (`None`, JSON `null`: back to the default). Built with
/// [`Patch::set`], which refuses unknown fields and bad values with a typed error, so a patch that
/// exists is valid and writing it cannot fail halfway.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    target: PatchTarget,
    pub(crate) changes: Vec<(&'static str, Option<FieldValue>)>,
}

impl Patch {
    /// An empty patch of `target`.
    pub fn new(target: PatchTarget) -> Self {
        Self {
            target,
            changes: Vec::new(),
        }
    }

    /// The record it changes.
    pub fn target(&self) -> PatchTarget {
        self.target
    }

    fn fields(&self) -> &'static [(&'static str, FieldKind)] {
        match self.target {
            PatchTarget::Preferences => PREFERENCE_FIELDS,
            PatchTarget::Profile => PROFILE_FIELDS,
            PatchTarget::Project => PROJECT_FIELDS,
        }
    }

    /// What `name` holds, or `None` for a field the record does not have.
    pub fn kind_of(&self, name: &str) -> Option<FieldKind> {
        self.fields()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    }

    /// Sets (or, with `None`, clears) a field, after checking its name and value; a later `set` of
    /// the same field replaces the earlier.
    pub fn set(&mut self, name: &str, value: Option<FieldValue>) -> Result<&mut Self, ModelError> {
        let Some(&(name, kind)) = self.fields().iter().find(|(n, _)| *n == name) else {
            return Err(self.unknown(name));
        };
        if let Some(value) = &value {
            check(name, kind, value)?;
        }
        match self.changes.iter_mut().find(|(n, _)| *n == name) {
            Some(change) => change.1 = value,
            None => self.changes.push((name, value)),
        }
        Ok(self)
    }

    fn unknown(&self, name: &str) -> ModelError {
        let expected = match self.target {
            PatchTarget::Preferences => "a preference field (see PREFERENCE_FIELDS)",
            PatchTarget::Profile => "a profile field (see PROFILE_FIELDS)",
            PatchTarget::Project => "a project field (see PROJECT_FIELDS)",
        };
        invalid("field", name, expected)
    }

    /// Whether the patch changes `name`, and to what.
    pub fn get(&self, name: &str) -> Option<&Option<FieldValue>> {
        self.changes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// A patch from a JSON object (the HTTP API's body): each member a field, `null` clearing it.
    pub fn from_json(target: PatchTarget, json: &serde_json::Value) -> Result<Self, ModelError> {
        let mut patch = Patch::new(target);
        let object = json.as_object().ok_or(ModelError::InvalidJson {
            field: "patch",
            expected: "a JSON object",
        })?;
        for (name, value) in object {
            let Some(&(field, kind)) = patch.fields().iter().find(|(n, _)| n == name) else {
                return Err(patch.unknown(name));
            };
            let read = match (kind, value) {
                (_, serde_json::Value::Null) => None,
                (Bool, serde_json::Value::Bool(b)) => Some(FieldValue::Bool(*b)),
                (Number | Count, serde_json::Value::Number(n)) if n.is_u64() => {
                    n.as_u64().map(FieldValue::Number)
                }
                (Object, v) => Some(FieldValue::Json(Json::from(v.clone()))),
                (Text | LongText, serde_json::Value::String(s)) => {
                    Some(FieldValue::Text(s.clone()))
                }
                (kind, v) => return Err(invalid(field, &v.to_string(), expected(kind))),
            };
            patch.set(field, read)?;
        }
        Ok(patch)
    }
}

fn expected(kind: FieldKind) -> &'static str {
    match kind {
        Bool => "true or false",
        Number => "a non-negative integer",
        Count => "an integer of at least 1",
        Text => "a non-blank string",
        LongText => "a string",
        Object => "a JSON object",
    }
}

fn invalid(field: &'static str, value: &str, expected: &'static str) -> ModelError {
    ModelError::InvalidValue {
        field,
        value: value.chars().take(64).collect(),
        expected,
    }
}

/// Checks one value against its field's kind and the default [`Limits`].
fn check(field: &'static str, kind: FieldKind, value: &FieldValue) -> Result<(), ModelError> {
    let limits = Limits::default();
    let ok = match (kind, value) {
        (Bool, FieldValue::Bool(_)) | (Number, FieldValue::Number(_)) => true,
        (Count, FieldValue::Number(n)) => *n >= 1,
        (Object, FieldValue::Json(json)) => {
            crate::json::encode_object(field, json, &limits)?;
            true
        }
        (LongText, FieldValue::Text(text)) => {
            limits.content(field, text.len())?;
            true
        }
        (Text, FieldValue::Text(text)) => {
            limits.short(field, text)?;
            !text.trim().is_empty()
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let shown = match value {
        FieldValue::Text(t) => t.as_str(),
        FieldValue::Json(j) => j.as_text(),
        FieldValue::Bool(_) | FieldValue::Number(_) => "",
    };
    Err(invalid(field, shown, expected(kind)))
}

/// Field values read back: what a profile holds, and a project beyond its name and flags. In the
/// order of their table, absent ones left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldValues(pub(crate) Vec<(&'static str, FieldValue)>);

impl FieldValues {
    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A text field's value.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            FieldValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Every field that has a value, by JSON name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &FieldValue)> {
        self.0.iter().map(|(n, v)| (*n, v))
    }
}

impl serde::Serialize for FieldValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Bool(b) => serializer.serialize_bool(*b),
            FieldValue::Number(n) => serializer.serialize_u64(*n),
            FieldValue::Text(t) => serializer.serialize_str(t),
            FieldValue::Json(j) => j.serialize(serializer),
        }
    }
}

impl serde::Serialize for FieldValues {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}
