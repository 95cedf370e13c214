//! # chatsync-web
//!
//! The `chatsync` npm package: chat threads stored as Automerge documents in the browser's IndexedDB,
//! usable fully offline and synced through a chatsync relay (or any automerge-repo sync server) when
//! one is reachable.
//!
//! - [`ChatStore`] opens a store (one IndexedDB database), lists threads from the user's index
//!   document, creates and opens threads.
//! - [`Thread`] is one open conversation: writes go through `chatsync-model` and apply at once in
//!   memory; streamed deltas are committed in batches; IndexedDB is written in batches too (see
//!   `inner/flush.rs` for the timings).
//! - Sync: `driver/` runs the protocol crate's `Link` (join, sessions, fetches,
//!   acknowledgements, resume, backoff) over the relay WebSocket, in one loop; `sync.rs` holds the
//!   link it shares with the store's calls.
//! - The state a store's parts share is `inner/` (private fields, methods grouped by concept);
//!   when to write what to IndexedDB is pure code in `persist.rs` and `marks.rs`.
//! - Storage layout, one transaction per flush: `idb.rs`. Errors reach JavaScript as `Error` objects
//!   with a stable `code`: [`StoreError`].
//!
//! ```js
//! import init, { ChatStore } from "chatsync";
//! await init();
//! const store = await ChatStore.open({ dbName: "chat" });
//! const summary = await store.createThread({ title: "Trip" });
//! const thread = await store.openThread(summary.id);
//! thread.appendMessage({ role: "user", content: "Hi" });
//! ```
//!
//! On any target but wasm32 this crate holds only its pure storage rules (`persist.rs`,
//! `marks.rs`), so their unit tests run natively.
#![warn(missing_docs)]

// When to write what to IndexedDB: no web-sys or js-sys, compiled and unit-tested natively. Only
// the browser's modules use them, hence the allowance elsewhere.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod marks;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod persist;

// Everything else is the browser's: elsewhere the crate holds only the pure rules above, so
// `cargo test --workspace` stays native and still tests them.
#[cfg(target_arch = "wasm32")]
mod background;
#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod callbacks;
#[cfg(target_arch = "wasm32")]
mod channel;
#[cfg(target_arch = "wasm32")]
mod driver;
#[cfg(target_arch = "wasm32")]
mod error;
#[cfg(target_arch = "wasm32")]
mod fields;
#[cfg(target_arch = "wasm32")]
mod frame;
#[cfg(target_arch = "wasm32")]
mod handle;
#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod idb_future;
#[cfg(target_arch = "wasm32")]
mod inner;
#[cfg(target_arch = "wasm32")]
mod input;
#[cfg(target_arch = "wasm32")]
mod locks;
#[cfg(target_arch = "wasm32")]
mod me;
#[cfg(target_arch = "wasm32")]
mod open_index;
#[cfg(target_arch = "wasm32")]
mod output;
#[cfg(target_arch = "wasm32")]
mod projects;
#[cfg(target_arch = "wasm32")]
mod socket;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod streams;
#[cfg(target_arch = "wasm32")]
mod sync;
#[cfg(target_arch = "wasm32")]
mod tabs;
#[cfg(target_arch = "wasm32")]
mod thread;
#[cfg(target_arch = "wasm32")]
mod thread_meta;
#[cfg(target_arch = "wasm32")]
mod token;
#[cfg(target_arch = "wasm32")]
mod trash;
#[cfg(target_arch = "wasm32")]
mod user;
#[cfg(target_arch = "wasm32")]
mod util;

#[cfg(target_arch = "wasm32")]
pub use error::StoreError;
#[cfg(target_arch = "wasm32")]
pub use store::ChatStore;
#[cfg(target_arch = "wasm32")]
pub use thread::Thread;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// Talc instead of the standard library's dlmalloc: a few KB less of the package's wasm, and
/// faster (its benchmarks). Single-threaded, as the browser runs this module.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.ts");
