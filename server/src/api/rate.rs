//! A request budget per user: a token bucket that holds one second's worth of requests and refills
//! continuously, so a backend's loop gets `429 rate_limited` instead of starving everyone else.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Users beyond this many buckets make the map drop the full ones (users idle for a second or
/// more): their state is the same as a fresh bucket's.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Per-user token buckets behind a std mutex held for one update, never across an await.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A budget of `per_second` requests per second per user, and as many in a burst.
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            per_second: per_second.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The budget per second.
    pub(crate) fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes one request from `user`'s budget at `now`, or says how long until one is there.
    pub(crate) fn take(&self, user: &str, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(self.per_second);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| b.tokens + rate * elapsed(b.at, now) < rate);
        }
        let bucket = buckets.entry(user.to_owned()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        bucket.tokens = (bucket.tokens + rate * elapsed(bucket.at, now)).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

fn elapsed(since: Instant, now: Instant) -> f64 {
    now.saturating_duration_since(since).as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_over_budget_waits_and_others_are_not_affected() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.take("alice", t0).unwrap();
        }
        let wait = limiter.take("alice", t0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(334),
            "{wait:?}"
        );
        limiter.take("bob", t0).unwrap();
        // A third of a second later one more request is allowed, and only one.
        let later = t0 + Duration::from_millis(340);
        limiter.take("alice", later).unwrap();
        assert!(limiter.take("alice", later).is_err());
    }
}
