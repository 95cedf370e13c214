//! The storage suite, run against both SQLite and PostgreSQL (each test once per backend; the
//! PostgreSQL ones need `CHATSYNC_TEST_DATABASE_URL`, see `support/postgres.rs`), then what only
//! PostgreSQL does: several writers on one database, notifications, outages.

#[path = "support/postgres.rs"]
mod support;

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc};
use chatsync_protocol::DocumentId;
use chatsync_relay::storage::{
    ChangeNotice, PostgresOptions, PostgresStorage, SearchEntry, SearchQuery, SearchThread, Share,
    ShareAccess, ShareLink, SqliteStorage, Storage, StorageError, StoredChange, relay_identity,
};

/// A database that can be opened more than once (to reopen it, or to stand for several relays).
trait Backend {
    type S: Storage;
    async fn open(&self) -> Self::S;
    /// What the database itself holds of `id`, read with SQL beside the storage under test.
    async fn raw(&self, id: &DocumentId) -> Raw;
}

/// A document's bytes as the database holds them: the snapshot's and heads' lengths, the chunks'
/// count and total length.
#[derive(Debug, PartialEq, Eq)]
struct Raw {
    rows: i64,
    snapshot: i64,
    heads: i64,
    chunks: i64,
    chunk_bytes: i64,
}

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    type S = SqliteStorage;
    async fn open(&self) -> SqliteStorage {
        SqliteStorage::open(self.0.path())
            .await
            .expect("open SQLite")
    }

    async fn raw(&self, id: &DocumentId) -> Raw {
        let url = format!(
            "sqlite://{}",
            self.0.path().join("chatsync.sqlite3").display()
        );
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let key = id.to_string();
        let (rows, snapshot, heads): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(length(snapshot)), 0), \
                 COALESCE(SUM(length(heads)), 0) FROM documents WHERE id = ?",
        )
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
        let (chunks, chunk_bytes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM chunks WHERE document_id = ?",
        )
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        Raw {
            rows,
            snapshot,
            heads,
            chunks,
            chunk_bytes,
        }
    }
}

struct Postgres(String);

impl Backend for Postgres {
    type S = PostgresStorage;
    async fn open(&self) -> PostgresStorage {
        PostgresStorage::open(&PostgresOptions::new(&self.0))
            .await
            .expect("open PostgreSQL")
    }

    async fn raw(&self, id: &DocumentId) -> Raw {
        let pool = sqlx::PgPool::connect(&self.0).await.unwrap();
        let key = id.to_string();
        let (rows, snapshot, heads): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(length(snapshot)), 0)::BIGINT, \
             COALESCE(SUM(length(heads) + length(snapshot_heads)), 0)::BIGINT \
             FROM documents WHERE id = $1",
        )
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
        let (chunks, chunk_bytes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(length(data)), 0)::BIGINT FROM chunks WHERE document_id = $1",
        )
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        Raw {
            rows,
            snapshot,
            heads,
            chunks,
            chunk_bytes,
        }
    }
}

/// Runs a suite test once on SQLite and once on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let backend = super::Sqlite(tempfile::tempdir().unwrap());
                super::$name(&backend).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(url) = super::support::fresh_database().await else { return };
                super::$name(&super::Postgres(url)).await;
            }
        }
    )*};
}

on_both!(
    appends_load_in_order_and_compaction_replaces_them,
    the_first_writer_owns_the_document,
    a_setting_keeps_its_first_value_even_when_set_at_once,
    data_survives_reopening,
    heads_are_stored_with_the_chunks,
    chunks_read_from_a_sequence_number_are_a_superset_of_the_new_ones,
    a_reachable_database_is_ready,
    a_purge_erases_every_byte_and_refuses_later_appends,
    a_purge_of_an_id_never_stored_keeps_it_from_being_made,
    another_users_document_is_not_purged,
    owners_are_listed_in_bounded_pages,
    search_finds_only_the_owners_rows_by_prefix_and_filters,
    a_threads_search_rows_are_replaced_whole_and_gone_once_purged,
    shares_are_granted_for_the_owners_documents_only_and_revoked,
    share_links_are_stored_revoked_and_gone_with_a_purge,
);

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

async fn appends_load_in_order_and_compaction_replaces_them(backend: &impl Backend) {
    let storage = backend.open().await;
    assert_eq!(storage.load(&id(1)).await.unwrap(), None);
    let mut doc = AutoCommit::new();
    let one = change(&mut doc, "one");
    let two = change(&mut doc, "two");
    storage
        .append(&id(1), "alice", &one.0, &one.1)
        .await
        .unwrap();
    let total = storage
        .append(&id(1), "alice", &two.0, &two.1)
        .await
        .unwrap();
    assert_eq!(total, (one.0.len() + two.0.len()) as u64);
    let stored = storage.load(&id(1)).await.unwrap().unwrap();
    assert_eq!(stored.owner, "alice");
    assert_eq!(stored.chunks, [one.0.clone(), two.0.clone()]);
    let snapshot = doc.save();
    storage.compact(&id(1), &snapshot).await.unwrap();
    let three = change(&mut doc, "three");
    storage
        .append(&id(1), "alice", &three.0, &three.1)
        .await
        .unwrap();
    let stored = storage.load(&id(1)).await.unwrap().unwrap();
    assert_eq!(stored.snapshot, snapshot);
    assert_eq!(stored.chunks, std::slice::from_ref(&three.0));
    assert_eq!(
        storage.bytes_stored().await.unwrap(),
        (snapshot.len() + three.0.len()) as u64
    );
    assert_eq!(rebuild(&stored).get_heads(), doc.get_heads());
}

async fn the_first_writer_owns_the_document(backend: &impl Backend) {
    let storage = backend.open().await;
    storage.append(&id(2), "alice", b"x", &[]).await.unwrap();
    let err = storage
        .append(&id(2), "mallory", b"y", &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NotOwner(_)), "{err}");
    assert_eq!(
        storage.owner(&id(2)).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(storage.load(&id(2)).await.unwrap().unwrap().chunks.len(), 1);
}

async fn a_setting_keeps_its_first_value_even_when_set_at_once(backend: &impl Backend) {
    let (a, b) = (backend.open().await, backend.open().await);
    let (first, second) = tokio::join!(
        a.setting_or_init("k", b"first"),
        b.setting_or_init("k", b"second")
    );
    assert_eq!(first.unwrap(), second.unwrap());
    assert_eq!(
        a.setting_or_init("k", b"third").await.unwrap(),
        b.setting_or_init("k", b"fourth").await.unwrap()
    );
    // So every relay on one database has one storage id and one index secret.
    let (ours, theirs) = tokio::join!(relay_identity(&a), relay_identity(&b));
    assert_eq!(ours.unwrap(), theirs.unwrap());
}

async fn data_survives_reopening(backend: &impl Backend) {
    {
        let storage = backend.open().await;
        storage.append(&id(3), "alice", b"kept", &[]).await.unwrap();
        storage.close().await;
    }
    let storage = backend.open().await;
    assert_eq!(
        storage.load(&id(3)).await.unwrap().unwrap().chunks,
        [b"kept".to_vec()]
    );
}

async fn heads_are_stored_with_the_chunks(backend: &impl Backend) {
    let storage = backend.open().await;
    let mut doc = AutoCommit::new();
    let (chunk, heads) = change(&mut doc, "a");
    storage
        .append(&id(4), "alice", &chunk, &heads)
        .await
        .unwrap();
    let (chunk, heads) = change(&mut doc, "b");
    storage
        .append(&id(4), "alice", &chunk, &heads)
        .await
        .unwrap();
    assert_eq!(
        storage.load(&id(4)).await.unwrap().unwrap().heads,
        doc.get_heads()
    );
}

async fn chunks_read_from_a_sequence_number_are_a_superset_of_the_new_ones(backend: &impl Backend) {
    let storage = backend.open().await;
    for n in 0..3u8 {
        storage.append(&id(5), "alice", &[n], &[]).await.unwrap();
    }
    let chunks = storage.chunks_from(&id(5), 2).await.unwrap();
    assert!(chunks.ends_with(&[vec![1], vec![2]]), "{chunks:?}");
    assert!(storage.chunks_from(&id(6), 1).await.unwrap().is_empty());
}

async fn a_reachable_database_is_ready(backend: &impl Backend) {
    backend.open().await.ready().await.unwrap();
}

/// Makes a change; the chunk it adds (as the relay's writer takes it) and the heads after.
async fn a_purge_erases_every_byte_and_refuses_later_appends(backend: &impl Backend) {
    let storage = backend.open().await;
    let mut doc = AutoCommit::new();
    let secret = "a very private conversation";
    let one = change(&mut doc, secret);
    storage
        .append(&id(9), "alice", &one.0, &one.1)
        .await
        .unwrap();
    storage.compact(&id(9), &doc.save()).await.unwrap();
    let two = change(&mut doc, "and more of it");
    storage
        .append(&id(9), "alice", &two.0, &two.1)
        .await
        .unwrap();
    let before = storage.bytes_stored().await.unwrap();
    assert!(backend.raw(&id(9)).await.snapshot > 0);

    let erased = storage.purge(&id(9), "alice").await.unwrap();
    assert!(erased > 0 && erased <= before, "{erased} of {before} bytes");
    assert_eq!(
        backend.raw(&id(9)).await,
        Raw {
            rows: 1,
            snapshot: 0,
            heads: 0,
            chunks: 0,
            chunk_bytes: 0
        },
        "the tombstone row holds no byte of the document"
    );
    assert_eq!(storage.bytes_stored().await.unwrap(), before - erased);
    assert_eq!(storage.load(&id(9)).await.unwrap(), None);
    assert!(storage.is_purged(&id(9)).await.unwrap());
    assert!(!storage.is_purged(&id(8)).await.unwrap());
    // The owner stays recorded (nobody else may claim the id), and a device still holding the
    // document cannot store it again, nor can a compaction from a copy still in memory.
    assert_eq!(
        storage.owner(&id(9)).await.unwrap().as_deref(),
        Some("alice")
    );
    let again = storage
        .append(&id(9), "alice", &one.0, &one.1)
        .await
        .unwrap_err();
    assert!(matches!(again, StorageError::Purged(_)), "{again}");
    storage.compact(&id(9), &doc.save()).await.unwrap();
    let raw = backend.raw(&id(9)).await;
    assert_eq!(
        (raw.snapshot, raw.chunks),
        (0, 0),
        "a compaction wrote into a tombstone"
    );
    // Purging twice is harmless; the tombstone outlives reopening.
    assert_eq!(storage.purge(&id(9), "alice").await.unwrap(), 0);
    drop(storage);
    let reopened = backend.open().await;
    assert!(reopened.is_purged(&id(9)).await.unwrap());
    assert_eq!(reopened.load(&id(9)).await.unwrap(), None);
}

async fn a_purge_of_an_id_never_stored_keeps_it_from_being_made(backend: &impl Backend) {
    let storage = backend.open().await;
    assert_eq!(storage.purge(&id(10), "alice").await.unwrap(), 0);
    let made = storage
        .append(&id(10), "alice", b"x", &[])
        .await
        .unwrap_err();
    assert!(matches!(made, StorageError::Purged(_)), "{made}");
    let other = storage
        .append(&id(10), "mallory", b"x", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(other, StorageError::NotOwner(_) | StorageError::Purged(_)),
        "{other}"
    );
    assert_eq!(backend.raw(&id(10)).await.chunks, 0);
}

async fn another_users_document_is_not_purged(backend: &impl Backend) {
    let storage = backend.open().await;
    storage
        .append(&id(11), "alice", b"mine", &[])
        .await
        .unwrap();
    let refused = storage.purge(&id(11), "mallory").await.unwrap_err();
    assert!(matches!(refused, StorageError::NotOwner(_)), "{refused}");
    assert!(!storage.is_purged(&id(11)).await.unwrap());
    assert_eq!(
        storage.load(&id(11)).await.unwrap().unwrap().chunks,
        [b"mine".to_vec()]
    );
}

async fn owners_are_listed_in_bounded_pages(backend: &impl Backend) {
    let storage = backend.open().await;
    for (n, owner) in [(20, "carol"), (21, "alice"), (22, "bob"), (23, "alice")] {
        storage.append(&id(n), owner, b"x", &[]).await.unwrap();
    }
    assert_eq!(storage.owners(None, 2).await.unwrap(), ["alice", "bob"]);
    assert_eq!(storage.owners(Some("bob"), 2).await.unwrap(), ["carol"]);
    assert!(storage.owners(Some("carol"), 2).await.unwrap().is_empty());
}

fn share(n: u8, owner: &str, grantee: &str, access: ShareAccess, at: u64) -> Share {
    Share {
        document: id(n),
        owner: owner.into(),
        grantee: grantee.into(),
        access,
        granted_at_ms: at,
    }
}

async fn shares_are_granted_for_the_owners_documents_only_and_revoked(backend: &impl Backend) {
    let storage = backend.open().await;
    storage.append(&id(30), "alice", b"x", &[]).await.unwrap();
    storage.append(&id(31), "alice", b"x", &[]).await.unwrap();
    // Only the owner grants, and only a stored document.
    let mallory = share(30, "mallory", "mallory", ShareAccess::Write, 1);
    assert!(!storage.share_put(&mallory).await.unwrap());
    assert!(
        !storage
            .share_put(&share(39, "alice", "bob", ShareAccess::Read, 1))
            .await
            .unwrap()
    );
    assert_eq!(
        storage.share_access(&id(30), "mallory").await.unwrap(),
        None
    );
    // A grant, then a grant again replaces the access.
    assert!(
        storage
            .share_put(&share(30, "alice", "bob", ShareAccess::Read, 1))
            .await
            .unwrap()
    );
    assert!(
        storage
            .share_put(&share(31, "alice", "bob", ShareAccess::Read, 2))
            .await
            .unwrap()
    );
    assert!(
        storage
            .share_put(&share(30, "alice", "bob", ShareAccess::Write, 3))
            .await
            .unwrap()
    );
    assert!(
        storage
            .share_put(&share(30, "alice", "carol", ShareAccess::Read, 4))
            .await
            .unwrap()
    );
    assert_eq!(
        storage.share_access(&id(30), "bob").await.unwrap(),
        Some(ShareAccess::Write)
    );
    assert_eq!(
        storage.shared_with("bob").await.unwrap(),
        [
            share(31, "alice", "bob", ShareAccess::Read, 2),
            share(30, "alice", "bob", ShareAccess::Write, 3)
        ]
    );
    let grantees: Vec<String> = storage
        .shares_of(&id(30))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.grantee)
        .collect();
    assert_eq!(grantees, ["bob", "carol"]);
    // Only the owner revokes.
    assert!(
        !storage
            .share_remove(&id(30), "mallory", "bob")
            .await
            .unwrap()
    );
    assert!(storage.share_remove(&id(30), "alice", "bob").await.unwrap());
    assert!(!storage.share_remove(&id(30), "alice", "bob").await.unwrap());
    assert_eq!(storage.share_access(&id(30), "bob").await.unwrap(), None);
    // A purged document's grants count for nothing.
    storage.purge(&id(31), "alice").await.unwrap();
    assert_eq!(storage.share_access(&id(31), "bob").await.unwrap(), None);
    assert!(storage.shared_with("bob").await.unwrap().is_empty());
}

async fn share_links_are_stored_revoked_and_gone_with_a_purge(backend: &impl Backend) {
    let storage = backend.open().await;
    storage.append(&id(32), "alice", b"x", &[]).await.unwrap();
    let link = ShareLink {
        id: "link-1".into(),
        document: id(32),
        created_by: "alice".into(),
        created_at_ms: 5,
        expires_at_ms: Some(10),
        revoked: false,
    };
    let forged = ShareLink {
        id: "link-2".into(),
        created_by: "mallory".into(),
        ..link.clone()
    };
    assert!(!storage.link_put(&forged).await.unwrap());
    assert!(storage.link_get("link-2").await.unwrap().is_none());
    assert!(storage.link_put(&link).await.unwrap());
    assert_eq!(
        storage.link_get("link-1").await.unwrap(),
        Some(link.clone())
    );
    assert!(!storage.link_revoke("link-1", "mallory").await.unwrap());
    assert!(storage.link_revoke("link-1", "alice").await.unwrap());
    assert!(storage.link_get("link-1").await.unwrap().unwrap().revoked);
    let open = ShareLink {
        id: "link-3".into(),
        expires_at_ms: None,
        ..link
    };
    assert!(storage.link_put(&open).await.unwrap());
    storage.purge(&id(32), "alice").await.unwrap();
    assert!(storage.link_get("link-3").await.unwrap().is_none());
}

fn change(doc: &mut AutoCommit, key: &str) -> (Vec<u8>, Vec<ChangeHash>) {
    let before = doc.get_heads();
    doc.put(ROOT, key, key).unwrap();
    doc.commit();
    (doc.save_after(&before), doc.get_heads())
}

fn rebuild(stored: &chatsync_relay::storage::StoredDocument) -> AutoCommit {
    let mut doc = if stored.snapshot.is_empty() {
        AutoCommit::new()
    } else {
        AutoCommit::load(&stored.snapshot).unwrap()
    };
    doc.load_incremental(&stored.chunks.concat()).unwrap();
    doc
}

async fn postgres_pair() -> Option<(PostgresStorage, PostgresStorage)> {
    let url = support::fresh_database().await?;
    let backend = Postgres(url);
    Some((backend.open().await, backend.open().await))
}

#[tokio::test]
async fn two_relays_compacting_one_document_at_once_lose_no_chunk() {
    let Some((a, b)) = postgres_pair().await else {
        return;
    };
    let doc_id = id(7);
    let mut ours = AutoCommit::new();
    let first = change(&mut ours, "shared");
    a.append(&doc_id, "alice", &first.0, &first.1)
        .await
        .unwrap();
    let mut theirs = ours.fork();
    let mut expected = Vec::new();
    for round in 0..20 {
        // Each relay appends changes the other has not seen, then both compact at once with what
        // each has: neither snapshot holds the other's chunks.
        let x = change(&mut ours, &format!("a{round}"));
        let y = change(&mut theirs, &format!("b{round}"));
        let (stored_x, stored_y) = tokio::join!(
            a.append(&doc_id, "alice", &x.0, &x.1),
            b.append(&doc_id, "alice", &y.0, &y.1)
        );
        stored_x.unwrap();
        stored_y.unwrap();
        expected.extend([format!("a{round}"), format!("b{round}")]);
        let (snapshot_a, snapshot_b) = (ours.save(), theirs.save());
        let (ca, cb) = tokio::join!(
            a.compact(&doc_id, &snapshot_a),
            b.compact(&doc_id, &snapshot_b)
        );
        ca.unwrap();
        cb.unwrap();
        let stored = a.load(&id(7)).await.unwrap().unwrap();
        let doc = rebuild(&stored);
        for key in &expected {
            assert!(
                doc.get(ROOT, key.as_str()).unwrap().is_some(),
                "round {round}: {key} lost"
            );
        }
        // Now and then each relay catches up with the other, as notifications make them.
        if round % 5 == 4 {
            ours.merge(&mut theirs).unwrap();
            theirs.merge(&mut ours).unwrap();
        }
    }
    // Once one relay holds everything, its compaction folds every chunk in.
    ours.merge(&mut theirs).unwrap();
    a.compact(&id(7), &ours.save()).await.unwrap();
    let stored = a.load(&id(7)).await.unwrap().unwrap();
    assert!(
        stored.chunks.is_empty(),
        "{} chunks left",
        stored.chunks.len()
    );
    assert_eq!(stored.heads, ours.get_heads());
}

#[tokio::test]
async fn a_stale_snapshot_never_replaces_a_newer_one() {
    let Some((a, b)) = postgres_pair().await else {
        return;
    };
    let mut ours = AutoCommit::new();
    let x = change(&mut ours, "x");
    a.append(&id(8), "alice", &x.0, &x.1).await.unwrap();
    let stale = ours.save();
    let y = change(&mut ours, "y");
    a.append(&id(8), "alice", &y.0, &y.1).await.unwrap();
    a.compact(&id(8), &ours.save()).await.unwrap();
    b.compact(&id(8), &stale).await.unwrap();
    let doc = rebuild(&b.load(&id(8)).await.unwrap().unwrap());
    assert!(doc.get(ROOT, "y").unwrap().is_some());
}

#[tokio::test]
async fn heads_stop_being_trusted_once_another_relay_writes() {
    let Some((a, b)) = postgres_pair().await else {
        return;
    };
    let mut ours = AutoCommit::new();
    let x = change(&mut ours, "x");
    a.append(&id(9), "alice", &x.0, &x.1).await.unwrap();
    let mut theirs = ours.fork();
    let y = change(&mut theirs, "y");
    b.append(&id(9), "alice", &y.0, &y.1).await.unwrap();
    // b's heads do not name a's change: none would be wrong, so none are given (the relay then
    // loads the document to answer instead of sending the stored bytes with these heads).
    assert!(a.load(&id(9)).await.unwrap().unwrap().heads.is_empty());
}

#[tokio::test]
async fn another_relays_append_is_notified_with_its_sequence_number_and_heads() {
    let Some((a, b)) = postgres_pair().await else {
        return;
    };
    let mut feed = b.changes().expect("PostgreSQL has a change feed");
    let mut own_feed = a.changes().unwrap();
    let mut doc = AutoCommit::new();
    let x = change(&mut doc, "x");
    a.append(&id(10), "alice", &x.0, &x.1).await.unwrap();
    let y = change(&mut doc, "y");
    a.append(&id(10), "alice", &y.0, &y.1).await.unwrap();
    assert_eq!(
        next(&mut feed).await,
        ChangeNotice::Stored(StoredChange {
            document: id(10),
            seq: 1,
            heads: x.1
        })
    );
    assert_eq!(
        next(&mut feed).await,
        ChangeNotice::Stored(StoredChange {
            document: id(10),
            seq: 2,
            heads: y.1.clone()
        })
    );
    assert_eq!(b.chunks_from(&id(10), 2).await.unwrap(), [y.0]);
    // A relay does not hear its own appends.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), own_feed.next())
            .await
            .is_err()
    );
}

async fn next(feed: &mut chatsync_relay::storage::ChangeFeed) -> ChangeNotice {
    tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("a notice within 10 s")
        .expect("the feed is open")
}

#[tokio::test]
async fn while_the_database_is_unreachable_writes_fail_and_ready_fails_then_both_recover() {
    let Some(url) = support::fresh_database().await else {
        return;
    };
    let proxy = support::Proxy::start(&url).await;
    let mut options = PostgresOptions::new(support::via(&url, proxy.addr));
    options.acquire_timeout = Duration::from_secs(1);
    let storage = PostgresStorage::open(&options).await.unwrap();
    let mut feed = storage.changes().unwrap();
    storage
        .append(&id(11), "alice", b"before", &[])
        .await
        .unwrap();
    proxy.cut();
    let started = std::time::Instant::now();
    assert!(
        storage
            .append(&id(11), "alice", b"during", &[])
            .await
            .is_err()
    );
    assert!(storage.ready().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused after {:?}",
        started.elapsed()
    );
    proxy.restore();
    let recovered = async {
        while storage.ready().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), recovered)
        .await
        .expect("ready again");
    storage
        .append(&id(11), "alice", b"after", &[])
        .await
        .unwrap();
    let chunks = storage.load(&id(11)).await.unwrap().unwrap().chunks;
    assert_eq!(
        chunks,
        [b"before".to_vec(), b"after".to_vec()],
        "the refused write was not stored"
    );
    // The listener is back too, and says what it may have missed.
    assert_eq!(next(&mut feed).await, ChangeNotice::Missed);
}

#[tokio::test]
async fn an_unreachable_database_at_start_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://chatsync@{}/chatsync",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let err = PostgresStorage::open(&PostgresOptions::new(url))
        .await
        .unwrap_err();
    // What failed (the connection, refused), not only that a pool timed out.
    assert!(matches!(err, StorageError::Database(_)), "{err:?}");
    assert!(err.to_string().contains("communicating"), "{err}");
}

fn entry(message: Option<&str>, role: Option<&str>, at: u64, text: &str) -> SearchEntry {
    SearchEntry {
        message_id: message.map(str::to_owned),
        role: role.map(str::to_owned),
        created_at: at,
        text: text.to_owned(),
        terms: chatsync_relay::search::search_terms(text, false).join(" "),
    }
}

fn thread(n: u8, title: &str, project: Option<&str>, archived: bool) -> SearchThread {
    SearchThread {
        thread_id: id(n).to_string(),
        title: title.to_owned(),
        project_id: project.map(str::to_owned),
        archived,
        created_at: 500,
        entries: vec![entry(None, None, 500, title)],
    }
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        terms: chatsync_relay::search::search_terms(text, true),
        limit: 100,
        ..SearchQuery::default()
    }
}

/// (thread, message) of each result, in order.
async fn found(
    storage: &impl Storage,
    owner: &str,
    query: &SearchQuery,
) -> Vec<(String, Option<String>)> {
    storage
        .search(owner, query)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.thread_id, m.message_id))
        .collect()
}

async fn search_finds_only_the_owners_rows_by_prefix_and_filters(backend: &impl Backend) {
    let storage = backend.open().await;
    for (n, owner) in [(30, "alice"), (31, "alice"), (32, "mallory")] {
        storage.append(&id(n), owner, b"x", &[]).await.unwrap();
    }
    let mut trip = thread(30, "Trip", Some("p1"), false);
    trip.entries
        .push(entry(Some("m1"), Some("user"), 1_000, "Café à Paris?"));
    trip.entries.push(entry(
        Some("m2"),
        Some("assistant"),
        2_000,
        "PARIS is lovely",
    ));
    storage.search_put("alice", &trip).await.unwrap();
    let mut notes = thread(31, "Café notes", None, true);
    notes
        .entries
        .push(entry(Some("m3"), Some("user"), 3_000, "crème brûlée"));
    storage.search_put("alice", &notes).await.unwrap();
    let mut theirs = thread(32, "Café à Paris", None, false);
    theirs
        .entries
        .push(entry(Some("m4"), Some("user"), 1_000, "Café à Paris"));
    storage.search_put("mallory", &theirs).await.unwrap();

    let (t30, t31, t32) = (id(30).to_string(), id(31).to_string(), id(32).to_string());
    let m = |s: &str| Some(s.to_owned());
    // Every word a prefix, accents folded; an archived thread only when asked for.
    assert_eq!(
        found(&storage, "alice", &query("cafe par")).await,
        [(t30.clone(), m("m1"))]
    );
    assert_eq!(
        found(&storage, "alice", &query("CAFÉ")).await,
        [(t30.clone(), m("m1"))]
    );
    let mut archived = query("cafe");
    archived.include_archived = true;
    let mut all = found(&storage, "alice", &archived).await;
    all.sort();
    assert_eq!(all, [(t30.clone(), m("m1")), (t31.clone(), None)]);
    assert_eq!(found(&storage, "alice", &query("brul")).await, []);
    // Never another user's rows, whatever matches.
    assert_eq!(found(&storage, "mallory", &query("trip")).await, []);
    let mut theirs_found = found(&storage, "mallory", &query("paris")).await;
    theirs_found.sort();
    assert_eq!(theirs_found, [(t32.clone(), None), (t32, m("m4"))]);
    // Filters: role, project, time, limit.
    let mut role = query("paris");
    role.role = Some("assistant".into());
    assert_eq!(
        found(&storage, "alice", &role).await,
        [(t30.clone(), m("m2"))]
    );
    let mut project = query("cafe");
    project.project_id = Some("p2".into());
    assert_eq!(found(&storage, "alice", &project).await, []);
    project.project_id = Some("p1".into());
    assert_eq!(
        found(&storage, "alice", &project).await,
        [(t30.clone(), m("m1"))]
    );
    let mut from = query("paris");
    from.from = Some(1_500);
    assert_eq!(
        found(&storage, "alice", &from).await,
        [(t30.clone(), m("m2"))]
    );
    let mut to = query("paris");
    to.to = Some(1_500);
    assert_eq!(
        found(&storage, "alice", &to).await,
        [(t30.clone(), m("m1"))]
    );
    let mut trashed = query("paris");
    trashed.exclude_threads = vec![t30.clone()];
    assert_eq!(found(&storage, "alice", &trashed).await, []);
    let mut one = query("paris");
    one.limit = 1;
    assert_eq!(found(&storage, "alice", &one).await.len(), 1);
    let hit = &storage.search("alice", &query("lovely")).await.unwrap()[0];
    assert_eq!(
        (hit.title.as_str(), hit.text.as_str()),
        ("Trip", "PARIS is lovely")
    );
    assert_eq!(
        (hit.role.as_deref(), hit.created_at),
        (Some("assistant"), 2_000)
    );
    assert!(hit.score > 0.0, "{}", hit.score);
    let mut indexed = storage.search_indexed("alice").await.unwrap();
    indexed.sort();
    assert_eq!(indexed, [t30.clone(), t31]);
    // Nothing in a query is read as the database's query syntax, whatever it holds.
    for q in [
        "\" * ( ) ' \\ : ^ - +",
        "AND OR NOT NEAR(a b)",
        "a:b c*",
        "\u{301}e\u{301}",
        "Ⅻ ǅ ²",
        "😀 \u{200d}",
        "ﬁ ｆｕｌｌ",
        "が\u{3099}",
        "x\0y",
        "&|!<->",
    ] {
        storage
            .search("alice", &query(q))
            .await
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
    }
    // CJK text, which has no spaces, is found by any run of its characters.
    let mut tokyo = thread(30, "Trip", Some("p1"), false);
    tokyo.entries.push(entry(
        Some("m5"),
        Some("user"),
        4_000,
        "東京タワーに行きたい",
    ));
    storage.search_put("alice", &tokyo).await.unwrap();
    for q in ["東京", "タワー", "京", "行きたい"] {
        assert_eq!(
            found(&storage, "alice", &query(q)).await,
            [(t30.clone(), m("m5"))],
            "{q}"
        );
    }
}

async fn a_threads_search_rows_are_replaced_whole_and_gone_once_purged(backend: &impl Backend) {
    let storage = backend.open().await;
    storage.append(&id(33), "alice", b"x", &[]).await.unwrap();
    let t33 = id(33).to_string();
    let mut first = thread(33, "Plans", None, false);
    first
        .entries
        .push(entry(Some("m1"), Some("user"), 1_000, "zebra"));
    storage.search_put("alice", &first).await.unwrap();
    let mut second = thread(33, "Plans", None, false);
    second
        .entries
        .push(entry(Some("m1"), Some("user"), 1_000, "giraffe"));
    storage.search_put("alice", &second).await.unwrap();
    assert_eq!(found(&storage, "alice", &query("zebra")).await, []);
    assert_eq!(found(&storage, "alice", &query("giraffe")).await.len(), 1);
    // Another user cannot write rows for a document that is not theirs.
    storage.search_put("mallory", &first).await.unwrap();
    assert_eq!(found(&storage, "mallory", &query("zebra")).await, []);

    storage.purge(&id(33), "alice").await.unwrap();
    assert_eq!(found(&storage, "alice", &query("giraffe")).await, []);
    assert_eq!(found(&storage, "alice", &query("plans")).await, []);
    assert!(
        !storage
            .search_indexed("alice")
            .await
            .unwrap()
            .contains(&t33)
    );
    // An indexer late with its rows does not bring the purged thread back.
    storage.search_put("alice", &second).await.unwrap();
    assert_eq!(found(&storage, "alice", &query("giraffe")).await, []);
}

/// A measurement, not a check (`cargo test -p chatsync-relay --test storage -- --ignored
/// --nocapture search_latency`): 10,000 messages across 200 threads, then 200 searches of one and
/// two prefixes; p50 and p95 per search.
async fn search_latency(backend: &impl Backend, name: &str) {
    let storage = backend.open().await;
    let words = [
        "alpha", "budget", "café", "delta", "écho", "forecast", "garden", "harbor", "island",
        "jungle", "kernel", "lemon", "market", "nectar", "orbit", "paris", "quartz", "river",
    ];
    let started = std::time::Instant::now();
    for t in 0..200u32 {
        let n = u8::try_from(t % 250).unwrap();
        let doc = DocumentId::from_bytes([n, 0xAB, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        storage.append(&doc, "alice", b"x", &[]).await.unwrap();
        let mut rows = SearchThread {
            thread_id: doc.to_string(),
            title: format!("Thread {t}"),
            created_at: 1,
            ..SearchThread::default()
        };
        for m in 0..50u32 {
            let text: Vec<&str> = (0..30)
                .map(|k| words[((t * 7 + m * 13 + k * 5) as usize) % words.len()])
                .collect();
            rows.entries.push(entry(
                Some(&format!("m{m}")),
                Some("user"),
                u64::from(m),
                &text.join(" "),
            ));
        }
        storage.search_put("alice", &rows).await.unwrap();
    }
    let indexing = started.elapsed();
    let mut times = Vec::new();
    for i in 0..200usize {
        let q = if i % 2 == 0 {
            words[i % words.len()][..3].to_owned()
        } else {
            format!(
                "{} {}",
                words[i % words.len()],
                &words[(i + 3) % words.len()][..2]
            )
        };
        let mut search = query(&q);
        search.limit = 20;
        let at = std::time::Instant::now();
        let found = storage.search("alice", &search).await.unwrap();
        times.push(at.elapsed());
        assert!(!found.is_empty(), "{q}");
    }
    times.sort();
    println!(
        "{name}: indexed 10,000 messages in {:?}; search p50 {:?}, p95 {:?}",
        indexing,
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    );
}

#[tokio::test]
#[ignore = "a measurement"]
async fn search_latency_sqlite() {
    search_latency(&Sqlite(tempfile::tempdir().unwrap()), "SQLite").await;
}

#[tokio::test]
#[ignore = "a measurement"]
async fn search_latency_postgres() {
    let Some(url) = support::fresh_database().await else {
        return;
    };
    search_latency(&Postgres(url), "PostgreSQL").await;
}
