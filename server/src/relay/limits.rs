//! Limits that keep one client from hurting the others.

use std::time::Duration;

/// Per-relay limits. Each refusal is logged and told to the client.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest WebSocket message accepted, in bytes. Cold loads of long threads are several MB.
    pub max_frame_bytes: usize,
    /// Largest stored document (snapshot plus chunks), in bytes.
    pub max_document_bytes: u64,
    /// Most frames one connection may send per second before it is closed.
    pub max_frames_per_second: u32,
    /// Most bytes one connection may send per second before it is closed.
    pub max_bytes_per_second: u64,
    /// Frames queued for one connection before it counts as too slow and is closed.
    pub max_queued_frames: usize,
    /// Documents in memory are evicted, least recently used first, once their stored sizes add up to
    /// more than this and nobody is connected to them.
    pub memory_budget_bytes: u64,
    /// A document nobody is connected to is evicted after this long.
    pub idle_eviction: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 << 20,
            max_document_bytes: 256 << 20,
            max_frames_per_second: 2_000,
            max_bytes_per_second: 64 << 20,
            max_queued_frames: 4_096,
            memory_budget_bytes: 512 << 20,
            idle_eviction: Duration::from_secs(60),
        }
    }
}
