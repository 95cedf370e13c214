//! # chatsync-protocol
//!
//! automerge-repo's wire protocol, without IO: [`Message`] (one CBOR map per binary WebSocket frame)
//! and [`DocumentId`] (base58check of 16 bytes). A JS automerge-repo peer and chatsync's relay and
//! clients speak it to each other. [`DocSession`] runs Automerge's sync protocol for one document
//! with one peer, without IO, and checks every payload a peer sends before Automerge reads it
//! ([`SyncMessageError`]). [`Link`] is the client side of one relay connection above those sessions
//! — join, fetch, acknowledgements, resume, reconnect backoff — as a passive state machine that the
//! native client and the browser store drive. [`hub`] is the other side: the relay's decisions —
//! connections, document sessions, ownership, store-before-acknowledge, budgets, eviction — as
//! passive state machines the relay drives.
//!
//! ```
//! use chatsync_protocol::{DocumentId, Message};
//!
//! let document_id: DocumentId = "bQsq314HiQ6Sk4sLcK1zrchCxv7".parse()?;
//! let frame = Message::DocUnavailable {
//!     sender_id: "relay".into(),
//!     target_id: "deviceA".into(),
//!     document_id,
//! }
//! .encode();
//! assert_eq!(Message::decode(&frame)?.type_name(), "doc-unavailable");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod cbor;
mod document_id;
pub mod hub;
mod link;
mod message;
mod session;
mod sync_check;

pub use document_id::{DocumentId, DocumentIdError};
pub use link::{
    BackoffConfig, ConnectionState, CredentialsRefusal, Disconnect, Documents, Link, LinkConfig,
    LinkError, LinkEvent, SavedSync, TOKEN_EXPIRED,
};
pub use message::{DecodeError, Message, PeerMetadata};
pub use session::{
    DocSession, SyncError, asks_to_start_over, holds_all, is_from_empty_peer,
    whole_document_message,
};
pub use sync_check::{Part as SyncMessagePart, SyncMessageError};

/// Re-exported so callers name the same Automerge types as this crate.
pub use automerge;
