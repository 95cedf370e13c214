//! # chatsync-model
//!
//! The chat domain of chatsync on [Automerge](automerge) documents: a [`Thread`] per conversation and an
//! [`Index`] per user. No IO, no clock, no randomness — every time is passed in as milliseconds since the
//! Unix epoch and every id is chosen by the caller — so the same code runs in the browser (wasm32), in
//! the relay and in tests, deterministically.
//!
//! - [`Thread`]: messages (with streaming deltas, status, usage, feedback, metadata, and branches from
//!   edits and regenerations), artifacts, tool calls, approval requests, agent session state, context
//!   entries, settings and title. Writes accumulate in one pending change until [`Thread::commit`], so a
//!   stream of token deltas costs one change per batch, not one per token.
//! - [`Index`]: a summary per thread ([`ThreadSummary`]), so the thread list never opens a thread;
//!   the trash (restorable for the user's `trashRetentionDays`) and purge tombstones that refuse
//!   every later write; the user's projects ([`Project`]), [`Preferences`] and profile, each field
//!   merged on its own across devices and changed through a checked [`Patch`].
//! - Totals: token totals and activity are computed from a thread's messages, never counted up, so
//!   concurrent writes cannot make them drift; [`usage()`] counts today's messages and this month's
//!   tokens from the index in the caller's time zone, and [`threads_to_purge`] applies a
//!   [`RetentionPolicy`].
//! - Views ([`ThreadView`], [`ThreadSummary`]) are what a UI renders, serializable with serde.
//! - Every refusal is a [`ModelError`] and leaves the document unchanged.
//!
//! ```
//! use automerge::ActorId;
//! use chatsync_model::{
//!     Limits, MessageEnd, MessageId, MessageStatus, NewMessage, ReadAt, Role, Thread, ThreadId,
//!     ThreadInit,
//! };
//!
//! let id = ThreadId::new("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv")?;
//! let actor = ActorId::from(b"device-a".to_vec());
//! let mut thread = Thread::create(ThreadInit::new(id, actor, 1_000), Limits::default())?;
//!
//! let question = MessageId::new("m1")?;
//! thread.append_message(NewMessage::new(question, Role::User, "What is a CRDT?"), 1_000)?;
//! let reply = MessageId::new("m2")?;
//! thread.append_message(NewMessage::new(reply.clone(), Role::Assistant, ""), 1_010)?;
//! for (i, token) in ["A conflict-free ", "replicated ", "data type."].iter().enumerate() {
//!     thread.append_delta(&reply, token, 1_020 + i as u64)?;
//! }
//! thread.commit(); // one change for the whole batch of deltas
//! let end = MessageEnd { status: MessageStatus::Complete, usage: None };
//! thread.finish_message(&reply, end, 1_100)?;
//!
//! let view = thread.view(ReadAt::new(1_200));
//! assert_eq!(view.title, "What is a CRDT?");
//! assert_eq!(view.messages[1].content, "A conflict-free replicated data type.");
//! # Ok::<(), chatsync_model::ModelError>(())
//! ```
#![warn(missing_docs)]

mod access;
mod error;
mod ids;
mod index;
pub mod input;
mod json;
mod kinds;
mod limits;
mod patch;
mod preferences;
mod project;
mod retention;
mod schema;
mod settings;
mod sorted;
mod thread;
pub mod title;
pub mod usage;
pub mod view;
pub mod view_json;

pub use error::ModelError;
pub use ids::{ApprovalId, ArtifactId, MAX_ID_LEN, MessageId, ProjectId, ThreadId, ToolCallId};
pub use index::{INDEX_SCHEMA_VERSION, Index, ListOptions};
pub use json::Json;
pub use kinds::{
    ApprovalStatus, ArtifactStatus, MessageStatus, Role, ThreadStatus, TitleSource, ToolCallStatus,
};
pub use limits::Limits;
pub use patch::{
    FieldKind, FieldValue, FieldValues, PREFERENCE_FIELDS, PROFILE_FIELDS, PROJECT_FIELDS, Patch,
    PatchTarget,
};
pub use preferences::Preferences;
pub use project::Project;
pub use retention::{RetentionPolicy, threads_to_purge};
pub use schema::THREAD_SCHEMA_VERSION;
pub use settings::ThreadSettings;
pub use thread::{
    ApprovalDecision, ApprovalRequest, ArtifactUpsert, ContextEntry, Feedback, FromAutomergeError,
    MessageEnd, NewMessage, Regenerate, SessionState, Thread, ThreadInit, ToolCallOutcome,
    ToolCallStart, Usage,
};
pub use usage::{UsageReport, usage};
pub use view::{ReadAt, ThreadSummary, ThreadView};

/// Re-exported so callers name the same Automerge types (actor ids, change hashes) as this crate.
pub use automerge;
