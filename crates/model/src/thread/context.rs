//! Context entries: facts the agent keeps about the conversation, with a priority and an expiry.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::Thread;
use crate::schema::key;
use crate::{Json, ModelError, access, json};

/// Separates type and key in the map key; refused inside either.
const SEPARATOR: char = '\u{1f}';

/// A context entry to store; one per (type, key).
#[derive(Clone, Debug, PartialEq)]
pub struct ContextEntry {
    /// Its type ("memory", "file", "preference", …).
    pub entry_type: String,
    /// Its key within the type.
    pub key: String,
    /// The value.
    pub value: Json,
    /// Higher comes first.
    pub priority: i64,
    /// When it stops being returned, ms since the epoch.
    pub expires_at: Option<u64>,
}

pub(super) fn map_key(entry_type: &str, key: &str) -> String {
    format!("{entry_type}{SEPARATOR}{key}")
}

fn check_part(field: &'static str, part: &str, thread: &Thread) -> Result<(), ModelError> {
    if part.is_empty() || part.contains(SEPARATOR) {
        return Err(ModelError::InvalidValue {
            field,
            value: part.replace(SEPARATOR, "\\u{1f}"),
            expected: "a non-empty string without U+001F",
        });
    }
    thread.limits.short(field, part)
}

impl Thread {
    /// Stores an entry, replacing the one with the same type and key.
    pub fn upsert_context(&mut self, entry: ContextEntry, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        check_part("context type", &entry.entry_type, self)?;
        check_part("context key", &entry.key, self)?;
        let value = json::encode("context value", &entry.value, &self.limits)?;
        let context = self.container(key::CONTEXT, ObjType::Map)?;
        let k = map_key(&entry.entry_type, &entry.key);
        self.touch(now_ms)?;
        let obj = match access::get_obj(&self.doc, &context, &k, ObjType::Map) {
            Some(obj) => obj,
            None => self.doc.put_object(&context, k.as_str(), ObjType::Map)?,
        };
        access::put_if_changed(&mut self.doc, &obj, "type", entry.entry_type)?;
        access::put_if_changed(&mut self.doc, &obj, "key", entry.key)?;
        access::put_if_changed(&mut self.doc, &obj, "value", value)?;
        access::put_if_changed(&mut self.doc, &obj, "priority", entry.priority)?;
        access::put_opt(&mut self.doc, &obj, "expiresAt", entry.expires_at)?;
        access::put_if_changed(&mut self.doc, &obj, "updatedAt", now_ms)
    }

    /// Removes an entry.
    pub fn remove_context(
        &mut self,
        entry_type: &str,
        key: &str,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let context = self.container(key::CONTEXT, ObjType::Map)?;
        let k = map_key(entry_type, key);
        if access::get_obj(&self.doc, &context, &k, ObjType::Map).is_none() {
            return Err(ModelError::NotFound {
                kind: "context entry",
                id: format!("{entry_type}/{key}"),
            });
        }
        self.touch(now_ms)?;
        self.doc.delete(&context, k.as_str())?;
        Ok(())
    }
}
