//! Limits that keep one client from hurting the others.

use std::time::Duration;

use chatsync_protocol::hub::{DeadlineConfig, HubConfig};

/// Per-relay limits. Each refusal is logged (naming the user, the connection and the limit), told to
/// the client with a close code, and counted in `/metrics`.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest WebSocket message accepted from a client, in bytes. Memory is what it guards: Automerge
    /// holds about 80 bytes per text character applied, and frames carry text deflated (12 MB of text
    /// in a 6 MB frame took the relay to 1.1 GB). Frames the relay sends (cold loads) are not limited.
    pub max_frame_bytes: usize,
    /// Largest stored document (snapshot plus chunks), in bytes.
    pub max_document_bytes: u64,
    /// Most frames one connection may send per second before it is closed.
    pub max_frames_per_second: u32,
    /// Most bytes one connection may send per second before it is closed.
    pub max_bytes_per_second: u64,
    /// Frames queued for one connection before it counts as too slow and is closed.
    pub max_queued_frames: usize,
    /// Bytes queued for one connection before it counts as too slow and is closed (one frame larger
    /// than this still goes out alone).
    pub max_queued_bytes: usize,
    /// Documents in memory are evicted, least recently used first, once their stored sizes add up to
    /// more than this and nobody is connected to them.
    pub memory_budget_bytes: u64,
    /// A document nobody is connected to is evicted after this long.
    pub idle_eviction: Duration,
    /// A connection that has not sent `join` this long after opening is closed (1008).
    pub join_timeout: Duration,
    /// How often an open connection is pinged.
    pub ping_interval: Duration,
    /// A connection that sends nothing (no frame, no pong) this long is closed (1001); also the
    /// longest one frame may take to be written to it.
    pub idle_timeout: Duration,
    /// Most WebSocket connections one user may have open; more are closed at once (1013).
    pub max_connections_per_user: usize,
    /// Most documents one connection may have a session on (1008 beyond).
    pub max_documents_per_connection: usize,
    /// Budget of document bytes in memory for the documents one connection has open: once spent, the
    /// connection may open no further document (1013). Counted as stored bytes plus 8 KiB a document.
    pub max_document_bytes_per_connection: u64,
    /// Budget of document bytes in memory for one user's documents, counted the same way (1013).
    pub max_document_bytes_per_user: u64,
    /// Budget of document bytes in memory for the whole relay: once spent even after evicting every
    /// document nobody is connected to, no further document is loaded (1013).
    pub max_document_bytes_in_memory: u64,
    /// Most TCP connections served at once (HTTP and WebSocket); more are closed as they are
    /// accepted, so the relay never runs out of file descriptors.
    pub max_tcp_connections: usize,
    /// An HTTP connection that has not sent a whole request head this long after opening (or after
    /// its previous response) is closed: silent or half-sent requests do not hold sockets forever.
    pub http_header_timeout: Duration,
    /// Longest an HTTP request may take, reading its body included (408 beyond); also the longest a
    /// write through the HTTP API waits for storage to confirm it (503 `busy` beyond).
    pub http_request_timeout: Duration,
    /// Largest HTTP request body accepted (413 beyond). A streamed reply (`/api/stream`) is bounded
    /// per line by this instead, and in all by the model's content limit.
    pub max_request_body_bytes: usize,
    /// Requests to `/api/*` one user may make per second, with as many again in a burst (429
    /// `rate_limited` beyond). A streamed reply counts once.
    pub max_api_requests_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 4 << 20,
            max_document_bytes: 256 << 20,
            max_frames_per_second: 2_000,
            max_bytes_per_second: 64 << 20,
            max_queued_frames: 4_096,
            max_queued_bytes: 64 << 20,
            memory_budget_bytes: 512 << 20,
            idle_eviction: Duration::from_secs(60),
            join_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            max_connections_per_user: 32,
            max_documents_per_connection: 1_000,
            max_document_bytes_per_connection: 256 << 20,
            max_document_bytes_per_user: 512 << 20,
            max_document_bytes_in_memory: 2 << 30,
            max_tcp_connections: 4_096,
            http_header_timeout: Duration::from_secs(10),
            http_request_timeout: Duration::from_secs(30),
            max_request_body_bytes: 1 << 20,
            max_api_requests_per_second: 200,
        }
    }
}

impl Limits {
    /// What the hub decides with, for a relay whose storage is `storage_id`.
    pub(crate) fn hub_config(&self, storage_id: &str) -> HubConfig {
        HubConfig {
            relay_peer_id: format!("chatsync-relay-{storage_id}"),
            storage_id: storage_id.to_owned(),
            max_frames_per_second: self.max_frames_per_second,
            max_bytes_per_second: self.max_bytes_per_second,
            max_connections_per_user: self.max_connections_per_user,
            max_documents_per_connection: self.max_documents_per_connection,
            max_document_bytes: self.max_document_bytes,
            max_document_bytes_per_connection: self.max_document_bytes_per_connection,
            max_document_bytes_per_user: self.max_document_bytes_per_user,
            max_document_bytes_in_memory: self.max_document_bytes_in_memory,
            memory_budget_bytes: self.memory_budget_bytes,
            idle_eviction: self.idle_eviction,
            deadlines: DeadlineConfig {
                join_timeout: self.join_timeout,
                ping_interval: self.ping_interval,
                idle_timeout: self.idle_timeout,
            },
        }
    }
}
