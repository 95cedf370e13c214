//! The database restarted under load: two relays on one PostgreSQL, a device streaming changes
//! through one of them and another device following on the other, while the cluster restarts. No
//! change is acknowledged before it is stored, the stream goes on by itself once the database is
//! back, the other relay's device catches up (its relay's listener reconnects and re-reads), and
//! nothing acknowledged is lost.
//!
//! A test binary of its own: restarting the cluster would disturb any test running beside it.
//! Needs `CHATSYNC_TEST_DATABASE_URL` and `CHATSYNC_TEST_PG_CTL` / `_PG_DATA` / `_PG_LOG`
//! (`source scripts/test-postgres.sh`).

#[path = "support/relay.rs"]
mod relay;
#[path = "support/postgres.rs"]
mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{ChangeHash, ROOT, ReadDoc};
use chatsync_relay::storage::PostgresOptions;
use relay::{TestRelay, WAIT, create, put};
use tokio_util::sync::CancellationToken;

/// Restarts the test cluster (`pg_ctl restart -m fast`, as the `postgres` user when root).
fn restart_cluster() -> Duration {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: source scripts/test-postgres.sh"))
    };
    let (pg_ctl, data, log) = (
        var("CHATSYNC_TEST_PG_CTL"),
        var("CHATSYNC_TEST_PG_DATA"),
        var("CHATSYNC_TEST_PG_LOG"),
    );
    let args = [
        "-D", &data, "-l", &log, "-m", "fast", "-w", "-t", "60", "restart",
    ];
    let mut command = match std::env::var("CHATSYNC_TEST_PG_USER") {
        Ok(user) if !user.is_empty() => {
            let mut su = Command::new("su");
            su.args([user.as_str(), "-s", "/bin/sh", "-c"]).arg(format!(
                "'{pg_ctl}' {}",
                args.map(|a| format!("'{a}'")).join(" ")
            ));
            su
        }
        _ => {
            let mut direct = Command::new(&pg_ctl);
            direct.args(args);
            direct
        }
    };
    let started = Instant::now();
    let status = command
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pg_ctl");
    assert!(status.success(), "pg_ctl restart failed: {status}");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_restarted_under_load_loses_nothing_acknowledged_and_the_relays_recover() {
    let Some(url) = support::fresh_database().await else {
        return;
    };
    let mut options = PostgresOptions::new(url);
    options.acquire_timeout = Duration::from_secs(1);
    let (writing, following) = (
        TestRelay::start(&options).await,
        TestRelay::start(&options).await,
    );
    let writer = writing.client("alice", "writer").await;
    let follower = following.client("alice", "follower").await;
    let id = create(&writer).await;
    follower.find(id, WAIT).await.unwrap();

    let acknowledged = Arc::new(Mutex::new(Vec::<(String, Vec<ChangeHash>)>::new()));
    let stop = CancellationToken::new();
    let stream = tokio::spawn({
        let (writer, acknowledged, stop) = (writer.clone(), acknowledged.clone(), stop.clone());
        async move {
            for i in 0.. {
                if stop.is_cancelled() {
                    break;
                }
                let key = format!("token-{i}");
                let heads = put(&writer, id, &key).await;
                writer
                    .acknowledged(id, heads.clone(), Duration::from_secs(60))
                    .await
                    .unwrap_or_else(|e| panic!("{key} never acknowledged: {e}"));
                acknowledged.lock().unwrap().push((key, heads));
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let took = tokio::task::spawn_blocking(restart_cluster).await.unwrap();
    let after_restart = acknowledged.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < after_restart + 20 {
        assert!(
            Instant::now() < deadline,
            "the stream did not resume after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    stream.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        after_restart >= 10,
        "too few writes before the restart: {after_restart}"
    );

    // The device on the other relay catches up, and storage has every acknowledged change.
    let (_, last) = acknowledged.last().unwrap();
    follower.holds(id, last.clone(), WAIT).await.unwrap();
    let reader = following.client("alice", "reader").await;
    let doc = reader.find(id, WAIT).await.unwrap();
    let lost: Vec<&String> = acknowledged
        .iter()
        .map(|(key, _)| key)
        .filter(|key| doc.get(ROOT, key.as_str()).unwrap().is_none())
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged changes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "restart took {took:?}; {after_restart} changes acknowledged before it, {} in all, none lost",
        acknowledged.len()
    );
    writing.stop().await;
    following.stop().await;
}
