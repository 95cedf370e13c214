//! How often the relay may fetch a JWKS: a small token bucket, so a key rotation is picked up at
//! once but a flood of tokens naming unknown keys cannot turn into a flood of requests to the
//! identity provider. Time is a parameter, so the budget is tested without waiting.

use std::time::{Duration, Instant};

/// Fetches allowed back to back after a quiet period: the first fetch, and one refetch right after
/// it (a key rotation soon after start).
pub const BURST: u32 = 2;

/// A token bucket of [`BURST`] fetches, one more every `refill_every`.
#[derive(Debug, Clone)]
pub struct FetchBudget {
    refill_every: Duration,
    tokens: u32,
    since: Instant,
}

impl FetchBudget {
    /// A full budget at `now`.
    pub fn new(refill_every: Duration, now: Instant) -> Self {
        Self {
            refill_every,
            tokens: BURST,
            since: now,
        }
    }

    /// Takes one fetch from the budget if one is left at `now`.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    fn refill(&mut self, now: Instant) {
        if self.tokens >= BURST {
            self.since = now;
            return;
        }
        if self.refill_every.is_zero() {
            self.tokens = BURST;
            self.since = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.since);
        let earned = elapsed.as_nanos() / self.refill_every.as_nanos();
        if earned == 0 {
            return;
        }
        let earned = u32::try_from(earned).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(earned).min(BURST);
        self.since = if self.tokens >= BURST {
            now
        } else {
            self.since + self.refill_every * earned
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_S: Duration = Duration::from_secs(10);

    #[test]
    fn a_burst_then_one_fetch_per_interval() {
        let start = Instant::now();
        let mut budget = FetchBudget::new(TEN_S, start);
        assert!(budget.try_take(start));
        assert!(budget.try_take(start));
        for ms in [0, 1, 5_000, 9_999] {
            assert!(!budget.try_take(start + Duration::from_millis(ms)), "{ms}");
        }
        assert!(budget.try_take(start + TEN_S));
        assert!(!budget.try_take(start + TEN_S + Duration::from_secs(9)));
        assert!(budget.try_take(start + 2 * TEN_S));
        // A long quiet spell refills the burst, no more.
        let later = start + 100 * TEN_S;
        assert!(budget.try_take(later));
        assert!(budget.try_take(later));
        assert!(!budget.try_take(later));
    }

    #[test]
    fn a_flood_over_a_minute_gets_the_burst_and_one_fetch_per_interval() {
        let start = Instant::now();
        let mut budget = FetchBudget::new(TEN_S, start);
        let granted = (0..60_000u64)
            .filter(|ms| budget.try_take(start + Duration::from_millis(*ms)))
            .count();
        assert_eq!(granted, BURST as usize + 5);
    }
}
