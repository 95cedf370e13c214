//! Integration tests of [`chatsync_model::Thread`], one module per area. The same tests run natively and,
//! through `wasm-bindgen-test`, on wasm32.
#[cfg(target_arch = "wasm32")]
#[allow(unused_imports)] // the tests live in the modules below, which import it themselves
use wasm_bindgen_test::wasm_bindgen_test as test;

mod support;

mod approvals;
mod artifacts;
mod branches;
mod errors;
mod messages;
mod metadata;
mod parts;
mod persistence;
mod preferences;
mod projects;
mod schema;
mod session_context;
mod tool_calls;
mod totals;
mod trash;
