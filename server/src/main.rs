//! `chatsync-relay serve` and `chatsync-relay token`: see the library docs.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use chatsync_relay::config::{Cli, Command, ServeArgs};
use chatsync_relay::relay::{Identity, Relay};
use chatsync_relay::server::ServeOptions;
use chatsync_relay::storage::{PostgresStorage, SqliteStorage, Storage};
use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // Before anything else runs (it starts the program again, once, if it has to).
    let tuning = chatsync_relay::malloc_tuning::apply();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(tuning))
}

async fn run(tuning: Result<(), std::io::Error>) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .init();
    if let Err(e) = tuning {
        tracing::warn!(error = %e, "could not apply glibc's allocator settings; running with its defaults");
    }
    // reqwest is built without a default TLS provider (the JWKS client passes its own); this makes
    // any other client in the process use the same one instead of panicking.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::Token(args) => {
            let auth = args.auth.auth(None)?;
            let token = auth
                .try_issue(&args.user, args.ttl, SystemTime::now())
                .ok_or(chatsync_relay::config::ConfigError::NoSecretToSign)?;
            println!("{token}");
            Ok(())
        }
    }
}

/// `RUST_LOG`, or `info` — but Automerge at `warn` unless `RUST_LOG` names it. Automerge's
/// `#[instrument]` spans are at `info` and record their arguments with `Debug`: `load_changes` formats
/// the document's whole change graph on every sync message that carries changes, which made applying
/// one change to a 15,000-change thread take 14 ms instead of 3.5.
fn log_filter() -> EnvFilter {
    let configured = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_default();
    let filter = match EnvFilter::try_new(&configured) {
        Ok(filter) if !configured.trim().is_empty() => filter,
        _ => EnvFilter::new("info"),
    };
    match "automerge=warn".parse() {
        Ok(quiet_automerge) if !configured.contains("automerge") => {
            filter.add_directive(quiet_automerge)
        }
        _ => filter,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let auth = args.auth.auth(Some(args.listen))?;
    if matches!(auth, chatsync_relay::auth::Auth::InsecureDev) {
        tracing::warn!(
            "INSECURE DEVELOPMENT AUTH: any token is taken as the user id. Never expose this relay."
        );
    } else {
        tracing::info!(?auth, "checking tokens");
    }
    // Fetched now so the first users do not wait; a provider that is down does not stop the relay
    // (HS256 tokens still work, and the keys are fetched again when a token needs them).
    match auth.prefetch_keys().await {
        Some(Ok(keys)) => tracing::info!(keys, "JWKS ready"),
        Some(Err(e)) => tracing::warn!(error = %e, "JWKS not available yet"),
        None => {}
    }
    match args.postgres() {
        Some(options) => {
            let storage = PostgresStorage::open(&options)
                .await
                .context("opening PostgreSQL storage (--database-url)")?;
            tracing::info!("storing in PostgreSQL");
            serve_on(storage, auth, args).await
        }
        None => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| {
                format!("creating the data directory {}", args.data_dir.display())
            })?;
            let storage = SqliteStorage::open(&args.data_dir)
                .await
                .context("opening storage")?;
            tracing::info!(data_dir = %args.data_dir.display(), "storing in SQLite");
            serve_on(storage, auth, args).await
        }
    }
}

async fn serve_on<S: Storage>(
    storage: S,
    auth: chatsync_relay::auth::Auth,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let (storage_id, index_secret) = chatsync_relay::storage::relay_identity(&storage)
        .await
        .context("reading the relay's identity")?;
    let identity = Identity {
        storage_id,
        index_secret,
    };
    let relay = Arc::new(Relay::new(storage, auth, args.limits(), identity));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "relay listening");
    let shutdown = CancellationToken::new();
    tokio::spawn(signal_shutdown(shutdown.clone()));
    if let Some(dir) = &args.web_dir {
        tracing::info!(web_dir = %dir.display(), "serving static files at /");
    }
    let metrics_listener = match args.metrics_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening for /metrics on {addr}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving /metrics");
            Some(listener)
        }
        None => None,
    };
    let options = ServeOptions {
        web_dir: args.web_dir.clone(),
        metrics_listener,
        retention: Some(args.retention()),
    };
    chatsync_relay::server::run_with(listener, relay.clone(), shutdown, options).await?;
    relay.storage().close().await;
    tracing::info!("relay stopped");
    Ok(())
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn signal_shutdown(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: closing connections, finishing writes");
    shutdown.cancel();
}
