//! Reading the index's records: all keys `<prefix>/<field>` of one thread, project, or the
//! preferences, in one ordered pass over the root map.

use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};

use crate::{FieldKind, FieldValue, FieldValues};

/// One record's fields, by name (the part after `<prefix>/`).
pub(super) struct Record {
    fields: Vec<(String, ScalarValue)>,
}

impl Record {
    /// The fields of `prefix`. Keys are ordered, so they are one range: from `prefix/` to `prefix0`
    /// (`0` follows `/`).
    pub(super) fn read(doc: &AutoCommit, prefix: &str) -> Record {
        let mut all = Self::all_in(doc, format!("{prefix}/"), format!("{prefix}0"));
        match all.pop() {
            Some((found, record)) if found == prefix => record,
            _ => Record { fields: Vec::new() },
        }
    }

    /// Every record of the document, grouped by prefix, in key order.
    pub(super) fn all(doc: &AutoCommit) -> Vec<(String, Record)> {
        Self::all_in(doc, String::new(), char::MAX.into())
    }

    /// The records whose keys are from `start` up to `end`, grouped by prefix, in key order.
    pub(super) fn all_in(doc: &AutoCommit, start: String, end: String) -> Vec<(String, Record)> {
        let mut out: Vec<(String, Record)> = Vec::new();
        for item in doc.map_range(ROOT, start..end) {
            let (Some((prefix, field)), Value::Scalar(value)) =
                (item.key.split_once('/'), item.value.into_value())
            else {
                continue;
            };
            let field = (field.to_owned(), value.into_owned());
            match out.last_mut() {
                Some((last, record)) if last == prefix => record.fields.push(field),
                _ => out.push((
                    prefix.to_owned(),
                    Record {
                        fields: vec![field],
                    },
                )),
            }
        }
        out
    }

    pub(super) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The field names.
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(name, _)| name.as_str())
    }

    /// Every field, by name.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &ScalarValue)> {
        self.fields.iter().map(|(name, v)| (name.as_str(), v))
    }

    pub(super) fn get(&self, name: &str) -> Option<&ScalarValue> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub(super) fn str(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }

    pub(super) fn u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.as_u64()
    }

    pub(super) fn bool(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool()
    }

    /// The fields of `table` this record holds, but those in `skip`, read as their kind says.
    pub(super) fn values(
        &self,
        table: &'static [(&'static str, FieldKind)],
        skip: &[&str],
    ) -> FieldValues {
        let mut out = Vec::new();
        for &(name, kind) in table {
            if skip.contains(&name) {
                continue;
            }
            let value = match kind {
                FieldKind::Bool => self.bool(name).map(FieldValue::Bool),
                FieldKind::Number | FieldKind::Count => self.u64(name).map(FieldValue::Number),
                FieldKind::Object => self.json(name).map(FieldValue::Json),
                _ => self.str(name).map(FieldValue::Text),
            };
            if let Some(value) = value {
                out.push((name, value));
            }
        }
        FieldValues(out)
    }

    /// A JSON field (stored as its text).
    pub(super) fn json(&self, name: &str) -> Option<crate::Json> {
        self.str(name).map(crate::json::decode)
    }
}
