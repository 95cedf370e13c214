//! The HTTP API for backends (`/api/mutation`, `/api/query`, `/api/stream`) against a relay served on
//! 127.0.0.1: every path, idempotent retries, isolation between users, every refusal, streamed
//! replies (whole, cut, stalled), and writes seen live by a native client.

mod durability;
mod examples;
mod isolation;
mod live;
mod mutations;
mod organize;
mod parts;
mod purge;
mod refusals;
mod search;
mod sharing;
mod sharing_sync;
mod streaming;
mod support;
mod ui_stream;

use std::time::Duration;

/// Polls `check` every 10 ms until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
