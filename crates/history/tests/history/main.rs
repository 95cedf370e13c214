//! The history crate against threads written through `chatsync-model`: one module per area.

mod grouping;
mod restore;
mod support;
mod undo;
mod view_at;
