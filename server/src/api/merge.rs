//! Merging message metadata as the AI SDK does (`mergeObjects`): objects merge key by key, at any
//! depth; any other value (and `undefined`, which JSON has not) replaces. `message-metadata`
//! chunks of a UI message stream and `messages:updateMetadata` with `merge: true` use it; the
//! model itself only replaces (it does not parse JSON).

use serde_json::Value;

/// `update` merged into `current`.
pub(crate) fn merge_metadata(current: Option<Value>, update: Option<Value>) -> Option<Value> {
    match (current, update) {
        (current, None) => current,
        (Some(Value::Object(mut base)), Some(Value::Object(overrides))) => {
            for (key, value) in overrides {
                let merged = match (base.remove(&key), value) {
                    (Some(old @ Value::Object(_)), new @ Value::Object(_)) => {
                        merge_metadata(Some(old), Some(new)).unwrap_or(Value::Null)
                    }
                    (_, new) => new,
                };
                base.insert(key, merged);
            }
            Some(Value::Object(base))
        }
        (_, update) => update,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_metadata;

    #[test]
    fn objects_merge_at_every_depth_and_other_values_replace() {
        let merged = merge_metadata(
            Some(json!({ "a": 1, "n": { "x": 1, "y": [1] }, "keep": true })),
            Some(json!({ "a": 2, "n": { "y": [2], "z": null } })),
        );
        assert_eq!(
            merged,
            Some(json!({ "a": 2, "n": { "x": 1, "y": [2], "z": null }, "keep": true }))
        );
        assert_eq!(
            merge_metadata(None, Some(json!({ "a": 1 }))),
            Some(json!({ "a": 1 }))
        );
        assert_eq!(
            merge_metadata(Some(json!({ "a": 1 })), None),
            Some(json!({ "a": 1 }))
        );
    }
}
