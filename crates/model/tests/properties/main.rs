//! Property tests: random operation sequences on 2–4 replicas, merged in random orders, converge to
//! identical views, lose nothing, and never panic; damaged bytes never panic either.
//!
//! Cases: `PROPTEST_CASES` (default 64 here; CI runs the default).

mod concurrent;
mod corrupt;
mod index;
mod parts;
mod thread;

use proptest::prelude::*;

/// The case count: `PROPTEST_CASES`, else `default`.
pub fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A merge order: for each replica, the other replicas in a random order.
pub fn merge_orders(replicas: usize) -> impl Strategy<Value = Vec<Vec<usize>>> {
    let one =
        move |r: usize| Just((0..replicas).filter(|&o| o != r).collect::<Vec<_>>()).prop_shuffle();
    (0..replicas).map(one).collect::<Vec<_>>()
}
