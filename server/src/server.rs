//! Running the relay on a listener until shutdown, in a form tests can start and stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http::{AppState, app_with_web};
use crate::relay::Relay;
use crate::storage::Storage;

/// Serves `relay` on `listener` until `shutdown` fires, then closes every connection and waits for
/// their in-flight writes.
pub async fn run<S: Storage>(
    listener: TcpListener,
    relay: Arc<Relay<S>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    run_with_web(listener, relay, shutdown, None).await
}

/// [`run`], also serving the static files of `web_dir` (the demo app) at `/`.
pub async fn run_with_web<S: Storage>(
    listener: TcpListener,
    relay: Arc<Relay<S>>,
    shutdown: CancellationToken,
    web_dir: Option<PathBuf>,
) -> std::io::Result<()> {
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
    // Sync messages are small and latency-bound: send them at once rather than coalescing (Nagle).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, app_with_web(state, web_dir.as_deref()))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    connections.close();
    connections.wait().await;
    relay.compact_all().await;
    let _ = evictor.await;
    served
}
