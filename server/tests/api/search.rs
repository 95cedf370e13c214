//! `threads:search` end to end: threads written over the HTTP API and over `/sync` are found by
//! prefix with accents folded, in results shaped as the browser's `store.search`; filters; another
//! user's threads never found; a purged thread gone; threads stored before the search table existed
//! found through the lazy backfill; bad arguments refused with `invalid_input`.

use std::time::Duration;

use automerge::ActorId;
use chatsync_model::{Limits, MessageId, NewMessage, Role, Thread, ThreadId, ThreadInit};
use chatsync_protocol::DocumentId;
use serde_json::{Value, json};

use crate::mutations::new_thread;
use crate::support::{Api, TestRelay};

async fn search(api: &Api, args: Value) -> Vec<Value> {
    api.query("threads:search", args)
        .await
        .value()
        .as_array()
        .unwrap()
        .clone()
}

/// The results' (threadId, messageId) pairs, once `args` finds `n` results (the indexer follows
/// a change within moments).
async fn found_eventually(api: &Api, args: Value, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = search(api, args.clone()).await;
        if found.len() == n {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{args} found {found:?}, not {n} results"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn append(api: &Api, thread: &str, id: &str, role: &str, text: &str) {
    api.mutation(
        "messages:append",
        json!({ "threadId": thread, "id": id, "role": role, "content": text }),
    )
    .await
    .value();
}

#[tokio::test]
async fn a_message_is_found_by_prefix_with_accents_folded_in_the_browsers_shape() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "Holidays").await;
    append(&api, &t, "m1", "user", "Where is the best Café à Paris?").await;
    append(&api, &t, "m2", "assistant", "Try the one near the Louvre.").await;

    let results = found_eventually(&api, json!({ "query": "cafe par" }), 1).await;
    let hit = &results[0];
    assert_eq!(hit["threadId"], t);
    assert_eq!(hit["messageId"], "m1");
    assert_eq!(hit["kind"], "message");
    assert_eq!(hit["title"], "Holidays");
    assert_eq!(hit["role"], "user");
    assert!(hit["createdAt"].as_u64().unwrap() > 0);
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    let snippet = hit["snippet"].as_str().unwrap();
    assert_eq!(snippet, "Where is the best Café à Paris?");
    let units: Vec<u16> = snippet.encode_utf16().collect();
    let marked: Vec<String> = hit["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (s, e) = (
                r[0].as_u64().unwrap() as usize,
                r[1].as_u64().unwrap() as usize,
            );
            String::from_utf16_lossy(&units[s..e])
        })
        .collect();
    assert_eq!(marked, ["Café", "Paris"]);

    // The title is a result of its own, without message or role.
    let titles = found_eventually(&api, json!({ "query": "HOLI" }), 1).await;
    assert_eq!(titles[0]["kind"], "title");
    assert!(titles[0].get("messageId").is_none() && titles[0].get("role").is_none());
    // A search right after a write finds it (the caller's changed threads are indexed first).
    append(&api, &t, "m3", "user", "and a zeppelin ride").await;
    let fresh = search(&api, json!({ "query": "zeppelin" })).await;
    assert_eq!(fresh.len(), 1, "{fresh:?}");
    assert_eq!(fresh[0]["messageId"], "m3");
    // A later edit is followed: the new title is found, the old one no longer.
    api.mutation(
        "threads:setTitle",
        json!({ "threadId": t, "title": "Vacances d'été" }),
    )
    .await
    .value();
    assert_eq!(search(&api, json!({ "query": "ete" })).await.len(), 1);
    assert!(
        search(&api, json!({ "query": "holidays" }))
            .await
            .is_empty()
    );
    relay.stop().await;
}

#[tokio::test]
async fn another_users_threads_are_never_found() {
    let relay = TestRelay::start().await;
    let alice = relay.api("alice");
    let mallory = relay.api("mallory");
    let t = new_thread(&alice, "Secret plans").await;
    append(&alice, &t, "m1", "user", "the launch code is swordfish").await;
    found_eventually(&alice, json!({ "query": "swordfish" }), 1).await;
    assert!(
        search(&mallory, json!({ "query": "swordfish" }))
            .await
            .is_empty()
    );
    assert!(
        search(&mallory, json!({ "query": "secret" }))
            .await
            .is_empty()
    );
    // Mallory's own thread with the same words is hers alone.
    let m = new_thread(&mallory, "Swordfish").await;
    let theirs = found_eventually(&mallory, json!({ "query": "swordfish" }), 1).await;
    assert_eq!(theirs[0]["threadId"], m);
    let mine = found_eventually(&alice, json!({ "query": "swordfish" }), 1).await;
    assert_eq!(mine[0]["threadId"], t);
    relay.stop().await;
}

#[tokio::test]
async fn a_purged_thread_is_gone_from_results_and_a_trashed_one_until_restored() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let t = new_thread(&api, "Throwaway").await;
    append(&api, &t, "m1", "user", "ephemeral pelican").await;
    found_eventually(&api, json!({ "query": "pelican" }), 1).await;
    api.mutation("threads:delete", json!({ "threadId": t }))
        .await
        .value();
    found_eventually(&api, json!({ "query": "pelican" }), 0).await;
    api.mutation("threads:restore", json!({ "threadId": t }))
        .await
        .value();
    found_eventually(&api, json!({ "query": "pelican" }), 1).await;
    api.mutation("threads:purge", json!({ "threadId": t }))
        .await
        .value();
    assert!(search(&api, json!({ "query": "pelican" })).await.is_empty());
    assert!(
        search(&api, json!({ "query": "throwaway" }))
            .await
            .is_empty()
    );
    // Nor does anything left behind bring it back.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(search(&api, json!({ "query": "pelican" })).await.is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn filters_narrow_by_project_role_time_archive_and_limit() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    api.mutation("projects:create", json!({ "id": "p1", "name": "Work" }))
        .await
        .value();
    let work = api
        .mutation(
            "threads:create",
            json!({ "title": "Quarterly", "projectId": "p1" }),
        )
        .await
        .value()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    append(&api, &work, "q", "user", "budget forecast please").await;
    append(&api, &work, "a", "assistant", "The budget grows").await;
    let home = new_thread(&api, "Home").await;
    append(&api, &home, "h", "user", "family budget").await;
    found_eventually(&api, json!({ "query": "budget" }), 3).await;

    let in_project = search(&api, json!({ "query": "budget", "projectId": "p1" })).await;
    assert_eq!(in_project.len(), 2);
    assert!(in_project.iter().all(|r| r["threadId"] == work));
    assert!(
        search(&api, json!({ "query": "budget", "projectId": "nope" }))
            .await
            .is_empty()
    );
    let replies = search(&api, json!({ "query": "budget", "role": "assistant" })).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["messageId"], "a");
    let all = search(&api, json!({ "query": "budget" })).await;
    let at = |id: &str| {
        all.iter().find(|r| r["messageId"] == id).unwrap()["createdAt"]
            .as_u64()
            .unwrap()
    };
    let (first, last) = (at("q"), at("h"));
    let late = search(&api, json!({ "query": "budget", "from": last })).await;
    assert!(
        late.iter()
            .all(|r| r["createdAt"].as_u64().unwrap() >= last)
    );
    assert!(late.iter().any(|r| r["messageId"] == "h"));
    let early = search(&api, json!({ "query": "budget", "to": first })).await;
    assert_eq!(early.len(), 1);
    assert_eq!(early[0]["messageId"], "q");
    assert_eq!(
        search(&api, json!({ "query": "budget", "limit": 1 }))
            .await
            .len(),
        1
    );

    api.mutation("threads:archive", json!({ "threadId": home }))
        .await
        .value();
    found_eventually(&api, json!({ "query": "family" }), 0).await;
    let archived = search(&api, json!({ "query": "family", "includeArchived": true })).await;
    assert_eq!(archived.len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn a_thread_written_over_sync_is_found() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    let device = relay.client("alice", "laptop").await;
    let doc = DocumentId::from_bytes(*b"search-sync-doc1");
    let id = ThreadId::new(doc.to_string()).unwrap();
    let mut init = ThreadInit::new(id, ActorId::random(), 1_000);
    init.title = Some("Synced notes".into());
    let thread = Thread::create(init, Limits::default()).unwrap();
    device.create_thread(doc, thread).await.unwrap();
    device
        .change_thread(doc, |t| {
            let message = NewMessage::new(
                MessageId::new("s1").unwrap(),
                Role::User,
                "Über naïve résumé",
            );
            t.append_message(message, 2_000)
        })
        .await
        .unwrap();
    let results = found_eventually(&api, json!({ "query": "uber naive resum" }), 1).await;
    assert_eq!(results[0]["threadId"], doc.to_string());
    assert_eq!(results[0]["messageId"], "s1");
    relay.stop().await;
}

#[tokio::test]
async fn threads_stored_before_the_search_table_are_found_through_the_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let relay = TestRelay::start_in(dir.path(), Default::default()).await;
    let api = relay.api("alice");
    let t = new_thread(&api, "Old thread").await;
    append(&api, &t, "m1", "user", "archaeopteryx fossils").await;
    found_eventually(&api, json!({ "query": "archaeo" }), 1).await;
    relay.stop().await;
    // As a database from before this feature: no search rows at all.
    let url = format!("sqlite://{}", dir.path().join("chatsync.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for table in ["search_terms", "search_entries", "search_threads"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let relay = TestRelay::start_in(dir.path(), Default::default()).await;
    let api = relay.api("alice");
    // The first search indexes the unindexed thread before it looks.
    let results = search(&api, json!({ "query": "archaeo" })).await;
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["threadId"], t);
    relay.stop().await;
}

#[tokio::test]
async fn bad_arguments_are_refused_as_invalid_input() {
    let relay = TestRelay::start().await;
    let api = relay.api("alice");
    for args in [
        json!({}),
        json!({ "query": 7 }),
        json!({ "query": "   " }),
        json!({ "query": "x".repeat(1_001) }),
        json!({ "query": "a", "limit": 0 }),
        json!({ "query": "a", "limit": 101 }),
        json!({ "query": "a", "limit": 1.5 }),
        json!({ "query": "a", "role": "robot" }),
        json!({ "query": "a", "from": -1 }),
        json!({ "query": "a", "from": 10, "to": 5 }),
        json!({ "query": "a", "includeArchived": "yes" }),
        json!({ "query": "a", "projectId": 3 }),
        json!({ "query": "a", "sort": "date" }),
        json!({ "query": (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ") }),
    ] {
        let answer = api.query("threads:search", args.clone()).await;
        assert_eq!(answer.error(400), "invalid_input", "{args}");
    }
    // Nothing in a query is read as FTS5's syntax, whatever it holds.
    for query in [
        "\" * ( ) ' \\ : ^",
        "AND OR NOT NEAR(a b)",
        "a:b c*",
        "\u{301}",
        "x\0y",
        "😀",
    ] {
        let answer = api.query("threads:search", json!({ "query": query })).await;
        assert!(answer.value().is_array(), "{query:?}");
    }
    // Punctuation alone has nothing to look for; the largest limit is accepted.
    assert!(
        search(&api, json!({ "query": "?!", "limit": 100 }))
            .await
            .is_empty()
    );
    relay.stop().await;
}
