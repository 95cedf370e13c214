//! The storage tasks a hub document asks for, carried out with no lock held, each result stepped
//! back into the document — which then asks for the next, or answers its sessions. The hub keeps
//! one task in flight per document, so chunks land in order and a compaction never races an append.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chatsync_protocol::hub::{Compaction, ConnId, StorageFailure, StorageTask};
use futures_util::FutureExt;

use super::document::{Carried, LoadedDocument};
use super::sync::Ended;
use super::{Metrics, Relay};
use crate::storage::{Storage, StorageError};

/// Who carries out a document's storage tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runner {
    /// The connection whose message brought the changes: it stores them (so a storage failure
    /// closes it, and its next frame waits for its write), then hands any further work — changes
    /// other connections sent meanwhile, a compaction, a reload — to a background task, so its own
    /// socket is not stalled by other people's writes.
    Connection(ConnId),
    /// A task of its own (or eviction and shutdown, which await it): runs until nothing is left.
    Background,
}

impl<S: Storage> Relay<S> {
    /// Carries out what a step of `document` left to do, and what each result leads to.
    pub(crate) async fn run_tasks(
        self: &Arc<Self>,
        document: &Arc<LoadedDocument>,
        carried: Carried,
        runner: Runner,
    ) -> Result<(), Ended> {
        let own = match runner {
            Runner::Connection(conn) => Some(conn),
            Runner::Background => None,
        };
        let mut tasks: VecDeque<StorageTask> = carried.tasks.into();
        let mut compaction_due = carried.compaction_due;
        let mut ran_one = false;
        let mut own_close = carried.own_close;
        loop {
            let more = !tasks.is_empty() || compaction_due;
            if let Some(close) = own_close.take() {
                // The connection is refused; what the document still needs goes on without it.
                if more {
                    self.hand_off(document, tasks, compaction_due);
                }
                return Err(Ended::Closed(close));
            }
            if own.is_some() && more && (ran_one || tasks.is_empty()) {
                self.hand_off(document, tasks, compaction_due);
                return Ok(());
            }
            let Some(task) = tasks.pop_front() else {
                if !compaction_due {
                    return Ok(());
                }
                compaction_due = false;
                let ((), next) = self
                    .step(
                        document,
                        None,
                        (),
                        |hub, ()| hub.stored_bytes(),
                        |state, ()| {
                            state.hub.compact(Compaction::WhenLarge);
                        },
                    )
                    .await?;
                tasks.extend(next.tasks);
                continue;
            };
            ran_one = true;
            let next = self.run_task(document, task, own).await?;
            tasks.extend(next.tasks);
            compaction_due |= next.compaction_due;
            own_close = next.own_close;
        }
    }

    /// Passes the rest of a document's storage work to a task of its own.
    pub(crate) fn hand_off(
        self: &Arc<Self>,
        document: &Arc<LoadedDocument>,
        tasks: VecDeque<StorageTask>,
        compaction_due: bool,
    ) {
        let (relay, document) = (self.clone(), document.clone());
        let carried = Carried {
            tasks: tasks.into(),
            compaction_due,
            ..Carried::default()
        };
        let background: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = Box::pin(
            async move {
                let run = relay.run_tasks(&document, carried, Runner::Background);
                match AssertUnwindSafe(run).catch_unwind().await {
                    Ok(Ok(())) => {}
                    Ok(Err(ended)) => {
                        tracing::warn!(document = %document.id, ?ended, "background storage work failed")
                    }
                    Err(_) => {
                        // A storage call panicked with a task in flight: the copy in memory waits
                        // for a result that never comes, so it leaves memory.
                        tracing::error!(document = %document.id, "background storage work panicked");
                        relay.forget_copy(&document, None).await;
                    }
                }
            },
        );
        tokio::spawn(background);
    }

    /// Carries out one task and steps its result into the document.
    async fn run_task(
        &self,
        document: &Arc<LoadedDocument>,
        task: StorageTask,
        own: Option<ConnId>,
    ) -> Result<Carried, Ended> {
        let id = document.id;
        let now = || self.now();
        let carried = match task {
            StorageTask::Append { key, chunk, heads } => {
                let started = Instant::now();
                let stored = self
                    .storage
                    .append(key.document(), key.owner(), &chunk, &heads)
                    .await;
                self.record_write(started);
                let result = stored.map_err(|e| failure(&id, "append", e));
                if result.is_ok() {
                    self.stored_bytes_changed(chunk.len() as i64);
                }
                let now = now();
                self.step(
                    document,
                    own,
                    result,
                    |hub, _| hub.cost_of_settling(),
                    move |state, result| state.hub.handle_appended(now, result),
                )
                .await?
                .1
            }
            StorageTask::Load { key } => {
                let loaded = self.storage.load(key.document()).await;
                let result = loaded.map_err(|e| failure(&id, "load", e));
                let now = now();
                self.step(
                    document,
                    own,
                    result,
                    |hub, result| {
                        let loaded = result.as_ref().ok().and_then(Option::as_ref);
                        loaded.map_or(0, |s| s.size()).max(hub.cost_of_settling())
                    },
                    move |state, result| state.hub.handle_loaded(now, result),
                )
                .await?
                .1
            }
            StorageTask::Compact { key, snapshot } => {
                let started = Instant::now();
                let compacted = self.storage.compact(key.document(), &snapshot).await;
                self.record_write(started);
                let result = compacted.map_err(|e| failure(&id, "compact", e));
                let now = now();
                let (before, carried) = self
                    .step(
                        document,
                        own,
                        result,
                        |hub, _| hub.cost_of_settling(),
                        move |state, result| {
                            let before = state.hub.stored_bytes();
                            state.hub.handle_compacted(now, result);
                            before
                        },
                    )
                    .await?;
                self.stored_bytes_changed(carried.stored_bytes as i64 - before as i64);
                carried
            }
            _ => Carried::default(),
        };
        Ok(carried)
    }

    /// Keeps the `bytes_stored` gauge, so `/metrics` never sums storage.
    fn stored_bytes_changed(&self, delta: i64) {
        self.metrics
            .bytes_stored
            .fetch_add(delta, Ordering::Relaxed);
    }

    fn record_write(&self, started: Instant) {
        Metrics::inc(&self.metrics.storage_writes);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.metrics
            .storage_write_micros
            .fetch_add(micros, Ordering::Relaxed);
    }
}

/// A storage error, logged, as the hub needs to know it.
fn failure(id: &chatsync_protocol::DocumentId, what: &str, error: StorageError) -> StorageFailure {
    match error {
        StorageError::NotOwner(_) => StorageFailure::NotOwner,
        StorageError::Purged(_) => StorageFailure::Purged,
        e => {
            tracing::error!(document = %id, error = %e, "storage {what} failed");
            StorageFailure::Unavailable
        }
    }
}
