//! The `chatsync` package in headless Chromium: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p
//! chatsync-web --target wasm32-unknown-unknown` (scripts/test.sh does this). A module per area.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod support;

mod backend;
mod compaction;
mod context;
mod corruption;
mod deletion;
mod errors;
mod index_repair;
mod lifecycle;
mod local_only;
mod parts;
mod persistence;
mod preferences;
mod projects;
mod relays;
mod status;
mod stored_view;
mod stream_locks;
mod sync;
mod tabs;
mod tokens;
mod trash;
mod unsynced;
mod upgrade;
