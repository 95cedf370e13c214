//! Hostile inputs against the relay: each case is bounded and runs in CI. Timing cases run on tokio's
//! paused clock over the channel-driven connection loop; socket cases take a few seconds at most.

mod limits;
mod sockets;
mod support;
