//! Running the relay on a listener until shutdown, in a form tests can start and stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accept::{self, HttpBounds};
use crate::http::{AppOptions, AppState, app_with, metrics_app};
use crate::relay::Relay;
use crate::storage::Storage;

/// What to serve beside sync and the API.
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// A folder of static files (the demo app) to serve at `/`.
    pub web_dir: Option<PathBuf>,
    /// A listener of its own for `/metrics`; the main listener then does not serve it.
    pub metrics_listener: Option<TcpListener>,
    /// Run the retention sweep (expired trash, retention policies, erasing threads purged on
    /// devices) with this configuration; `None`: never (tests that sweep by hand).
    pub retention: Option<crate::retention::RetentionConfig>,
}

/// Serves `relay` on `listener` until `shutdown` fires, then closes every connection and waits for
/// their in-flight writes.
pub async fn run<S: Storage>(
    listener: TcpListener,
    relay: Arc<Relay<S>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    run_with(listener, relay, shutdown, ServeOptions::default()).await
}

/// [`run`], also serving the static files of `web_dir` (the demo app) at `/`.
pub async fn run_with_web<S: Storage>(
    listener: TcpListener,
    relay: Arc<Relay<S>>,
    shutdown: CancellationToken,
    web_dir: Option<PathBuf>,
) -> std::io::Result<()> {
    let options = ServeOptions {
        web_dir,
        ..ServeOptions::default()
    };
    run_with(listener, relay, shutdown, options).await
}

/// [`run`] with [`ServeOptions`].
pub async fn run_with<S: Storage>(
    listener: TcpListener,
    relay: Arc<Relay<S>>,
    shutdown: CancellationToken,
    options: ServeOptions,
) -> std::io::Result<()> {
    // Before the TCP-connection cap is derived from the limit (in `accept::serve`).
    crate::open_files::raise_to_hard_limit();
    // Read once here; from now on appends and compactions keep the gauge (no scan per scrape).
    match relay.storage().bytes_stored().await {
        Ok(bytes) => relay
            .metrics()
            .bytes_stored
            .store(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed),
        Err(e) => tracing::warn!(error = %e, "could not read the stored size for /metrics"),
    }
    let connections = TaskTracker::new();
    let state = AppState {
        relay: relay.clone(),
        shutdown: shutdown.clone(),
        connections: connections.clone(),
    };
    let evictor = tokio::spawn({
        let (relay, shutdown) = (relay.clone(), shutdown.clone());
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => { relay.evict(Instant::now()).await; }
                    () = shutdown.cancelled() => break,
                }
            }
        }
    });
    let sweeper = options.retention.map(|config| {
        tokio::spawn(crate::retention::run(
            relay.clone(),
            config,
            shutdown.clone(),
        ))
    });
    // Keeps the search table current with every thread change stored here.
    let indexer = tokio::spawn(crate::search::run(relay.clone(), shutdown.clone()));
    // Changes other relays on the same database store (PostgreSQL); ends at once for SQLite.
    let follower = tokio::spawn(relay.clone().follow_other_relays(shutdown.clone()));
    let limits = relay.limits().clone();
    let bounds = || HttpBounds {
        max_connections: limits.max_tcp_connections,
        header_timeout: limits.http_header_timeout,
    };
    let metrics_server = options.metrics_listener.map(|listener| {
        tokio::spawn(accept::serve(
            listener,
            metrics_app(state.clone()),
            bounds(),
            relay.clone(),
            shutdown.clone(),
        ))
    });
    let app = app_with(
        state,
        AppOptions {
            web_dir: options.web_dir.as_deref(),
            metrics: metrics_server.is_none(),
        },
    );
    accept::serve(listener, app, bounds(), relay.clone(), shutdown.clone()).await;
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    connections.close();
    connections.wait().await;
    relay.compact_all().await;
    let _ = evictor.await;
    if let Some(sweeper) = sweeper {
        let _ = sweeper.await;
    }
    let _ = follower.await;
    let _ = indexer.await;
    Ok(())
}
