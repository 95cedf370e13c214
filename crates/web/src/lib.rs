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
//! - Sync: `driver.rs` runs the protocol crate's `Link` (join, sessions, fetches,
//!   acknowledgements, resume, backoff) over the relay WebSocket, in one loop; `sync.rs` is what
//!   the store's calls read of the link.
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

/// Items compiled for the browser only: elsewhere the crate holds just its pure rules (below), so
/// `cargo test --workspace` stays native and still tests them.
macro_rules! browser_only {
    ($($item:item)*) => { $(#[cfg(target_arch = "wasm32")] $item)* };
}

// When to write what to IndexedDB: no web-sys or js-sys, compiled and unit-tested natively. Only
// the browser's modules use them, hence the allowance elsewhere.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod marks;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod persist;

browser_only! {
    mod background;
    mod browser;
    mod callbacks;
    mod driver;
    mod error;
    mod fields;
    mod frame;
    mod handle;
    mod idb;
    mod inner;
    mod input;
    mod locks;
    mod me;
    mod open_index;
    mod output;
    mod socket;
    mod store;
    mod streams;
    mod sync;
    mod tabs;
    mod thread;
    mod token;
    mod util;

    pub use error::StoreError;
    pub use store::ChatStore;
    pub use thread::Thread;

    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(typescript_custom_section)]
    const TYPES: &str = include_str!("types.ts");
}
