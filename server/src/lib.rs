//! # chatsync-relay
//!
//! The relay: it speaks automerge-repo's sync protocol over WebSocket (`GET /sync`), stores every
//! document durably before it acknowledges a change, and lets each user reach only the documents they
//! own — another user's document is answered exactly like a missing one.
//!
//! - [`storage`]: the `Storage` trait and its embedded SQLite implementation.
//! - [`auth`]: JWTs — HS256 with a shared secret, RS256 / ES256 from an identity provider's JWKS or a
//!   PEM key (or, on loopback during development, the user id as the token).
//! - [`relay`]: the driver of the protocol's sans-IO hub (`chatsync_protocol::hub`, which decides):
//!   sockets, documents in memory each under its own lock, storage tasks, the blocking pool, timers,
//!   limits, metrics.
//! - [`http`]: the routes; [`server::run`] serves them until shutdown.
//! - [`api`]: the HTTP API for backends (`/api/mutation`, `/api/query`, `/api/stream`).
//! - [`search`]: the search table behind `threads:search`, kept current with stored changes.
//! - [`open_files`]: the open-files limit, raised to the hard limit at start.
//! - [`malloc_tuning`]: glibc's allocator settings for a relay, applied at start.
#![warn(missing_docs)]

mod accept;
pub mod api;
pub mod auth;
pub mod config;
pub mod http;
pub mod malloc_tuning;
pub mod open_files;
pub mod relay;
pub mod retention;
pub mod search;
pub mod server;
pub mod storage;
