//! Counters exported at `/metrics` in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Frames refused (malformed, too large, flood, unauthorized document).
    pub refusals: AtomicU64,
}

impl Metrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the gauges the caller measured.
    pub fn render(&self, documents_loaded: usize, bytes_stored: u64) -> String {
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
                documents_loaded.to_string(),
            ),
            (
                "chatsync_bytes_stored",
                "gauge",
                "Bytes in storage.",
                bytes_stored.to_string(),
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
                "Frames refused.",
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
        out
    }
}
