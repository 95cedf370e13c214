//! Which relay to dial: the configured URL and its fallbacks, tried in turn. The [`Link`] decides
//! when to dial (with backoff and jitter); this only decides where. After a failed dial or a lost
//! connection the next dial goes to the next relay, so a client whose relay died (`kill -9`, a
//! deploy) reaches another one on its first retry, and comes back round to the first one later. One
//! URL behind a load balancer is the same list of one.
//!
//! [`Link`]: chatsync_protocol::Link

/// The relays a client may use, and the one it uses now.
#[derive(Clone, Debug)]
pub(crate) struct Relays {
    urls: Vec<String>,
    current: usize,
}

impl Relays {
    /// `first`, then each of `fallbacks`.
    pub(crate) fn new(first: &str, fallbacks: &[String]) -> Self {
        let mut urls = vec![first.to_owned()];
        urls.extend(fallbacks.iter().filter(|url| *url != first).cloned());
        Self { urls, current: 0 }
    }

    /// The relay to dial now.
    pub(crate) fn current(&self) -> &str {
        &self.urls[self.current]
    }

    /// Moves on to the next relay (round the list), after this one failed or dropped us.
    pub(crate) fn advance(&mut self) {
        self.current = (self.current + 1) % self.urls.len();
    }

    /// How many relays there are.
    pub(crate) fn len(&self) -> usize {
        self.urls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_are_tried_in_turn_and_round_again() {
        let mut relays = Relays::new("ws://a/sync", &["ws://b/sync".into(), "ws://c/sync".into()]);
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(relays.current().to_owned());
            relays.advance();
        }
        assert_eq!(
            seen,
            ["ws://a/sync", "ws://b/sync", "ws://c/sync", "ws://a/sync"]
        );
    }

    #[test]
    fn one_url_stays_that_url() {
        let mut relays = Relays::new("ws://lb/sync", &["ws://lb/sync".into()]);
        assert_eq!(relays.len(), 1);
        relays.advance();
        assert_eq!(relays.current(), "ws://lb/sync");
    }
}
