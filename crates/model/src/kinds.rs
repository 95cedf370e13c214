//! The closed sets of values a document stores as plain strings: roles and statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

macro_rules! string_enum {
    (
        $(#[$doc:meta])* $name:ident, $field:literal {
            $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The string stored in the document.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, ModelError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ModelError::InvalidValue {
                        field: $field,
                        value: s.chars().take(64).collect(),
                        expected: concat!("one of:" $(, " ", $text)+),
                    }),
                }
            }
        }
    };
}

string_enum!(
    /// Who wrote a message.
    Role, "role" {
        /// A person.
        User => "user",
        /// The model.
        Assistant => "assistant",
        /// Instructions to the model.
        System => "system",
        /// A tool's result.
        Tool => "tool",
    }
);

string_enum!(
    /// Where a message is in its life.
    MessageStatus, "message status" {
        /// Created, no content streamed yet.
        Pending => "pending",
        /// Content is arriving.
        Streaming => "streaming",
        /// Finished normally.
        Complete => "complete",
        /// Finished with an error.
        Error => "error",
        /// Stopped by the user.
        Cancelled => "cancelled",
        /// Its writer is gone. A view reports a `pending` or `streaming` message whose last update is
        /// older than the staleness window so; a writer whose stream broke off stores it
        /// ([`Thread::interrupt_message`](crate::Thread::interrupt_message)).
        Interrupted => "interrupted",
    }
);

impl MessageStatus {
    /// Whether the message can still change (receive deltas, be finished).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Streaming)
    }
}

string_enum!(
    /// A thread's lifecycle.
    ThreadStatus, "thread status" {
        /// Listed normally.
        Active => "active",
        /// Hidden from the default list, kept.
        Archived => "archived",
        /// Gone from every list; terminal.
        Deleted => "deleted",
    }
);

string_enum!(
    /// Where a tool call is.
    ToolCallStatus, "tool call status" {
        /// Requested by the model, not started.
        Pending => "pending",
        /// Running.
        Running => "running",
        /// Returned output.
        Completed => "completed",
        /// Returned an error.
        Failed => "failed",
    }
);

impl ToolCallStatus {
    /// Whether the call has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

string_enum!(
    /// Where an approval request is.
    ApprovalStatus, "approval status" {
        /// Waiting for a person.
        Pending => "pending",
        /// Approved; final.
        Approved => "approved",
        /// Rejected; final.
        Rejected => "rejected",
    }
);

string_enum!(
    /// Where an artifact is.
    ArtifactStatus, "artifact status" {
        /// Being written or revised.
        Draft => "draft",
        /// Done.
        Final => "final",
    }
);

string_enum!(
    /// Where a thread's title comes from.
    TitleSource, "title source" {
        /// No user message yet: "New conversation".
        Default => "default",
        /// Derived from the first user message.
        Derived => "derived",
        /// Set by a person; never replaced by a derived one.
        Person => "person",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_value_round_trips_through_its_string() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
        }
        for status in MessageStatus::ALL {
            assert_eq!(status.as_str().parse::<MessageStatus>().unwrap(), *status);
        }
    }

    #[test]
    fn unknown_value_names_the_field_and_the_choices() {
        let err = "robot".parse::<Role>().unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("role") && text.contains("assistant"),
            "{text}"
        );
    }
}
