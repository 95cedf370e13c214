//! Counters exported at `/metrics` in Prometheus' text format.
//!
//! Everything here is in memory and updated where it happens: a scrape reads atomics and one small
//! map, never storage. (Summing the stored rows on every scrape shared the 4-connection database pool
//! with sync: 20 scraping loops raised a user's write→ack from 2.5 ms to 541 ms.)

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Relay counters. All relaxed atomics: they are statistics, not synchronisation.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open WebSocket connections.
    pub connections: AtomicU64,
    /// Sync messages received.
    pub sync_in: AtomicU64,
    /// Sync messages sent.
    pub sync_out: AtomicU64,
    /// Storage writes, and their total duration in microseconds.
    pub storage_writes: AtomicU64,
    /// Total microseconds spent in storage writes.
    pub storage_write_micros: AtomicU64,
    /// Frames, connections and requests refused, for any reason.
    pub refusals: AtomicU64,
    /// Bytes in storage: read once at start-up, then kept by every append and compaction through
    /// this relay (another relay writing to the same database is not seen).
    pub bytes_stored: AtomicI64,
    /// Documents in memory.
    pub documents_loaded: AtomicU64,
    /// Bytes of documents in memory, as the memory budgets count them.
    pub document_bytes_loaded: AtomicU64,
    /// Refusals by reason.
    by_reason: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refusal for `reason` (a stable label such as `join_deadline`).
    pub fn refused(&self, reason: &'static str) {
        Self::inc(&self.refusals);
        let mut by_reason = self
            .by_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *by_reason.entry(reason).or_insert(0) += 1;
    }

    /// How many refusals `reason` has had.
    pub fn refusals_for(&self, reason: &str) -> u64 {
        let by_reason = self
            .by_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        by_reason.get(reason).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        let micros = self.storage_write_micros.load(Ordering::Relaxed);
        let rows = [
            (
                "chatsync_connections",
                "gauge",
                "Open WebSocket connections.",
                get(&self.connections),
            ),
            (
                "chatsync_documents_loaded",
                "gauge",
                "Documents in memory.",
                get(&self.documents_loaded),
            ),
            (
                "chatsync_document_bytes_loaded",
                "gauge",
                "Bytes of documents in memory, as the memory budgets count them.",
                get(&self.document_bytes_loaded),
            ),
            (
                "chatsync_bytes_stored",
                "gauge",
                "Bytes in storage (written through this relay since start-up, plus what was there).",
                self.bytes_stored.load(Ordering::Relaxed).max(0).to_string(),
            ),
            (
                "chatsync_sync_messages_in_total",
                "counter",
                "Sync messages received.",
                get(&self.sync_in),
            ),
            (
                "chatsync_sync_messages_out_total",
                "counter",
                "Sync messages sent.",
                get(&self.sync_out),
            ),
            (
                "chatsync_storage_writes_total",
                "counter",
                "Storage writes.",
                get(&self.storage_writes),
            ),
            (
                "chatsync_storage_write_seconds_total",
                "counter",
                "Time spent in storage writes.",
                format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000),
            ),
            (
                "chatsync_refusals_total",
                "counter",
                "Frames, connections and requests refused.",
                get(&self.refusals),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        let name = "chatsync_refusals_by_reason_total";
        let _ = writeln!(
            out,
            "# HELP {name} Refusals by reason (a limit, a deadline, bad input).\n# TYPE {name} counter"
        );
        let by_reason = self
            .by_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (reason, count) in by_reason.iter() {
            let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {count}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_reason_and_in_total() {
        let metrics = Metrics::default();
        metrics.refused("idle");
        metrics.refused("idle");
        metrics.refused("join_deadline");
        let text = metrics.render();
        assert!(text.contains("chatsync_refusals_total 3\n"), "{text}");
        assert!(
            text.contains("chatsync_refusals_by_reason_total{reason=\"idle\"} 2\n"),
            "{text}"
        );
        assert_eq!(metrics.refusals_for("join_deadline"), 1);
    }
}
