//! [`LinkConfig`]: who a link is and how it paces itself.

use std::time::Duration;

use super::BackoffConfig;

/// How a link introduces itself and paces itself.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// This peer's id (unique per device, tab or process).
    pub peer_id: String,
    /// Whether this peer keeps nothing it syncs (a passing backend process), as told in `join`.
    pub is_ephemeral: bool,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// With `Some`, new local changes wait up to this long for the reply to the message in flight,
    /// then go together (see [`DocSession::batching`](crate::DocSession::batching)): one message per round trip while streaming.
    pub batch_hold: Option<Duration>,
    /// Seeds the backoff jitter. Give each device a different one (its peer id hashed, say).
    pub rng_seed: u64,
    /// How many relays the driver can dial: several relays on one database, each at its own URL,
    /// tried in turn ([`Link::relay`](super::Link::relay) says which). 1 for one relay, or one URL
    /// behind a load balancer; 0 counts as 1.
    pub relays: usize,
}

impl LinkConfig {
    /// An ephemeral peer with the default backoff, a 50 ms batch hold, seed 0 and one relay.
    pub fn new(peer_id: impl Into<String>) -> Self {
        Self {
            peer_id: peer_id.into(),
            is_ephemeral: true,
            backoff: BackoffConfig::default(),
            batch_hold: Some(Duration::from_millis(50)),
            rng_seed: 0,
            relays: 1,
        }
    }
}
