//! Reconnect backoff: the delay before the next dial doubles from `min` to `max` with every attempt
//! that ends before the relay answered `join`, plus up to 50% jitter, so clients that lost the
//! relay together do not return together. The jitter comes from a small xorshift generator seeded by
//! the link's config: no global RNG, and a simulation replays the same delays from the same seed.

use std::time::Duration;

/// How long a link waits between dials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first delay after a connection drops.
    pub min: Duration,
    /// The longest delay, however many dials failed.
    pub max: Duration,
}

impl Default for BackoffConfig {
    /// 500 ms up to 30 s, as the browser store has always waited.
    fn default() -> Self {
        Self {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// The delays of one link: the current base delay and the jitter generator.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    base: Duration,
    rng: XorShift,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig, seed: u64) -> Self {
        Self {
            base: config.min,
            config,
            rng: XorShift::new(seed),
        }
    }

    /// The delay before the next dial, jittered; the one after it is twice as long (up to `max`).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.base.min(self.config.max);
        self.base = (base * 2).min(self.config.max);
        // Up to half the base again: a fraction in [0, 0.5) with 1/1024 resolution.
        let fraction = (self.rng.next() % 512) as f64 / 1024.0;
        base + base.mul_f64(fraction)
    }

    /// The relay answered: the next drop waits the shortest delay again.
    pub(crate) fn reset(&mut self) {
        self.base = self.config.min;
    }
}

/// xorshift64* (Vigna): small, fast and good enough for jitter; never cryptographic.
#[derive(Clone, Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // The state must not be zero (it would stay zero); spread the seed so 0, 1, 2… differ at once.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn config() -> BackoffConfig {
        BackoffConfig {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
        }
    }

    #[test]
    fn delays_double_up_to_the_max_with_at_most_half_again_of_jitter() {
        let mut backoff = Backoff::new(config(), 7);
        let mut base = Duration::from_millis(100);
        for _ in 0..10 {
            let delay = backoff.next_delay();
            assert!(
                delay >= base && delay < base * 3 / 2,
                "{delay:?} for {base:?}"
            );
            base = (base * 2).min(Duration::from_secs(1));
        }
    }

    #[test]
    fn a_reset_returns_to_the_shortest_delay() {
        let mut backoff = Backoff::new(config(), 7);
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.reset();
        assert!(backoff.next_delay() < Duration::from_millis(150));
    }

    #[test]
    fn the_same_seed_gives_the_same_delays_and_another_seed_others() {
        let delays = |seed| {
            let mut backoff = Backoff::new(config(), seed);
            (0..8).map(|_| backoff.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(delays(1), delays(1));
        assert_ne!(delays(1), delays(2));
        assert_ne!(delays(0), delays(1));
    }
}
