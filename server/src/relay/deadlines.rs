//! The clocks of one connection: the join deadline, keepalive pings, the idle timeout, and the
//! token's expiry. A passive type — the connection loop tells it what happened and when, sleeps until
//! [`Deadlines::next_wake`], and asks [`Deadlines::poll`] what is due — so the rules are tested without
//! a socket and can move into a sans-IO hub unchanged.

use std::time::Duration;

use tokio::time::Instant;

use super::Limits;
use super::refusal::Refusal;

/// What a connection's clocks ask for.
#[derive(Debug)]
pub(crate) enum Due {
    /// Send a ping: proxies drop WebSockets that carry nothing for about a minute.
    Ping,
    /// Close the connection.
    Close(Refusal),
}

/// One connection's deadlines.
#[derive(Debug)]
pub(crate) struct Deadlines {
    /// Until the peer has joined.
    join_by: Option<Instant>,
    join_timeout: Duration,
    /// When the token stops being valid (never, for development auth).
    expires_at: Option<Instant>,
    last_heard: Instant,
    idle_timeout: Duration,
    next_ping: Instant,
    ping_interval: Duration,
}

impl Deadlines {
    /// The clocks of a connection opened at `now` with a token valid until `expires_at`.
    pub(crate) fn new(now: Instant, limits: &Limits, expires_at: Option<Instant>) -> Self {
        Self {
            join_by: Some(now + limits.join_timeout),
            join_timeout: limits.join_timeout,
            expires_at,
            last_heard: now,
            idle_timeout: limits.idle_timeout,
            next_ping: now + limits.ping_interval,
            ping_interval: limits.ping_interval,
        }
    }

    /// The peer has joined: the join deadline no longer applies.
    pub(crate) fn joined(&mut self) {
        self.join_by = None;
    }

    /// A frame (data, ping or pong) arrived at `now`: the peer is alive.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// When something may next be due.
    pub(crate) fn next_wake(&self) -> Instant {
        [
            self.join_by,
            self.expires_at,
            Some(self.last_heard + self.idle_timeout),
            Some(self.next_ping),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.next_ping)
    }

    /// What is due at `now`, most serious first. A ping reschedules the next one.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<Due> {
        if self.expires_at.is_some_and(|at| now >= at) {
            return Some(Due::Close(Refusal::TokenExpired));
        }
        if self.join_by.is_some_and(|at| now >= at) {
            return Some(Due::Close(Refusal::JoinDeadline(self.join_timeout)));
        }
        if now >= self.last_heard + self.idle_timeout {
            return Some(Due::Close(Refusal::Idle(self.idle_timeout)));
        }
        if now >= self.next_ping {
            self.next_ping = now + self.ping_interval;
            return Some(Due::Ping);
        }
        None
    }
}

/// A wall-clock expiry as an instant of tokio's clock (which tests can pause): `None` stays `None`,
/// a time already past is `now`.
pub(crate) fn instant_of(expires_at: Option<std::time::SystemTime>) -> Option<Instant> {
    let left = expires_at?
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now().checked_add(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            join_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            ..Limits::default()
        }
    }

    #[test]
    fn a_peer_that_never_joins_is_closed_at_the_join_deadline() {
        let start = Instant::now();
        let mut d = Deadlines::new(start, &limits(), None);
        assert_eq!(d.next_wake(), start + Duration::from_secs(10));
        assert!(d.poll(start + Duration::from_secs(9)).is_none());
        assert!(matches!(
            d.poll(start + Duration::from_secs(10)),
            Some(Due::Close(Refusal::JoinDeadline(_)))
        ));
    }

    #[test]
    fn a_joined_peer_is_pinged_and_closed_only_after_the_idle_timeout() {
        let start = Instant::now();
        let mut d = Deadlines::new(start, &limits(), None);
        d.joined();
        let at = |s| start + Duration::from_secs(s);
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
        let start = Instant::now();
        let mut d = Deadlines::new(start, &limits(), Some(start + Duration::from_secs(5)));
        assert_eq!(d.next_wake(), start + Duration::from_secs(5));
        assert!(matches!(
            d.poll(start + Duration::from_secs(100)),
            Some(Due::Close(Refusal::TokenExpired))
        ));
    }
}
