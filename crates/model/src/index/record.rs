//! Reading the index's records: all keys `<prefix>/<field>` of one thread, project, or the
//! preferences, in one ordered pass over the root map.

use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value};

/// One record's fields, by name (the part after `<prefix>/`).
pub(super) struct Record {
    fields: Vec<(String, ScalarValue)>,
}

impl Record {
    /// The fields of `prefix`. Keys are ordered, so they are one range: from `prefix/` to `prefix0`
    /// (`0` follows `/`).
    pub(super) fn read(doc: &AutoCommit, prefix: &str) -> Record {
        let mut fields = Vec::new();
        for item in doc.map_range(ROOT, format!("{prefix}/")..format!("{prefix}0")) {
            if let Value::Scalar(value) = item.value.into_value() {
                fields.push((item.key[prefix.len() + 1..].to_owned(), value.into_owned()));
            }
        }
        Record { fields }
    }

    /// Every record of the document, grouped by prefix, in key order.
    pub(super) fn all(doc: &AutoCommit) -> Vec<(String, Record)> {
        let mut out: Vec<(String, Record)> = Vec::new();
        for item in doc.map_range(ROOT, ..) {
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

    /// A JSON field (stored as its text).
    pub(super) fn json(&self, name: &str) -> Option<crate::Json> {
        self.str(name).map(crate::json::decode)
    }
}
