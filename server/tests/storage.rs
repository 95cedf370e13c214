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
    ChangeNotice, PostgresOptions, PostgresStorage, SqliteStorage, Storage, StorageError,
    StoredChange, relay_identity,
};

/// A database that can be opened more than once (to reopen it, or to stand for several relays).
trait Backend {
    type S: Storage;
    async fn open(&self) -> Self::S;
}

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    type S = SqliteStorage;
    async fn open(&self) -> SqliteStorage {
        SqliteStorage::open(self.0.path())
            .await
            .expect("open SQLite")
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
