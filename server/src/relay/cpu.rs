//! Automerge's CPU-heavy work (loading, saving, the first sync message to an empty peer) runs here,
//! off the async workers, so one big document never delays another document's messages.
//!
//! Jobs run on tokio's blocking pool. Heavy jobs (documents over [`HEAVY_BYTES`]) also take one of a
//! few permits, so a burst of cold loads of long threads cannot take every core and every blocking
//! thread; light jobs (small documents, a few changes) skip the queue, so they never wait behind a
//! heavy one. Light jobs are bounded anyway: each connection handles one frame at a time, the
//! connections are capped, and the blocking pool queues beyond its thread limit. A dedicated pool
//! (rayon) would do the same with one more dependency and its own threads.

use tokio::sync::{Semaphore, SemaphorePermit};

use chatsync_protocol::hub::Refusal;

/// Documents (or incoming changes) over this many bytes take a heavy permit: loading or saving
/// 64 KB of Automerge takes about a millisecond, 40,000 changes take hundreds.
pub(crate) const HEAVY_BYTES: u64 = 64 << 10;

/// How much a job costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Weight {
    /// Small: runs at once on the blocking pool.
    Light,
    /// Big: waits for one of the heavy permits first.
    Heavy,
}

impl Weight {
    /// The weight of work over `bytes` of Automerge data.
    pub(crate) fn of(bytes: u64) -> Self {
        if bytes > HEAVY_BYTES {
            Self::Heavy
        } else {
            Self::Light
        }
    }
}

/// The gate in front of the blocking pool.
pub(crate) struct Cpu {
    heavy: Semaphore,
}

impl Cpu {
    /// At most `heavy_permits` heavy jobs at once.
    pub(crate) fn new(heavy_permits: usize) -> Self {
        Self {
            heavy: Semaphore::new(heavy_permits.max(1)),
        }
    }

    /// Heavy permits for this machine: one fewer than its cores (at least one), so the async workers
    /// always keep a core for everyone else's small messages.
    pub(crate) fn default_heavy_permits() -> usize {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    }

    /// Runs `job` on the blocking pool. A panic inside it is reported as [`Refusal::Panicked`]
    /// (tokio catches it), like a panic on the connection's own task.
    pub(crate) async fn run<T, F>(&self, weight: Weight, job: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let _permit = match weight {
            Weight::Heavy => Some(self.heavy_permit().await?),
            Weight::Light => None,
        };
        Self::run_now(job).await
    }

    /// Waits for a heavy permit: taken before a job's inputs are (a document's lock), so nothing
    /// is held while waiting. The job then runs with [`Cpu::run_now`] while the permit is held.
    pub(crate) async fn heavy_permit(&self) -> Result<SemaphorePermit<'_>, Refusal> {
        // The semaphore is never closed.
        self.heavy.acquire().await.map_err(|_| Refusal::Panicked)
    }

    /// Runs `job` on the blocking pool at once (a heavy job's permit already held).
    pub(crate) async fn run_now<T, F>(job: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        tokio::task::spawn_blocking(job).await.map_err(|e| {
            tracing::error!(error = %e, "an Automerge job on the blocking pool failed");
            Refusal::Panicked
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_is_a_refusal_not_a_crash() {
        let cpu = Cpu::new(1);
        let result = cpu.run(Weight::Heavy, || panic!("boom")).await;
        assert!(matches!(result, Err::<(), _>(Refusal::Panicked)));
        // The permit came back.
        assert_eq!(cpu.run(Weight::Heavy, || 7).await.unwrap(), 7);
    }

    #[test]
    fn only_big_work_is_heavy() {
        assert_eq!(Weight::of(HEAVY_BYTES), Weight::Light);
        assert_eq!(Weight::of(HEAVY_BYTES + 1), Weight::Heavy);
    }
}
