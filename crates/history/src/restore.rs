//! A restore: the patches that lead from the document now to an earlier version, applied as new
//! operations — within the scopes asked for — and committed as one change.

use std::collections::{HashMap, HashSet};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, PatchAction, Prop, ROOT, ReadDoc, Value,
};

use crate::HistoryError;
use crate::classify::Scope;
use crate::copy::copy_at;

/// Whether message `id` existed at `heads`.
pub(crate) fn message_exists(doc: &AutoCommit, id: &str, heads: &[ChangeHash]) -> bool {
    let Ok(Some((Value::Object(ObjType::Map), messages))) = doc.get_at(ROOT, "messages", heads)
    else {
        return false;
    };
    matches!(
        doc.get_at(&messages, id, heads),
        Ok(Some((Value::Object(ObjType::Map), _)))
    )
}

/// Sets what `scopes` name (everything below the root when `None`) back to how it was at `heads`,
/// as one change by `actor` with commit message `mark`. Returns the change's bytes, or `None` when
/// nothing differs — unless `always`, which commits the mark alone (an undo of an edit already
/// edited back still counts as done).
pub(crate) fn restore(
    mut doc: AutoCommit,
    heads: &[ChangeHash],
    scopes: Option<&[Scope]>,
    actor: ActorId,
    now_ms: u64,
    mark: String,
    always: bool,
) -> Result<Option<Vec<u8>>, HistoryError> {
    let current = doc.get_heads();
    let patches = doc.diff(&current, heads);
    doc.set_actor(actor);
    // Objects that are gone now and were made again: their new ids, and the old ones copied whole.
    let mut made: HashMap<ObjId, ObjId> = HashMap::new();
    let mut copied: HashSet<ObjId> = HashSet::new();
    for patch in patches {
        // The root holds the schema version and the containers, which a restore never touches.
        let Some((_, Prop::Map(container))) = patch.path.first() else {
            continue;
        };
        if let Some(scopes) = scopes {
            let entry = match (patch.path.get(1), &patch.action) {
                (Some((_, Prop::Map(entry))), _) => entry.as_str(),
                (None, PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key }) => key,
                _ => continue,
            };
            if !scopes.iter().any(|(c, e)| c == container && e == entry) {
                continue;
            }
        }
        if copied.contains(&patch.obj) || patch.path.iter().any(|(o, _)| copied.contains(o)) {
            continue;
        }
        let obj = made.get(&patch.obj).cloned().unwrap_or(patch.obj);
        apply(&mut doc, &obj, patch.action, heads, &mut made, &mut copied)?;
    }
    if let Some(scopes) = scopes {
        let messages: Vec<&str> = scopes
            .iter()
            .filter(|(c, _)| c == "messages")
            .map(|(_, id)| id.as_str())
            .collect();
        restore_order(&mut doc, heads, &messages)?;
    }
    if doc.pending_ops() > 0 {
        // The thread's last activity is now, not the restored version's.
        if let Ok(Some((Value::Object(ObjType::Map), meta))) = doc.get(ROOT, "meta") {
            doc.put(&meta, "updatedAt", now_ms)?;
        }
    } else if !always {
        return Ok(None);
    }
    let options = CommitOptions::default()
        .with_message(mark)
        .with_time(i64::try_from(now_ms).unwrap_or(i64::MAX));
    if doc.pending_ops() > 0 {
        doc.commit_with(options);
    } else {
        doc.empty_change(options);
    }
    Ok(Some(doc.save_after(&current)))
}

/// Puts `messages` back into the thread's `order` list, or takes them out, as they were at `heads`
/// (a whole-thread restore does so through the diff; a scoped one leaves the list to this). A message
/// put back goes right after the nearest message before it then that is still listed.
fn restore_order(
    doc: &mut AutoCommit,
    heads: &[ChangeHash],
    messages: &[&str],
) -> Result<(), HistoryError> {
    let Ok(Some((Value::Object(ObjType::List), order))) = doc.get(ROOT, "order") else {
        return Ok(());
    };
    let ids = |doc: &AutoCommit, at: Option<&[ChangeHash]>| -> Vec<String> {
        let values: Vec<_> = match at {
            Some(heads) => doc
                .list_range_at(&order, .., heads)
                .map(|i| i.value.into_value())
                .collect(),
            None => doc
                .list_range(&order, ..)
                .map(|i| i.value.into_value())
                .collect(),
        };
        values
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let then = ids(doc, Some(heads));
    for id in messages {
        let now = ids(doc, None);
        let listed = now.iter().position(|m| m == id);
        match (then.iter().position(|m| m == id), listed) {
            (Some(old), None) => {
                let after = then[..old]
                    .iter()
                    .rev()
                    .find_map(|m| now.iter().position(|n| n == m));
                doc.insert(&order, after.map_or(0, |i| i + 1), *id)?;
            }
            (None, Some(index)) => doc.delete(&order, index)?,
            _ => {}
        }
    }
    Ok(())
}

/// One patch of the diff, as operations on the document now.
fn apply(
    doc: &mut AutoCommit,
    obj: &ObjId,
    action: PatchAction,
    heads: &[ChangeHash],
    made: &mut HashMap<ObjId, ObjId>,
    copied: &mut HashSet<ObjId>,
) -> Result<(), HistoryError> {
    match action {
        PatchAction::PutMap {
            key,
            value: (value, id),
            ..
        } => match value {
            Value::Object(ty) => {
                let new = doc.put_object(obj, key, ty)?;
                copy_at(doc, &id, &new, ty, heads)?;
                copied.insert(id.clone());
                made.insert(id, new);
            }
            Value::Scalar(scalar) => doc.put(obj, key, scalar.into_owned())?,
        },
        PatchAction::PutSeq {
            index,
            value: (value, id),
            ..
        } => match value {
            Value::Object(ty) => {
                let new = doc.put_object(obj, index, ty)?;
                copy_at(doc, &id, &new, ty, heads)?;
                copied.insert(id.clone());
                made.insert(id, new);
            }
            Value::Scalar(scalar) => doc.put(obj, index, scalar.into_owned())?,
        },
        PatchAction::Insert { index, values } => {
            for (i, (value, id, _)) in values.iter().enumerate() {
                match value {
                    Value::Object(ty) => {
                        let new = doc.insert_object(obj, index + i, *ty)?;
                        copy_at(doc, id, &new, *ty, heads)?;
                        copied.insert(id.clone());
                        made.insert(id.clone(), new);
                    }
                    Value::Scalar(scalar) => {
                        doc.insert(obj, index + i, scalar.clone().into_owned())?
                    }
                }
            }
        }
        PatchAction::SpliceText { index, value, .. } => {
            doc.splice_text(obj, index, 0, &value.make_string())?;
        }
        PatchAction::DeleteMap { key } => doc.delete(obj, key)?,
        PatchAction::DeleteSeq { index, length } => {
            if doc.object_type(obj)? == ObjType::Text {
                let length = isize::try_from(length).unwrap_or(isize::MAX);
                doc.splice_text(obj, index, length, "")?;
            } else {
                for _ in 0..length {
                    doc.delete(obj, index)?;
                }
            }
        }
        PatchAction::Increment { prop, value } => doc.increment(obj, prop, value)?,
        // Marks are not part of a thread; a conflict resolves itself once the value is put.
        _ => {}
    }
    Ok(())
}
