//! Which relays a client may dial: the configured URL and its fallbacks. When to dial, and which of
//! them, is the [`Link`]'s rule (shared with the browser store): after a failed dial or a lost
//! connection the next dial goes to the next relay ([`Link::relay`]), so a client whose relay died
//! (`kill -9`, a deploy) reaches another one on its first retry, and comes back round to the first
//! one later. One URL behind a load balancer is the same list of one.
//!
//! [`Link`]: chatsync_protocol::Link
//! [`Link::relay`]: chatsync_protocol::Link::relay

/// The relays a client may use, in the order they are tried.
#[derive(Clone, Debug)]
pub(crate) struct Relays {
    urls: Vec<String>,
}

impl Relays {
    /// `first`, then each of `fallbacks` (without repeating `first`).
    pub(crate) fn new(first: &str, fallbacks: &[String]) -> Self {
        let mut urls = vec![first.to_owned()];
        urls.extend(fallbacks.iter().filter(|url| *url != first).cloned());
        Self { urls }
    }

    /// The URL of relay `index` (as [`Link::relay`](chatsync_protocol::Link::relay) names it).
    pub(crate) fn url(&self, index: usize) -> &str {
        &self.urls[index % self.urls.len()]
    }

    /// How many relays there are.
    pub(crate) fn len(&self) -> usize {
        self.urls.len()
    }
}

#[cfg(test)]
mod tests {
    use chatsync_protocol::{Disconnect, Link, LinkConfig};
    use std::time::Duration;

    use super::*;

    #[test]
    fn relays_are_tried_in_turn_and_round_again() {
        let relays = Relays::new("ws://a/sync", &["ws://b/sync".into(), "ws://c/sync".into()]);
        let mut link = Link::new(LinkConfig {
            relays: relays.len(),
            ..LinkConfig::new("device")
        });
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(relays.url(link.relay()).to_owned());
            link.handle_disconnected(Duration::ZERO, Disconnect::DialFailed);
        }
        assert_eq!(
            seen,
            ["ws://a/sync", "ws://b/sync", "ws://c/sync", "ws://a/sync"]
        );
    }

    #[test]
    fn one_url_stays_that_url() {
        let relays = Relays::new("ws://lb/sync", &["ws://lb/sync".into()]);
        assert_eq!(relays.len(), 1);
        assert_eq!(relays.url(1), "ws://lb/sync");
    }
}
