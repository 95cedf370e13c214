//! # chatsync-history
//!
//! A chatsync thread's history, read from its Automerge document: the thread's **versions**, each
//! an edit a person would name (a message sent, a reply streamed to its end, a title set, settings
//! changed, a branch chosen, an artifact updated, …) rather than one per Automerge change; the thread
//! **as it was** at any version, rendered by `chatsync-model` exactly as the live thread is; and
//! **restoring** a version — the whole thread, or one message — as a *new* change on top of the
//! current document, so history is never rewritten and every device converges on it as on any
//! other edit. [`History::undo`] restores what this device's last edit touched to how it was before.
//!
//! - [`History::load`] reads the document and groups its changes into [`VersionEntry`]s
//!   ([`versions`](History::versions)), oldest first.
//! - [`History::view_at`] is the thread's [`ThreadView`] at a [`Version`].
//! - [`History::restore`] and [`History::undo`] return the new change's bytes, which the live
//!   thread merges (`thread.applyChanges` in the browser, [`chatsync_model::Thread::load_incremental`]
//!   natively) and syncs.
//!
//! The browser package loads this crate as a wasm module of its own, on a thread's first history
//! call, so apps that never look back never download it (the `wasm` module below is that module's
//! JS API).
//!
//! ```
//! use automerge::ActorId;
//! use chatsync_history::{History, RestoreTarget, VersionKind};
//! use chatsync_model::{Limits, MessageId, NewMessage, ReadAt, Role, Thread, ThreadId, ThreadInit};
//!
//! let id = ThreadId::new("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv")?;
//! let mut thread =
//!     Thread::create(ThreadInit::new(id.clone(), ActorId::from(b"device-a".to_vec()), 1_000), Limits::default())?;
//! thread.append_message(NewMessage::new(MessageId::new("m1")?, Role::User, "Hello"), 2_000)?;
//! thread.commit();
//! thread.set_title("Greetings", 3_000)?;
//! thread.commit();
//!
//! let mut history = History::load(id.clone(), &thread.save()?)?;
//! let kinds: Vec<_> = history.versions().iter().map(|v| v.kind).collect();
//! assert_eq!(kinds, [VersionKind::Created, VersionKind::Message, VersionKind::Title]);
//! let sent = history.versions()[1].version.clone();
//! assert_eq!(history.view_at(&sent)?.title, "Hello");
//!
//! // Bring the thread back to how it was when the message was sent: one new change.
//! let change = history
//!     .restore(&sent, RestoreTarget::Thread, ActorId::from(b"device-a-2".to_vec()), 4_000)?
//!     .expect("the title differs");
//! thread.load_incremental(&change)?;
//! assert_eq!(thread.view(ReadAt::new(4_000)).title, "Hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod classify;
mod copy;
mod error;
mod history;
mod restore;
mod summary;
mod version;
mod versions;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use chatsync_model::ThreadView;
pub use error::HistoryError;
pub use history::{History, RestoreTarget};
pub use version::{Version, VersionKind};
pub use versions::VersionEntry;

/// The commit message that marks a change made by [`History::restore`]: followed by the version.
pub const RESTORE_MARK: &str = "chatsync-history:restore ";
/// The commit message that marks a change made by [`History::undo`]: followed by the first change
/// of the version it undid, so a second undo goes one edit further back.
pub const UNDO_MARK: &str = "chatsync-history:undo ";
