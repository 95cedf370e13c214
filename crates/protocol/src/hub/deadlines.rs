//! The clocks of one connection: the join deadline, keepalive pings, the idle timeout, and the
//! token's expiry. Times are durations since the connection's driver's epoch.

use std::time::Duration;

use super::refusal::Refusal;

/// What a connection's clocks ask for.
#[derive(Debug)]
#[non_exhaustive]
pub enum Due {
    /// Send a ping: proxies drop WebSockets that carry nothing for about a minute.
    Ping,
    /// Close the connection.
    Close(Refusal),
}

/// How long a connection may take to join and may stay silent, and how often it is pinged.
#[derive(Clone, Copy, Debug)]
pub struct DeadlineConfig {
    /// A connection that has not sent `join` this long after opening is closed (1008).
    pub join_timeout: Duration,
    /// How often an open connection is pinged.
    pub ping_interval: Duration,
    /// A connection that sends nothing (no frame, no pong) this long is closed (1001).
    pub idle_timeout: Duration,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        Self {
            join_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// One connection's deadlines.
#[derive(Debug)]
pub(super) struct Deadlines {
    /// Until the peer has joined.
    join_by: Option<Duration>,
    /// When the token stops being valid (never, for development auth).
    expires_at: Option<Duration>,
    last_heard: Duration,
    next_ping: Duration,
    config: DeadlineConfig,
}

impl Deadlines {
    /// The clocks of a connection opened at `now` with a token valid until `expires_at`.
    pub(super) fn new(now: Duration, config: DeadlineConfig, expires_at: Option<Duration>) -> Self {
        Self {
            join_by: Some(now + config.join_timeout),
            expires_at,
            last_heard: now,
            next_ping: now + config.ping_interval,
            config,
        }
    }

    /// The peer has joined: the join deadline no longer applies.
    pub(super) fn joined(&mut self) {
        self.join_by = None;
    }

    /// A frame (data, ping or pong) arrived at `now`: the peer is alive.
    pub(super) fn heard(&mut self, now: Duration) {
        self.last_heard = now;
    }

    /// When something may next be due.
    pub(super) fn next_wake(&self) -> Duration {
        [
            self.join_by,
            self.expires_at,
            Some(self.last_heard + self.config.idle_timeout),
            Some(self.next_ping),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.next_ping)
    }

    /// What is due at `now`, most serious first. A ping reschedules the next one.
    pub(super) fn poll(&mut self, now: Duration) -> Option<Due> {
        if self.expires_at.is_some_and(|at| now >= at) {
            return Some(Due::Close(Refusal::TokenExpired));
        }
        if self.join_by.is_some_and(|at| now >= at) {
            return Some(Due::Close(Refusal::JoinDeadline(self.config.join_timeout)));
        }
        if now >= self.last_heard + self.config.idle_timeout {
            return Some(Due::Close(Refusal::Idle(self.config.idle_timeout)));
        }
        if now >= self.next_ping {
            self.next_ping = now + self.config.ping_interval;
            return Some(Due::Ping);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_peer_that_never_joins_is_closed_at_the_join_deadline() {
        let mut d = Deadlines::new(at(0), DeadlineConfig::default(), None);
        assert_eq!(d.next_wake(), at(10));
        assert!(d.poll(at(9)).is_none());
        assert!(matches!(
            d.poll(at(10)),
            Some(Due::Close(Refusal::JoinDeadline(_)))
        ));
    }

    #[test]
    fn a_joined_peer_is_pinged_and_closed_only_after_the_idle_timeout() {
        let mut d = Deadlines::new(at(0), DeadlineConfig::default(), None);
        d.joined();
        assert_eq!(d.next_wake(), at(20));
        assert!(matches!(d.poll(at(20)), Some(Due::Ping)));
        assert_eq!(d.next_wake(), at(40));
        // A pong at 30 s keeps it alive past 60 s.
        d.heard(at(30));
        assert!(matches!(d.poll(at(40)), Some(Due::Ping)));
        assert!(matches!(d.poll(at(60)), Some(Due::Ping)));
        assert!(matches!(d.poll(at(90)), Some(Due::Close(Refusal::Idle(_)))));
    }

    #[test]
    fn the_tokens_expiry_comes_before_everything_else() {
        let mut d = Deadlines::new(at(0), DeadlineConfig::default(), Some(at(5)));
        assert_eq!(d.next_wake(), at(5));
        assert!(matches!(
            d.poll(at(100)),
            Some(Due::Close(Refusal::TokenExpired))
        ));
    }
}
