//! The user's own records, kept in their index: `preferences:get` / `preferences:set`,
//! `profile:get` / `profile:set` and `usage:get` — the JSON of the browser's `store.preferences()`,
//! `store.profile()` and `store.usage()`.
//!
//! A `*:set` takes the patch's fields as its arguments (`null` clears one, back to its default)
//! and answers with the whole record after it, so a repeat of the same patch answers alike and
//! writes nothing new.

use std::sync::Arc;

use chatsync_model::input::Fields;
use chatsync_model::{Patch, PatchTarget};
use serde_json::Value;

use super::error::ApiError;
use super::index::{read_index, write_index};
use super::json;
use crate::relay::Relay;
use crate::storage::Storage;

/// `preferences:set` and `profile:set`.
pub(super) async fn set<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    target: PatchTarget,
    args: &Value,
) -> Result<Value, ApiError> {
    let patch = Patch::from_json(target, args)?;
    write_index(relay, user, move |index, now| {
        match target {
            PatchTarget::Preferences => index.set_preferences(&patch, now)?,
            _ => index.set_profile(&patch, now)?,
        }
        record(index, target)
    })
    .await
}

/// `preferences:get` and `profile:get`: no arguments.
pub(super) async fn get<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    target: PatchTarget,
    args: &Value,
) -> Result<Value, ApiError> {
    Fields::of(&args)?.finish()?;
    read_index(relay, user, move |index, _| record(index, target)).await?
}

fn record(index: &chatsync_model::Index, target: PatchTarget) -> Result<Value, ApiError> {
    match target {
        PatchTarget::Preferences => json(&index.preferences()),
        _ => json(&index.profile()),
    }
}

/// `usage:get`: what the user used today and this month, `{ utcOffsetMinutes? }` saying where
/// "today" is (default 0, UTC; the browser passes `-new Date().getTimezoneOffset()`).
pub(super) async fn usage<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let mut f = Fields::of(&args)?;
    let offset = f.number("utcOffsetMinutes")?.unwrap_or(0.0);
    f.finish()?;
    if offset.fract() != 0.0 || offset.abs() > f64::from(i32::MAX) {
        return Err(ApiError::InvalidInput(format!(
            "`utcOffsetMinutes` must be a whole number of minutes, not {offset}"
        )));
    }
    let offset = offset as i32;
    read_index(relay, user, move |index, now| {
        json(&index.usage(now, offset)?)
    })
    .await?
}
