//! Small typed readers and writers over Automerge maps.
//!
//! Readers are lenient: a field that is missing or holds the wrong type (a document written by a buggy
//! or foreign peer) reads as absent rather than failing, so one bad field never makes a thread unreadable.

use automerge::transaction::Transactable;
use std::borrow::Cow;

use automerge::{
    AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef,
};

use crate::ModelError;

fn scalar(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

/// A string field — a plain string, or a `Text` object, which is how JS Automerge 3 stores every
/// string by default, so documents written by a JS app read the same.
pub(crate) fn get_str(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        Ok(Some((Value::Object(ObjType::Text), text))) => doc.text(&text).ok(),
        _ => None,
    }
}

/// A non-negative integer field (times in ms, counts, tokens).
pub(crate) fn get_u64(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<u64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Uint(n) => Some(n),
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => u64::try_from(n).ok(),
        ScalarValue::Counter(c) => u64::try_from(i64::from(&c)).ok(),
        _ => None,
    }
}

/// A signed integer field (priorities, counters).
pub(crate) fn get_i64(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<i64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => Some(n),
        ScalarValue::Uint(n) => i64::try_from(n).ok(),
        ScalarValue::Counter(c) => Some(i64::from(&c)),
        _ => None,
    }
}

/// A boolean field.
pub(crate) fn get_bool(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<bool> {
    scalar(doc, obj, key)?.as_bool()
}

/// A nested object of the given type.
pub(crate) fn get_obj(doc: &impl ReadDoc, obj: &ObjId, key: &str, ty: ObjType) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(found), id))) if found == ty => Some(id),
        _ => None,
    }
}

/// The content of a nested `Text` object.
pub(crate) fn get_text(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<String> {
    let text = get_obj(doc, obj, key, ObjType::Text)?;
    doc.text(&text).ok()
}

/// Puts `value`, or deletes the key when it is `None`.
pub(crate) fn put_opt<V: Into<ScalarValue>>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<V>,
) -> Result<(), ModelError> {
    match value {
        Some(v) => doc.put(obj, key, v)?,
        None => {
            if doc.get(obj, key)?.is_some() {
                doc.delete(obj, key)?;
            }
        }
    }
    Ok(())
}

/// Puts `value` unless the key already holds exactly it: keeps no-op writes out of the history.
pub(crate) fn put_if_changed<V: Into<ScalarValue>>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: V,
) -> Result<(), ModelError> {
    let value = value.into();
    if scalar(doc, obj, key).as_ref() != Some(&value) {
        doc.put(obj, key, value)?;
    }
    Ok(())
}

/// Creates a `Text` object under `key` holding `content`.
pub(crate) fn put_text(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    content: &str,
) -> Result<ObjId, ModelError> {
    let text = doc.put_object(obj, key, ObjType::Text)?;
    if !content.is_empty() {
        doc.splice_text(&text, 0, 0, content)?;
    }
    Ok(text)
}

/// Makes a `Text` object hold `content` with one splice over the part that changed (between the
/// common prefix and suffix, in code points, Automerge's text index here). Text that was kept keeps its
/// identity, so a concurrent edit there survives. Automerge's `update_text` would find a finer,
/// grapheme-level diff, at 2 KB of the gzipped browser package, for artifacts that are mostly
/// rewritten at the end.
pub(crate) fn replace_text(
    doc: &mut AutoCommit,
    text: &ObjId,
    content: &str,
) -> Result<(), ModelError> {
    let old = doc.text(text)?;
    let prefix = common_bytes(old.chars(), content.chars());
    let (old_rest, new_rest) = (&old[prefix..], &content[prefix..]);
    let suffix = common_bytes(old_rest.chars().rev(), new_rest.chars().rev());
    let deleted = old_rest[..old_rest.len() - suffix].chars().count();
    let inserted = &new_rest[..new_rest.len() - suffix];
    if deleted > 0 || !inserted.is_empty() {
        let at = old[..prefix].chars().count();
        let deleted = isize::try_from(deleted).unwrap_or(isize::MAX);
        doc.splice_text(text, at, deleted, inserted)?;
    }
    Ok(())
}

/// How many bytes the two character sequences share before they first differ.
fn common_bytes(a: impl Iterator<Item = char>, b: impl Iterator<Item = char>) -> usize {
    a.zip(b)
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum()
}

/// Milliseconds as Automerge's signed commit time.
pub(crate) fn commit_time(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}

/// All fields of a map, read in one pass: much cheaper than one `get` per field when most are needed
/// (rendering a message reads a dozen). Keys and values are borrowed from the document, and only an
/// object's id is built: a view reads every message's fields, and copying each was most of the cost.
pub(crate) struct Fields<'a> {
    doc: &'a AutoCommit,
    items: Vec<(Cow<'a, str>, ValueRef<'a>, Option<ObjId>)>,
}

impl<'a> Fields<'a> {
    pub(crate) fn of(doc: &'a AutoCommit, obj: &ObjId) -> Self {
        Self {
            doc,
            items: doc
                .map_range(obj, ..)
                .map(|item| {
                    let id = matches!(item.value, ValueRef::Object(_)).then(|| item.id());
                    (item.key, item.value, id)
                })
                .collect(),
        }
    }

    fn scalar(&self, key: &str) -> Option<&ScalarValueRef<'a>> {
        self.items
            .iter()
            .find(|(k, _, _)| k == key)
            .and_then(|(_, v, _)| match v {
                ValueRef::Scalar(s) => Some(s),
                ValueRef::Object(_) => None,
            })
    }

    /// A plain string, or a `Text` (see [`get_str`]).
    pub(crate) fn str(&self, key: &str) -> Option<String> {
        if let Some(text) = self.obj(key, ObjType::Text) {
            return self.doc.text(text).ok();
        }
        match self.scalar(key)? {
            ScalarValueRef::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }

    pub(crate) fn u64(&self, key: &str) -> Option<u64> {
        match *self.scalar(key)? {
            ScalarValueRef::Uint(n) => Some(n),
            _ => u64::try_from(self.i64(key)?).ok(),
        }
    }

    pub(crate) fn i64(&self, key: &str) -> Option<i64> {
        match *self.scalar(key)? {
            ScalarValueRef::Int(n) | ScalarValueRef::Timestamp(n) | ScalarValueRef::Counter(n) => {
                Some(n)
            }
            ScalarValueRef::Uint(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        match *self.scalar(key)? {
            ScalarValueRef::Boolean(b) => Some(b),
            _ => None,
        }
    }

    /// Any number, as Automerge reads one as a float: a JS writer stores whole numbers as ints.
    pub(crate) fn f64(&self, key: &str) -> Option<f64> {
        let f = match *self.scalar(key)? {
            ScalarValueRef::F64(f) => f,
            ScalarValueRef::Uint(n) => n as f64,
            _ => self.i64(key)? as f64,
        };
        f.is_finite().then_some(f)
    }

    /// The object at `key`, if it is one of type `ty`. Automerge lists a map's keys in order, so a
    /// binary search finds it in a map of many fields (the thread's messages); the scan behind it
    /// keeps any other order correct.
    pub(crate) fn obj(&self, key: &str, ty: ObjType) -> Option<&ObjId> {
        let found = match self.items.binary_search_by(|(k, _, _)| k.as_ref().cmp(key)) {
            Ok(i) => Some(&self.items[i]),
            Err(_) => self.items.iter().find(|(k, _, _)| k == key),
        };
        match found? {
            (_, ValueRef::Object(found), id) if *found == ty => id.as_ref(),
            _ => None,
        }
    }

    /// The fields holding objects of type `ty`, with their keys.
    pub(crate) fn objects(&self, ty: ObjType) -> impl Iterator<Item = (&str, &ObjId)> {
        self.items
            .iter()
            .filter_map(move |(k, v, id)| match (v, id) {
                (ValueRef::Object(found), Some(id)) if *found == ty => Some((k.as_ref(), id)),
                _ => None,
            })
    }

    /// A `Text` field's content, or a plain string field (as a foreign writer might store it).
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.str(key)
    }
}

#[cfg(test)]
mod tests {
    use automerge::ROOT;

    use super::*;

    fn replaced(old: &str, new: &str) -> String {
        let mut doc = AutoCommit::new();
        let text = put_text(&mut doc, &ROOT, "t", old).unwrap();
        replace_text(&mut doc, &text, new).unwrap();
        doc.text(&text).unwrap()
    }

    #[test]
    fn obj_finds_every_key_of_a_map_written_in_any_order() {
        let mut doc = AutoCommit::new();
        let keys = ["m-9", "B", "a", "m-10", "Z1", "é", "m-1", "0", "_"];
        for key in keys {
            doc.put_object(ROOT, key, ObjType::Map).unwrap();
        }
        doc.put(ROOT, "plain", 1).unwrap();
        let fields = Fields::of(&doc, &ROOT);
        let listed: Vec<&str> = fields.items.iter().map(|(k, _, _)| k.as_ref()).collect();
        assert!(listed.is_sorted(), "the binary search's order: {listed:?}");
        for key in keys {
            assert!(fields.obj(key, ObjType::Map).is_some(), "{key}");
        }
        assert!(fields.obj("plain", ObjType::Map).is_none());
        assert!(fields.obj("missing", ObjType::Map).is_none());
    }

    #[test]
    fn replace_text_reaches_the_new_content() {
        for (old, new) in [
            ("", ""),
            ("", "new"),
            ("old", ""),
            ("héllo wörld", "héllo brave wörld"),
            ("a🦀b🦀c", "a🦀c"),
            ("aaaa", "aa"),
            ("abc", "abcabc"),
            ("plan: 1. fly", "plan: 1. fly 2. hotel"),
            ("same", "same"),
            ("日本語テキスト", "日本のテキスト"),
        ] {
            assert_eq!(replaced(old, new), new, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn replace_text_keeps_a_concurrent_edit_to_the_unchanged_part() {
        let mut a = AutoCommit::new();
        let text = put_text(&mut a, &ROOT, "t", "draft: intro. body.").unwrap();
        let mut b = a.fork();
        b.splice_text(&text, 0, 0, "[b] ").unwrap();
        replace_text(&mut a, &text, "draft: intro. body. outro.").unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(a.text(&text).unwrap(), "[b] draft: intro. body. outro.");
    }
}
