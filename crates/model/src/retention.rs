//! Retention: which threads a policy purges, as a pure function of the threads and the time, so
//! every device and the relay reach the same answer from the same index.

use crate::sorted::sorted;
use crate::view::ThreadSummary;
use crate::{Preferences, ThreadId};

const DAY_MS: u64 = 86_400_000;

/// What is kept. A relay-wide default fills what a user left unset (see [`RetentionPolicy::or`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep only this many threads out of the trash, the most recently active; older ones are purged.
    pub keep_newest_threads: Option<u64>,
    /// Purge threads not active in this many days.
    pub keep_active_days: Option<u64>,
    /// Purge threads that have been in the trash for this many days.
    pub trash_retention_days: u64,
}

impl Default for RetentionPolicy {
    /// Nothing purged but the trash, after 30 days.
    fn default() -> Self {
        Preferences::default().retention()
    }
}

impl RetentionPolicy {
    /// This policy, with the limits it leaves unset taken from `fallback` (a relay-wide default).
    pub fn or(self, fallback: RetentionPolicy) -> RetentionPolicy {
        RetentionPolicy {
            keep_newest_threads: self.keep_newest_threads.or(fallback.keep_newest_threads),
            keep_active_days: self.keep_active_days.or(fallback.keep_active_days),
            trash_retention_days: self.trash_retention_days,
        }
    }

    /// Whether a thread trashed at `trashed_at` is past its time in the trash at `now_ms`.
    pub fn trash_expired(&self, trashed_at: u64, now_ms: u64) -> bool {
        now_ms >= trashed_at.saturating_add(self.trash_retention_days.saturating_mul(DAY_MS))
    }
}

impl Preferences {
    /// The user's retention policy.
    pub fn retention(&self) -> RetentionPolicy {
        RetentionPolicy {
            keep_newest_threads: self.keep_newest_threads,
            keep_active_days: self.keep_active_days,
            trash_retention_days: self.trash_retention_days,
        }
    }
}

/// The threads of `summaries` that `policy` purges at `now_ms`, in the order given: trashed ones
/// past their time in the trash, threads last active longer ago than `keep_active_days`, and those
/// beyond the `keep_newest_threads` most recently active threads out of the trash (ties by id).
pub fn threads_to_purge(
    summaries: &[ThreadSummary],
    policy: &RetentionPolicy,
    now_ms: u64,
) -> Vec<ThreadId> {
    let mut purge: Vec<bool> = summaries
        .iter()
        .map(|s| match s.trashed_at {
            Some(at) => policy.trash_expired(at, now_ms),
            None => policy.keep_active_days.is_some_and(|days| {
                now_ms
                    >= s.last_activity_at
                        .saturating_add(days.saturating_mul(DAY_MS))
            }),
        })
        .collect();
    if let Some(keep) = policy.keep_newest_threads {
        let kept: Vec<usize> = (0..summaries.len())
            .filter(|&i| summaries[i].trashed_at.is_none())
            .collect();
        let newest_first = sorted(kept, &|&a, &b| {
            let (a, b) = (&summaries[a], &summaries[b]);
            (b.last_activity_at, &a.id).cmp(&(a.last_activity_at, &b.id))
        });
        for i in newest_first
            .into_iter()
            .skip(usize::try_from(keep).unwrap_or(usize::MAX))
        {
            purge[i] = true;
        }
    }
    let mut out = Vec::new();
    for (s, purge) in summaries.iter().zip(purge) {
        if purge {
            out.push(s.id.clone());
        }
    }
    out
}
