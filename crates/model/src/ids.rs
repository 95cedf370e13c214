//! Validated ids. Every id is chosen by the caller (the model has no randomness) and checked once, here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

fn validate(kind: &'static str, id: &str) -> Result<(), ModelError> {
    let reason = if id.is_empty() {
        "it is empty"
    } else if id.len() > MAX_ID_LEN {
        "it is longer than 128 bytes"
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
    {
        "only A-Z a-z 0-9 _ - . : are allowed"
    } else {
        return Ok(());
    };
    Err(ModelError::InvalidId {
        kind,
        id: id.chars().take(MAX_ID_LEN).collect(),
        reason,
    })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `id` and wraps it.
            pub fn new(id: impl Into<String>) -> Result<Self, ModelError> {
                let id = id.into();
                validate($kind, &id)?;
                Ok(Self(id))
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ModelError;
            fn try_from(id: String) -> Result<Self, ModelError> {
                Self::new(id)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ModelError;
            fn try_from(id: &str) -> Result<Self, ModelError> {
                Self::new(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A thread's id, which is also its document id.
    ThreadId,
    "thread"
);
id_type!(
    /// A message's id, unique within its thread.
    MessageId,
    "message"
);
id_type!(
    /// An artifact's id, unique within its thread.
    ArtifactId,
    "artifact"
);
id_type!(
    /// A tool call's id, unique within its thread.
    ToolCallId,
    "tool call"
);
id_type!(
    /// An approval request's id, unique within its thread.
    ApprovalId,
    "approval"
);
id_type!(
    /// A message part's id (a text or reasoning part a stream targets), unique within its message.
    PartId,
    "part"
);
id_type!(
    /// A project's id, unique within its user's index.
    ProjectId,
    "project"
);

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn accepts_uuid_and_provider_style_ids() {
        assert!(MessageId::new("0b7f3c2e-4f7e-4a51-9d2a-7c1e2b9a0f11").is_ok());
        assert!(ToolCallId::new("call_abc.123:x").is_ok());
    }

    #[test]
    fn refuses_empty_long_and_odd_ids() {
        for bad in ["", "a/b", "with space", "ünï"] {
            let err = MessageId::new(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    ModelError::InvalidId {
                        kind: "message",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        assert!(ThreadId::new("x".repeat(MAX_ID_LEN)).is_ok());
        assert!(ThreadId::new("x".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn deserializing_checks_the_id() {
        assert!(serde_json::from_str::<MessageId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<MessageId>("\"\"").is_err());
    }
}
