//! # chatsync-relay
//!
//! The relay: it speaks automerge-repo's sync protocol over WebSocket, stores every document durably
//! before it acknowledges a change, and lets each user reach only the documents they own.
#![warn(missing_docs)]

pub mod auth;
pub mod storage;
