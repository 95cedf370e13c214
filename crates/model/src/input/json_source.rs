//! [`Source`] for a `serde_json::Value`: how native callers (the relay's HTTP API) read the JS API's
//! argument shapes from JSON.

use serde_json::Value;

use super::Source;
use crate::Json;

impl Source for &Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null())
    }

    fn keys(&self) -> Vec<String> {
        self.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn is_object(&self) -> bool {
        Value::is_object(self)
    }

    fn as_string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }

    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }

    fn as_f64(&self) -> Option<f64> {
        Value::as_f64(self)
    }

    fn to_json(&self) -> Option<Json> {
        Some(Json::from((*self).clone()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::input::{InputError, MessageEndInput, NewMessageInput, ThreadInitInput, read};
    use crate::{MessageStatus, Role};

    #[test]
    fn a_shape_reads_its_fields_and_names_what_is_wrong() {
        let m: NewMessageInput = read(&&json!({ "role": "user", "content": "hi" })).unwrap();
        assert_eq!((m.role, m.content.as_str()), (Role::User, "hi"));
        let err = read::<NewMessageInput, _>(&&json!({ "content": "hi" })).unwrap_err();
        assert!(
            matches!(&err, InputError::Missing(f) if f == "role"),
            "{err}"
        );
        let err =
            read::<NewMessageInput, _>(&&json!({ "role": "user", "contnet": "x" })).unwrap_err();
        assert!(err.to_string().contains("unknown field `contnet`"), "{err}");
        let err = read::<NewMessageInput, _>(&&json!({ "role": 3 })).unwrap_err();
        assert_eq!(err.to_string(), "`role` must be a string");
        let err = read::<NewMessageInput, _>(&&json!({ "role": "robot" })).unwrap_err();
        assert!(err.to_string().contains("role"), "{err}");
        assert!(read::<NewMessageInput, _>(&&json!([1])).is_err());
    }

    #[test]
    fn nested_fields_are_named_by_the_field_that_holds_them() {
        let err =
            read::<ThreadInitInput, _>(&&json!({ "settings": { "temprature": 1 } })).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`settings`: unknown field `temprature`, expected one of `provider`, `model`, \
             `systemPrompt`, `temperature`, `contextWindow`"
        );
        let err =
            read::<MessageEndInput, _>(&&json!({ "status": "complete", "usage": 5 })).unwrap_err();
        assert_eq!(err.to_string(), "`usage`: expected an object");
        let end: MessageEndInput = read(&&json!({ "status": "complete", "usage": null })).unwrap();
        assert_eq!(end.status, MessageStatus::Complete);
    }
}
