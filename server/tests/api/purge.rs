//! Purge at the relay: a purged thread's rows are emptied in SQLite (read back with SQL), it leaves
//! memory, and every later write — over HTTP or from a device still holding it — is refused and
//! stores nothing; restore racing purge ends purged. Retention and trash expiry as purges.

use std::time::Duration;

use chatsync_model::{RetentionPolicy, ThreadId, ThreadStatus};
use chatsync_protocol::DocumentId;
use chatsync_relay::retention::{RetentionConfig, sweep};
use chatsync_relay::storage::Storage;
use serde_json::json;

use crate::eventually;
use crate::mutations::new_thread;
use crate::support::TestRelay;

const DAY_MS: u64 = 86_400_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The thread's rows as the SQLite file holds them: the snapshot's length, the heads' length, the
/// chunks' count, and whether any stored byte of it contains `needle`.
async fn raw_rows(relay: &TestRelay, id: &str, needle: &str) -> (i64, i64, i64, bool) {
    let url = format!(
        "sqlite://{}",
        relay.data_dir.join("chatsync.sqlite3").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (snapshot, heads): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(length(snapshot)), 0), COALESCE(SUM(length(heads)), 0) \
         FROM documents WHERE id = ?",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let chunks: Vec<Vec<u8>> = sqlx::query_scalar("SELECT data FROM chunks WHERE document_id = ?")
        .bind(id)
        .fetch_all(&pool)
        .await
        .unwrap();
    let snapshot_bytes: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT snapshot FROM documents WHERE id = ?")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let holds = |bytes: &Vec<u8>| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    let found = chunks.iter().chain(&snapshot_bytes).any(holds);
    (snapshot, heads, chunks.len() as i64, found)
}

async fn thread_with_message(api: &crate::support::Api, text: &str) -> String {
    let t = new_thread(api, "Private").await;
    api.mutation(
        "messages:append",
        json!({ "threadId": t, "id": "m1", "role": "user", "content": text }),
    )
    .await
    .value();
    t
}

#[tokio::test]
async fn a_purged_thread_leaves_no_byte_in_sqlite_and_refuses_every_later_write() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let secret = "my-bank-password-hunter2";
    let t = thread_with_message(&api, secret).await;
    let (_, _, chunks, found) = raw_rows(&relay, &t, secret).await;
    assert!(
        chunks > 0 && found,
        "the thread was not stored to begin with"
    );
    let loaded = relay.relay.documents_loaded().await;

    api.mutation("threads:purge", json!({ "threadId": t }))
        .await
        .value();
    assert_eq!(raw_rows(&relay, &t, secret).await, (0, 0, 0, false));
    assert_eq!(
        relay.relay.documents_loaded().await,
        loaded - 1,
        "the purged thread is still in memory"
    );
    let id: DocumentId = t.parse().unwrap();
    assert_eq!(relay.relay.sessions_on(&id).await, 0);
    assert!(relay.relay.storage().load(&id).await.unwrap().is_none());

    let write = api
        .mutation(
            "messages:append",
            json!({ "threadId": t, "role": "user", "content": "back?" }),
        )
        .await;
    assert_eq!(write.error(410), "purged");
    let read = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(read.error(410), "purged");
    let restore = api
        .mutation("threads:restore", json!({ "threadId": t }))
        .await;
    assert_eq!(restore.error(410), "purged");
    let moved = api
        .mutation("threads:move", json!({ "threadId": t, "projectId": null }))
        .await;
    assert_eq!(moved.error(410), "purged");
    // Purging twice is harmless; the list never shows it, not even in the trash.
    api.mutation("threads:purge", json!({ "threadId": t }))
        .await
        .value();
    for args in [
        json!({ "includeArchived": true }),
        json!({ "trashed": true }),
    ] {
        assert_eq!(api.query("threads:list", args).await.value(), &json!([]));
    }
    assert_eq!(raw_rows(&relay, &t, secret).await, (0, 0, 0, false));
    relay.stop().await;
}

#[tokio::test]
async fn purge_refuses_another_users_thread_and_unknown_ids_and_writes_nothing() {
    let relay = TestRelay::start().await;
    let alice = relay.api("alice");
    let t = thread_with_message(&alice, "alice's").await;
    let mallory = relay.api("mallory");
    for path in ["threads:purge", "threads:restore", "threads:unarchive"] {
        let answer = mallory.mutation(path, json!({ "threadId": t })).await;
        assert_eq!(answer.error(404), "not_found", "{path}");
    }
    let unknown = crate::support::fresh_id();
    let answer = alice
        .mutation("threads:purge", json!({ "threadId": unknown }))
        .await;
    assert_eq!(answer.error(404), "not_found");
    let bad = alice
        .mutation("threads:purge", json!({ "threadId": t, "extra": 1 }))
        .await;
    assert_eq!(bad.error(400), "invalid_input");
    let missing = alice.mutation("threads:purge", json!({})).await;
    assert_eq!(missing.error(400), "invalid_input");
    // Alice's thread is untouched.
    let (_, _, chunks, found) = raw_rows(&relay, &t, "alice's").await;
    assert!(chunks > 0 && found);
    assert_eq!(
        alice
            .query("threads:get", json!({ "threadId": t }))
            .await
            .value()["messages"][0]["content"],
        "alice's"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_device_still_holding_a_purged_thread_cannot_bring_it_back() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let secret = "the-device-keeps-this";
    let t = thread_with_message(&api, secret).await;
    let id: DocumentId = t.parse().unwrap();
    let phone = relay.client("alice", "phone").await;
    phone.find(id, Duration::from_secs(5)).await.unwrap();

    api.mutation("threads:purge", json!({ "threadId": t }))
        .await
        .value();
    // The phone writes to its copy as if nothing happened: the relay stores none of it.
    let written = phone
        .change_thread(id, |thread| {
            thread.set_title("resurrected", 1)?;
            Ok(())
        })
        .await;
    assert!(written.is_ok(), "the local write itself is the device's");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(raw_rows(&relay, &t, secret).await, (0, 0, 0, false));
    assert!(!raw_rows(&relay, &t, "resurrected").await.3);
    // A fresh device offering the whole old document is refused the same way.
    let laptop = relay.client("alice", "laptop").await;
    let old = phone.get(id).await.unwrap();
    laptop.insert(id, old).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(raw_rows(&relay, &t, secret).await, (0, 0, 0, false));
    let tablet = relay.client("alice", "tablet").await;
    assert!(tablet.find(id, Duration::from_secs(2)).await.is_err());
    let read = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(read.error(410), "purged");
    phone.close();
    laptop.close();
    tablet.close();
    relay.stop().await;
}

/// Moves `t` to alice's trash from her device, at `at` (a time the test chooses).
async fn trash_from_device(relay: &TestRelay, t: &str, at: u64) {
    let device = relay.client("alice", "phone").await;
    let index = relay.index_of("alice");
    device.find(index, Duration::from_secs(5)).await.unwrap();
    let id = ThreadId::new(t).unwrap();
    let (_, heads) = device
        .change_index(index, move |index| index.trash(&id, at))
        .await
        .unwrap();
    device
        .acknowledged(index, heads, Duration::from_secs(5))
        .await
        .unwrap();
    device.close();
}

#[tokio::test]
async fn restore_racing_purge_ends_purged() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    for _ in 0..5 {
        let t = thread_with_message(&api, "race").await;
        trash_from_device(&relay, &t, now_ms()).await;
        let restore = api.mutation("threads:restore", json!({ "threadId": t }));
        let purge = api.mutation("threads:purge", json!({ "threadId": t }));
        let (restored, purged) = tokio::join!(restore, purge);
        purged.value();
        assert!(
            restored.status == 200 || restored.error(410) == "purged",
            "{restored:?}"
        );
        assert_eq!(raw_rows(&relay, &t, "race").await, (0, 0, 0, false));
        let again = api
            .mutation("threads:restore", json!({ "threadId": t }))
            .await;
        assert_eq!(again.error(410), "purged");
    }
    relay.stop().await;
}

#[tokio::test]
async fn restore_takes_a_thread_out_of_the_trash_and_refuses_one_not_in_it() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = thread_with_message(&api, "keep me").await;
    let not_trashed = api
        .mutation("threads:restore", json!({ "threadId": t }))
        .await;
    assert_eq!(not_trashed.error(409), "invalid_transition");
    api.mutation("threads:delete", json!({ "threadId": t }))
        .await
        .value();
    // Still stored, and readable, while in the trash.
    assert!(raw_rows(&relay, &t, "keep me").await.3);
    let view = api.query("threads:get", json!({ "threadId": t })).await;
    assert_eq!(view.value()["messages"][0]["content"], "keep me");
    let trash = api.query("threads:list", json!({ "trashed": true })).await;
    assert_eq!(trash.value()[0]["id"], t.as_str());
    assert_eq!(
        api.query("threads:list", json!({})).await.value(),
        &json!([])
    );
    api.mutation("threads:restore", json!({ "threadId": t }))
        .await
        .value();
    assert_eq!(
        api.query("threads:list", json!({})).await.value()[0]["id"],
        t.as_str()
    );
    relay.stop().await;
}

#[tokio::test]
async fn the_sweep_purges_expired_trash_and_nothing_before_its_time() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let secret = "trashed-secret";
    let t = thread_with_message(&api, secret).await;
    let kept = thread_with_message(&api, "kept").await;
    let now = now_ms();
    trash_from_device(&relay, &t, now).await;
    let config = RetentionConfig::default();
    let early = sweep(&relay.relay, &config, now + 29 * DAY_MS).await;
    assert_eq!((early.purged, early.failed), (0, 0), "{early:?}");
    assert!(raw_rows(&relay, &t, secret).await.3);
    let due = sweep(&relay.relay, &config, now + 30 * DAY_MS + 1).await;
    assert_eq!((due.purged, due.failed), (1, 0), "{due:?}");
    assert_eq!(raw_rows(&relay, &t, secret).await, (0, 0, 0, false));
    assert_eq!(
        api.query("threads:get", json!({ "threadId": t }))
            .await
            .error(410),
        "purged"
    );
    assert!(
        raw_rows(&relay, &kept, "kept").await.3,
        "a thread not in the trash was purged"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_users_trash_period_is_theirs() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    api.mutation("preferences:set", json!({ "trashRetentionDays": 2 }))
        .await
        .value();
    let t = thread_with_message(&api, "short").await;
    let now = now_ms();
    trash_from_device(&relay, &t, now).await;
    let report = sweep(&relay.relay, &RetentionConfig::default(), now + 2 * DAY_MS).await;
    assert_eq!(report.purged, 1, "{report:?}");
    assert_eq!(raw_rows(&relay, &t, "short").await, (0, 0, 0, false));
    relay.stop().await;
}

#[tokio::test]
async fn the_relay_wide_default_applies_unless_the_user_set_their_own() {
    let relay = TestRelay::start().await;
    let (alice, bob) = (relay.api("alice"), relay.api("bob"));
    let mut threads = Vec::new();
    for api in [&alice, &bob] {
        let mut mine = Vec::new();
        for n in 0..3 {
            mine.push(thread_with_message(api, &format!("thread-{n}")).await);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        threads.push(mine);
    }
    // Bob keeps two; the relay keeps one for everyone else.
    bob.mutation("preferences:set", json!({ "keepNewestThreads": 2 }))
        .await
        .value();
    let config = RetentionConfig {
        default_policy: RetentionPolicy {
            keep_newest_threads: Some(1),
            ..RetentionConfig::default().default_policy
        },
        ..RetentionConfig::default()
    };
    let report = sweep(&relay.relay, &config, now_ms()).await;
    assert_eq!((report.purged, report.failed), (3, 0), "{report:?}");
    let listed = |api: &crate::support::Api| {
        let api = api.clone();
        async move {
            api.query("threads:list", json!({}))
                .await
                .value()
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(&alice).await, [threads[0][2].clone()]);
    assert_eq!(
        listed(&bob).await,
        [threads[1][2].clone(), threads[1][1].clone()]
    );
    assert_eq!(
        raw_rows(&relay, &threads[0][0], "thread-0").await,
        (0, 0, 0, false)
    );
    assert_eq!(
        raw_rows(&relay, &threads[1][0], "thread-0").await,
        (0, 0, 0, false)
    );
    assert!(raw_rows(&relay, &threads[1][1], "thread-1").await.3);
    // A second pass finds nothing more to do.
    let again = sweep(&relay.relay, &config, now_ms()).await;
    assert_eq!((again.purged, again.erased), (0, 0), "{again:?}");
    relay.stop().await;
}

#[tokio::test]
async fn a_thread_purged_on_a_device_is_erased_at_the_relay() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let secret = "purged-on-the-phone";
    let t = thread_with_message(&api, secret).await;
    let device = relay.client("alice", "phone").await;
    let index = relay.index_of("alice");
    device.find(index, Duration::from_secs(5)).await.unwrap();
    let id = ThreadId::new(t.clone()).unwrap();
    let (_, heads) = device
        .change_index(index, move |index| index.purge(&id, now_ms()))
        .await
        .unwrap();
    device
        .acknowledged(index, heads, Duration::from_secs(5))
        .await
        .unwrap();
    // Before any sweep, a backend's write is refused and erases what is left.
    let write = api
        .mutation(
            "threads:setTitle",
            json!({ "threadId": t, "title": "still here?" }),
        )
        .await;
    assert_eq!(write.error(410), "purged");
    assert_eq!(raw_rows(&relay, &t, secret).await, (0, 0, 0, false));

    // Another thread purged on the device is erased by the sweep alone.
    let u = thread_with_message(&api, secret).await;
    let id = ThreadId::new(u.clone()).unwrap();
    let (_, heads) = device
        .change_index(index, move |index| index.purge(&id, now_ms()))
        .await
        .unwrap();
    device
        .acknowledged(index, heads, Duration::from_secs(5))
        .await
        .unwrap();
    let report = sweep(&relay.relay, &RetentionConfig::default(), now_ms()).await;
    assert_eq!(report.erased, 1, "{report:?}");
    assert_eq!(raw_rows(&relay, &u, secret).await, (0, 0, 0, false));
    let listed = eventually(Duration::from_secs(5), || async {
        let index = chatsync_model::Index::from_automerge(device.get(index).await.unwrap());
        index
            .get(&ThreadId::new(u.clone()).unwrap())
            .is_some_and(|s| s.status == ThreadStatus::Deleted)
    })
    .await;
    assert!(listed);
    device.close();
    relay.stop().await;
}

#[tokio::test]
async fn the_retention_task_erases_a_thread_moments_after_a_device_purges_it() {
    let relay = TestRelay::start().await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(chatsync_relay::retention::run(
        relay.relay.clone(),
        RetentionConfig {
            // Only the prompt sweep can do it within the test.
            interval: Duration::from_secs(3_600),
            ..RetentionConfig::default()
        },
        shutdown.clone(),
    ));
    let api = relay.api("alice");
    let secret = "gone-within-moments";
    let t = thread_with_message(&api, secret).await;
    let device = relay.client("alice", "phone").await;
    let index = relay.index_of("alice");
    device.find(index, Duration::from_secs(5)).await.unwrap();
    // The interval's first tick fires at once: let that pass run before the device purges.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = ThreadId::new(t.clone()).unwrap();
    device
        .change_index(index, move |index| index.purge(&id, now_ms()))
        .await
        .unwrap();
    let erased = eventually(Duration::from_secs(10), || async {
        raw_rows(&relay, &t, secret).await == (0, 0, 0, false)
    })
    .await;
    assert!(
        erased,
        "the relay kept the bytes of a thread purged on a device"
    );
    shutdown.cancel();
    task.await.unwrap();
    device.close();
    relay.stop().await;
}

#[tokio::test]
async fn a_pass_purges_at_most_its_bound_per_user_and_the_next_pass_goes_on() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    for n in 0..4 {
        thread_with_message(&api, &format!("bounded-{n}")).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let config = RetentionConfig {
        default_policy: RetentionPolicy {
            keep_newest_threads: Some(1),
            ..RetentionConfig::default().default_policy
        },
        max_purges_per_user: 2,
        users_per_page: 1,
        ..RetentionConfig::default()
    };
    let first = sweep(&relay.relay, &config, now_ms()).await;
    assert_eq!((first.users, first.purged), (1, 2), "{first:?}");
    let second = sweep(&relay.relay, &config, now_ms()).await;
    assert_eq!(second.purged, 1, "{second:?}");
    let list = api.query("threads:list", json!({})).await;
    assert_eq!(list.value().as_array().unwrap().len(), 1);
    relay.stop().await;
}
