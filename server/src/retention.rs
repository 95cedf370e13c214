//! Retention at the relay: a periodic sweep over every user that purges what their retention says
//! — threads past their time in the trash (`trashRetentionDays`, default 30), and what a
//! keep-newest-N or keep-active-D-days policy drops — and erases the stored bytes of every thread
//! a user's index tombstones (purged on a device) that the relay still holds.
//!
//! A user's own policy (their preferences, in their index) takes precedence; the relay-wide default
//! ([`RetentionConfig::default_policy`], from `--retention-keep-newest` and
//! `--retention-max-age-days`) fills only the limits the user left unset.
//!
//! The sweep is bounded: users are read from storage in pages, at most
//! [`RetentionConfig::max_purges_per_user`] threads are purged per user and pass (the rest wait
//! for the next), and each index is read and written through the relay's local-write seam, so the
//! Automerge work runs on the blocking pool, never on an async worker. Time is a parameter of
//! [`sweep`], so tests move the clock instead of waiting.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chatsync_model::{RetentionPolicy, ThreadId};
use chatsync_protocol::DocumentId;
use tokio_util::sync::CancellationToken;

use crate::api::error::ApiError;
use crate::api::{ThreadRef, now_ms, read_index, write_index};
use crate::relay::{LocalWriteError, Relay};
use crate::storage::Storage;

/// How the relay applies retention.
#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// The limits applied to users who set none of their own (the trash's period is always the
    /// user's: 30 days unless they changed it).
    pub default_policy: RetentionPolicy,
    /// How often the sweep runs.
    pub interval: Duration,
    /// Users read from storage at a time.
    pub users_per_page: u32,
    /// Most threads purged for one user in one pass.
    pub max_purges_per_user: usize,
}

impl Default for RetentionConfig {
    /// No relay-wide limit (the trash expires after each user's period), a sweep every 10 minutes.
    fn default() -> Self {
        Self {
            default_policy: RetentionPolicy {
                keep_newest_threads: None,
                keep_active_days: None,
                ..RetentionPolicy::default()
            },
            interval: Duration::from_secs(600),
            users_per_page: 100,
            max_purges_per_user: 1_000,
        }
    }
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Users whose index was read.
    pub users: u64,
    /// Threads purged (written as tombstones in an index, and erased).
    pub purged: u64,
    /// Threads already tombstoned by a device whose stored bytes were erased now.
    pub erased: u64,
    /// Users the sweep could not finish (storage or memory refused); retried next pass.
    pub failed: u64,
}

/// Runs [`sweep`] every `config.interval` until `shutdown`, and sweeps a user moments after their
/// index takes changes from a device (a thread purged there is erased here at once).
pub async fn run<S: Storage>(
    relay: Arc<Relay<S>>,
    config: RetentionConfig,
    shutdown: CancellationToken,
) {
    let mut erased = HashSet::new();
    let mut changed = relay.watch_indexes();
    let mut pending: HashSet<String> = HashSet::new();
    let mut due: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(config.interval.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let debounce = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let work = tokio::select! {
            _ = tick.tick() => None,
            Some(user) = changed.recv() => {
                // Bounded: past this many, the periodic sweep covers the rest.
                if pending.len() < MAX_PENDING_USERS {
                    pending.insert(user);
                }
                due.get_or_insert_with(|| tokio::time::Instant::now() + SETTLE);
                continue;
            }
            () = debounce => Some(std::mem::take(&mut pending)),
            () = shutdown.cancelled() => return,
        };
        due = None;
        let pass = async {
            match work {
                None => sweep_with(&relay, &config, now_ms(), &mut erased).await,
                Some(users) => {
                    let mut report = SweepReport::default();
                    for user in users {
                        tally(
                            &mut report,
                            &user,
                            sweep_user(&relay, &config, &user, now_ms(), &mut erased).await,
                        );
                    }
                    report
                }
            }
        };
        let report = tokio::select! {
            report = pass => report,
            () = shutdown.cancelled() => return,
        };
        if report.purged + report.erased + report.failed > 0 {
            tracing::info!(?report, "retention sweep");
        }
    }
}

/// How long after a user's index changes their sweep runs: a device's purge arrives as several
/// sync messages, and one sweep serves them all.
const SETTLE: Duration = Duration::from_millis(500);

/// Users waiting for a prompt sweep, at most.
const MAX_PENDING_USERS: usize = 10_000;

fn tally(report: &mut SweepReport, user: &str, result: Result<(u64, u64), ApiError>) {
    match result {
        Ok((purged, erased)) => {
            report.users += 1;
            report.purged += purged;
            report.erased += erased;
        }
        Err(e) => {
            tracing::warn!(user, error = %e, "the retention sweep skipped a user");
            report.failed += 1;
        }
    }
}

/// One pass over every user at `now_ms`.
pub async fn sweep<S: Storage>(
    relay: &Arc<Relay<S>>,
    config: &RetentionConfig,
    now_ms: u64,
) -> SweepReport {
    sweep_with(relay, config, now_ms, &mut HashSet::new()).await
}

/// Ids known erased are kept between passes (up to a bound), so a tombstone costs one storage
/// lookup, not one per pass.
const KNOWN_ERASED: usize = 100_000;

async fn sweep_with<S: Storage>(
    relay: &Arc<Relay<S>>,
    config: &RetentionConfig,
    now_ms: u64,
    erased: &mut HashSet<DocumentId>,
) -> SweepReport {
    let mut report = SweepReport::default();
    let mut after: Option<String> = None;
    loop {
        let page = match relay
            .storage()
            .owners(after.as_deref(), config.users_per_page.max(1))
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "the retention sweep could not list users");
                report.failed += 1;
                return report;
            }
        };
        let Some(last) = page.last().cloned() else {
            return report;
        };
        for user in &page {
            if erased.len() > KNOWN_ERASED {
                erased.clear();
            }
            let result = sweep_user(relay, config, user, now_ms, erased).await;
            tally(&mut report, user, result);
        }
        after = Some(last);
    }
}

/// Applies retention to one user: returns the threads purged now and the tombstoned ones erased.
async fn sweep_user<S: Storage>(
    relay: &Arc<Relay<S>>,
    config: &RetentionConfig,
    user: &str,
    now_ms: u64,
    erased: &mut HashSet<DocumentId>,
) -> Result<(u64, u64), ApiError> {
    let fallback = config.default_policy;
    let max = config.max_purges_per_user;
    let (mut due, tombstoned) = read_index(relay, user, move |index, _| {
        let policy = index.preferences().retention().or(fallback);
        let due = index.threads_to_purge(&policy, now_ms);
        (due, index.purged_ids())
    })
    .await?;
    due.truncate(max);
    let mut purged = 0;
    if !due.is_empty() {
        let ids = due.clone();
        write_index(relay, user, move |index, now| {
            for id in &ids {
                index.purge(id, now.max(now_ms))?;
            }
            Ok(())
        })
        .await?;
        for id in &due {
            if let Some(thread) = thread_ref(id) {
                erase(relay, user, &thread, erased).await?;
                purged += 1;
            }
        }
    }
    // Tombstones a device wrote: each looked up once (then remembered), at most `max` lookups
    // per user and pass, so a long history of purges is worked through over several passes.
    let (mut erased_now, mut looked_up) = (0, 0);
    for id in tombstoned.iter().filter(|id| !due.contains(id)) {
        let Some(thread) = thread_ref(id) else {
            continue;
        };
        if erased.contains(&thread.doc) {
            continue;
        }
        if looked_up >= max {
            break;
        }
        looked_up += 1;
        if relay.is_purged(&thread.doc).await? {
            erased.insert(thread.doc);
        } else {
            erase(relay, user, &thread, erased).await?;
            erased_now += 1;
        }
    }
    Ok((purged, erased_now))
}

/// Erases the stored bytes of one thread whose tombstone the index holds. Another user's document
/// under an id this user's index names (a device wrote a stray id) is left alone.
async fn erase<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
    erased: &mut HashSet<DocumentId>,
) -> Result<(), ApiError> {
    match relay.purge_document(user, &thread.doc).await {
        Ok(()) | Err(LocalWriteError::NotFound) => {
            erased.insert(thread.doc);
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// A thread id as a document: ids that are no document id (a foreign writer's) have no bytes here.
fn thread_ref(id: &ThreadId) -> Option<ThreadRef> {
    ThreadRef::parse(id.as_str()).ok()
}
