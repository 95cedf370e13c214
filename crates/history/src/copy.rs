//! Copies an object as it was at earlier heads into a new object: how a restore brings back an
//! entry that is gone now (Automerge cannot put an old object back, only make a new one like it).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ReadDoc, Value};

/// Fills `dst` (new, empty, of type `ty`) with `src`'s contents at `heads`, recursively.
pub(crate) fn copy_at(
    doc: &mut AutoCommit,
    src: &ObjId,
    dst: &ObjId,
    ty: ObjType,
    heads: &[ChangeHash],
) -> Result<(), AutomergeError> {
    match ty {
        ObjType::Map | ObjType::Table => {
            let items: Vec<(String, Value<'static>, ObjId)> = doc
                .map_range_at(src, .., heads)
                .map(|item| {
                    let id = item.id();
                    (item.key.into_owned(), item.value.into_value(), id)
                })
                .collect();
            for (key, value, id) in items {
                match value {
                    Value::Object(ty) => {
                        let new = doc.put_object(dst, key, ty)?;
                        copy_at(doc, &id, &new, ty, heads)?;
                    }
                    Value::Scalar(scalar) => doc.put(dst, key, scalar.into_owned())?,
                }
            }
        }
        ObjType::List => {
            let items: Vec<(usize, Value<'static>, ObjId)> = doc
                .list_range_at(src, .., heads)
                .map(|item| {
                    let id = item.id();
                    (item.index, item.value.into_value(), id)
                })
                .collect();
            for (index, value, id) in items {
                match value {
                    Value::Object(ty) => {
                        let new = doc.insert_object(dst, index, ty)?;
                        copy_at(doc, &id, &new, ty, heads)?;
                    }
                    Value::Scalar(scalar) => doc.insert(dst, index, scalar.into_owned())?,
                }
            }
        }
        ObjType::Text => {
            let text = doc.text_at(src, heads)?;
            doc.splice_text(dst, 0, 0, &text)?;
        }
    }
    Ok(())
}
