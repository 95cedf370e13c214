//! PostgreSQL: one database shared by several relays. The schema follows SQLite's (snapshot + chunks,
//! owner, settings); what several writers add is in `migrations-postgres/0001_documents.sql`.
//!
//! - An append is one statement (so one transaction, committed before it returns) that creates the
//!   document or, for its owner only, numbers the chunk, stores it, and notifies the other relays
//!   (`NOTIFY chatsync_changes`, delivered at commit) with the document, the chunk's number and the
//!   heads after it.
//! - A compaction deletes only the chunks the new snapshot provably holds (see `coverage.rs`), and
//!   commits only over the snapshot it checked against: a chunk another relay is appending meanwhile,
//!   or one the compacting relay never saw, stays.
//! - The pool is bounded, every statement has a timeout, and a connection that cannot be had within
//!   the acquire timeout fails the call: while the database is down, writes are refused (never
//!   acknowledged) and `/readyz` fails; the pool reconnects by itself when it is back.

mod coverage;
mod listen;
mod shares;

use std::sync::Arc;
use std::time::Duration;

use automerge::ChangeHash;
use chatsync_protocol::DocumentId;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Row, Transaction};
use tokio::sync::{Semaphore, broadcast};

use super::feed::{self, ChangeFeed, ChangeNotice, PURGED, payload_heads};
use super::search::{ms, unms};
use super::{
    SearchMatch, SearchQuery, SearchThread, Share, ShareAccess, ShareLink, Storage, StorageError,
    StoredDocument, decode_heads, encode_heads,
};

/// The notification channel every relay on a database listens to.
const CHANNEL: &str = "chatsync_changes";

/// How to reach and use the database.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database` (any libpq-style URL sqlx reads).
    pub url: String,
    /// Most connections this relay holds (one more is the notification listener).
    pub max_connections: u32,
    /// Longest a statement may run before PostgreSQL cancels it.
    pub statement_timeout: Duration,
    /// Longest a call waits for a connection (including connecting) before failing: how long a
    /// write waits on a database that is down before it is refused.
    pub acquire_timeout: Duration,
}

impl PostgresOptions {
    /// Options with the defaults: 16 connections, 10 s statements, 5 s to get a connection.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            statement_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// PostgreSQL storage. Cheap to clone; clones share the pool and the notification feed.
#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pool: PgPool,
    /// This process's id in `documents.writer` and in notifications (so it skips its own).
    writer: Arc<str>,
    notices: broadcast::Sender<ChangeNotice>,
    /// Compaction checks load a snapshot into Automerge: one at a time, on the blocking pool.
    checks: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl PostgresStorage {
    /// Connects, brings the schema up to date (sqlx takes an advisory lock, so relays starting
    /// together migrate once), and listens for other relays' changes: every chunk another relay
    /// commits from the moment this returns is in [`Storage::changes`].
    pub async fn open(options: &PostgresOptions) -> Result<Self, StorageError> {
        let statement_timeout = format!("{}ms", options.statement_timeout.as_millis());
        let connect: PgConnectOptions = options.url.parse()?;
        let connect = connect
            .application_name("chatsync-relay")
            .options([("statement_timeout", statement_timeout.as_str())]);
        // One connection first, for its error: the pool would only report that it timed out
        // ("connection refused", a wrong password or database name are what people need to see).
        let first = PgConnection::connect_with(&connect);
        match tokio::time::timeout(options.acquire_timeout, first).await {
            Ok(connection) => connection?.close().await?,
            Err(_) => return Err(StorageError::Timeout(options.acquire_timeout)),
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        sqlx::migrate!("./migrations-postgres").run(&pool).await?;
        let writer: Arc<str> = automerge::ActorId::random().to_hex_string().into();
        let (notices, _) = broadcast::channel(4_096);
        let listener = listen::start(&pool).await?;
        tokio::spawn(listen::run(
            pool.clone(),
            listener,
            writer.clone(),
            notices.clone(),
        ));
        Ok(Self {
            pool,
            writer,
            notices,
            checks: Arc::new(Semaphore::new(1)),
            acquire_timeout: options.acquire_timeout,
        })
    }

    /// One compaction attempt; `Ok(false)` if another compaction committed first.
    async fn try_compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<bool, StorageError> {
        let key = id.to_string();
        let Some(row) = sqlx::query(
            "SELECT compactions, snapshot_bytes, snapshot_heads FROM documents WHERE id = $1",
        )
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(true);
        };
        let compactions: i64 = row.get("compactions");
        let had_snapshot = row.get::<i64, _>("snapshot_bytes") > 0;
        let old_heads = decode_heads(&row.get::<Vec<u8>, _>("snapshot_heads"));
        let chunks: Vec<(i64, Vec<ChangeHash>)> =
            sqlx::query("SELECT seq, heads FROM chunks WHERE document_id = $1 ORDER BY seq")
                .bind(&key)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| (r.get("seq"), decode_heads(&r.get::<Vec<u8>, _>("heads"))))
                .collect();
        let coverage = {
            let _permit = self.checks.acquire().await.map_err(|_| {
                StorageError::Snapshot("the compaction check gate is closed".into())
            })?;
            let snapshot = snapshot.to_vec();
            tokio::task::spawn_blocking(move || {
                coverage::check(&snapshot, had_snapshot.then_some(&old_heads[..]), &chunks)
            })
            .await
            .map_err(|e| StorageError::Snapshot(e.to_string()))??
        };
        if !coverage.holds_old_snapshot {
            // This relay's copy lacks something another relay compacted: keep what is there.
            tracing::info!(document = %id, "not compacting: the stored snapshot holds changes this one lacks");
            return Ok(true);
        }
        let mut tx = self.pool.begin().await?;
        let replaced = sqlx::query(
            "UPDATE documents SET snapshot = $2, snapshot_heads = $3, snapshot_bytes = $4, \
             compactions = compactions + 1 WHERE id = $1 AND compactions = $5 AND NOT purged",
        )
        .bind(&key)
        .bind(snapshot)
        .bind(encode_heads(&coverage.heads))
        .bind(snapshot.len() as i64)
        .bind(compactions)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if replaced == 0 {
            return Ok(false);
        }
        self.finish_compaction(&mut tx, &key, &coverage).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes the chunks the new snapshot holds, and recounts what is left, in the compaction's
    /// transaction (which holds the document's row lock, so no append interleaves).
    async fn finish_compaction(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        key: &str,
        coverage: &coverage::Coverage,
    ) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM chunks WHERE document_id = $1 AND seq = ANY($2)")
            .bind(key)
            .bind(&coverage.chunks)
            .execute(&mut **tx)
            .await?;
        // With no chunk left the snapshot's heads are the document's; otherwise they are unknown
        // until the next compaction (cold loads then take the normal path).
        sqlx::query(
            "UPDATE documents SET \
             chunk_bytes = (SELECT COALESCE(SUM(length(data)), 0) FROM chunks WHERE document_id = $1), \
             heads = CASE WHEN EXISTS (SELECT 1 FROM chunks WHERE document_id = $1) \
                     THEN ''::bytea ELSE snapshot_heads END, \
             writer = $2 \
             WHERE id = $1",
        )
        .bind(key)
        .bind(&*self.writer)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Tells the other relays, when `tx` commits, that document `key` was purged: each drops its
    /// copy in memory at once (it would otherwise serve reads from it until evicted).
    async fn notify_purged(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        key: &str,
    ) -> Result<(), StorageError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{} {key} {PURGED}", self.writer))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

impl Storage for PostgresStorage {
    async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        // One statement, so the snapshot and the chunks come from one moment: a compaction
        // committing between two reads could otherwise hide chunks it folded in.
        let Some(row) = sqlx::query(
            "SELECT owner, snapshot, heads, \
             (SELECT array_agg(data ORDER BY seq) FROM chunks WHERE document_id = d.id) AS chunks \
             FROM documents d WHERE id = $1 AND NOT purged",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(StoredDocument {
            owner: row.get("owner"),
            snapshot: row.get("snapshot"),
            chunks: row
                .get::<Option<Vec<Vec<u8>>>, _>("chunks")
                .unwrap_or_default(),
            heads: decode_heads(&row.get::<Vec<u8>, _>("heads")),
        }))
    }

    async fn owner(&self, id: &DocumentId) -> Result<Option<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT owner FROM documents WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn append(
        &self,
        id: &DocumentId,
        owner: &str,
        chunk: &[u8],
        heads: &[ChangeHash],
    ) -> Result<u64, StorageError> {
        let key = id.to_string();
        let encoded_heads = encode_heads(heads);
        // One statement, so one transaction: the upsert creates the row or, for its owner only, takes
        // the next sequence number (its row lock orders appends and compactions of one document);
        // the chunk is stored; the other relays are notified at commit (see `feed::decode_payload`).
        // The document's heads stay exact only while this relay is its one writer. Nothing comes
        // back when another user owns it.
        let row = sqlx::query(
            "WITH doc AS ( \
               INSERT INTO documents (id, owner, snapshot, snapshot_bytes, chunk_bytes, heads, writer, next_seq) \
               VALUES ($1, $2, ''::bytea, 0, $3, $4, $5, 2) \
               ON CONFLICT (id) DO UPDATE SET \
                 chunk_bytes = documents.chunk_bytes + excluded.chunk_bytes, \
                 heads = CASE WHEN documents.writer = excluded.writer AND documents.heads <> ''::bytea \
                         THEN excluded.heads ELSE ''::bytea END, \
                 writer = excluded.writer, \
                 next_seq = documents.next_seq + 1 \
               WHERE documents.owner = excluded.owner AND NOT documents.purged \
               RETURNING chunk_bytes, next_seq - 1 AS seq \
             ), stored AS ( \
               INSERT INTO chunks (document_id, seq, heads, data) SELECT $1, seq, $4, $6 FROM doc \
               RETURNING seq \
             ) \
             SELECT doc.chunk_bytes, \
               pg_notify($7, $5 || ' ' || $1 || ' ' || stored.seq || ' ' || $8) \
             FROM doc, stored",
        )
        .bind(&key)
        .bind(owner)
        .bind(chunk.len() as i64)
        .bind(&encoded_heads)
        .bind(&*self.writer)
        .bind(chunk)
        .bind(CHANNEL)
        .bind(payload_heads(heads))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            let purged: Option<bool> =
                sqlx::query_scalar("SELECT purged FROM documents WHERE id = $1")
                    .bind(&key)
                    .fetch_optional(&self.pool)
                    .await?;
            return Err(match purged {
                Some(true) => StorageError::Purged(*id),
                _ => StorageError::NotOwner(*id),
            });
        };
        let total: i64 = row.get("chunk_bytes");
        Ok(total.max(0) as u64)
    }

    async fn compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
        // Two relays compacting one document at once: the second re-checks against the first's
        // snapshot. A third loss in a row means the document is busy; compaction only saves space.
        for _ in 0..3 {
            if self.try_compact(id, snapshot).await? {
                return Ok(());
            }
        }
        tracing::info!(document = %id, "not compacting: other relays kept compacting it first");
        Ok(())
    }

    async fn purge(&self, id: &DocumentId, owner: &str) -> Result<u64, StorageError> {
        let key = id.to_string();
        // Two tries: a document being created by its owner's first append while this runs is
        // found on the second.
        for _ in 0..2 {
            let mut tx = self.pool.begin().await?;
            // The row lock this takes orders the purge with every append and compaction of the
            // document, on any relay: those that commit after it see `purged` and store nothing.
            let erased: Option<i64> = sqlx::query_scalar(
                "UPDATE documents SET purged = TRUE WHERE id = $1 AND owner = $2 \
                 RETURNING snapshot_bytes + chunk_bytes",
            )
            .bind(&key)
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(erased) = erased {
                self.notify_purged(&mut tx, &key).await?;
                delete_search_rows(&mut tx, owner, &key).await?;
                sqlx::query("DELETE FROM chunks WHERE document_id = $1")
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE documents SET snapshot = ''::bytea, snapshot_heads = ''::bytea, \
                     snapshot_bytes = 0, chunk_bytes = 0, heads = ''::bytea, writer = $2 \
                     WHERE id = $1",
                )
                .bind(&key)
                .bind(&*self.writer)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(erased.max(0) as u64);
            }
            let made = sqlx::query(
                "INSERT INTO documents (id, owner, snapshot, snapshot_bytes, chunk_bytes, purged) \
                 VALUES ($1, $2, ''::bytea, 0, 0, TRUE) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&key)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            if made == 1 {
                return Ok(0);
            }
            if self.owner(id).await?.as_deref() != Some(owner) {
                return Err(StorageError::NotOwner(*id));
            }
        }
        Err(StorageError::Snapshot(format!(
            "document {id} kept changing while it was purged"
        )))
    }

    async fn is_purged(&self, id: &DocumentId) -> Result<bool, StorageError> {
        let purged: Option<bool> = sqlx::query_scalar("SELECT purged FROM documents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(purged == Some(true))
    }

    async fn owners(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT owner FROM documents WHERE owner > $1 ORDER BY owner LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn search_put(&self, owner: &str, thread: &SearchThread) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        // The document's row, share-locked: a purge (which updates it) is wholly before this — and
        // then nothing is written — or waits for it, and then deletes these rows.
        let live: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM documents WHERE id = $1 AND owner = $2 AND NOT purged FOR SHARE",
        )
        .bind(&thread.thread_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        delete_search_rows(&mut tx, owner, &thread.thread_id).await?;
        if live.is_none() {
            tx.commit().await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO search_threads (owner, thread_id, title, project_id, archived) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(owner)
        .bind(&thread.thread_id)
        .bind(&thread.title)
        .bind(&thread.project_id)
        .bind(thread.archived)
        .execute(&mut *tx)
        .await?;
        let entries = &thread.entries;
        // One statement for every row; the terms become the tsvector's lexemes as they are (each
        // once: a tsvector holds a lexeme once).
        sqlx::query(
            "INSERT INTO search_entries (owner, thread_id, message_id, role, created_at, text, terms) \
             SELECT $1, $2, m, r, c, t, \
               array_to_tsvector(ARRAY(SELECT DISTINCT unnest(string_to_array(w, ' ')))) \
             FROM UNNEST($3::text[], $4::text[], $5::int8[], $6::text[], $7::text[]) AS u(m, r, c, t, w)",
        )
        .bind(owner)
        .bind(&thread.thread_id)
        .bind(entries.iter().map(|e| e.message_id.clone()).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.role.clone()).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| ms(e.created_at)).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.text.clone()).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.terms.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_indexed(&self, owner: &str) -> Result<Vec<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT thread_id FROM search_threads WHERE owner = $1")
                .bind(owner)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn search(
        &self,
        owner: &str,
        query: &SearchQuery,
    ) -> Result<Vec<SearchMatch>, StorageError> {
        if query.terms.is_empty() {
            return Ok(Vec::new());
        }
        // Every term a prefix (`'cafe':* & 'par':*`), quoted, read by the tsquery type itself: the
        // terms are already folded, so no text search configuration touches them.
        let expression = query
            .terms
            .iter()
            .map(|t| format!("'{}':*", t.replace('\\', "\\\\").replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(" & ");
        let rows = sqlx::query(
            "SELECT e.thread_id, e.message_id, e.role, e.created_at, e.text, t.title, \
               ts_rank(e.terms, q)::float8 AS score \
             FROM search_entries e \
             JOIN search_threads t ON t.owner = e.owner AND t.thread_id = e.thread_id, \
             CAST($1 AS tsquery) AS q \
             WHERE e.terms @@ q AND e.owner = $2 \
               AND ($3::text IS NULL OR t.project_id = $3) AND ($4::text IS NULL OR e.role = $4) \
               AND ($5::int8 IS NULL OR e.created_at >= $5) AND ($6::int8 IS NULL OR e.created_at <= $6) \
               AND ($7 OR NOT t.archived) AND NOT (e.thread_id = ANY($9)) \
             ORDER BY score DESC, e.created_at DESC LIMIT $8",
        )
        .bind(expression)
        .bind(owner)
        .bind(&query.project_id)
        .bind(&query.role)
        .bind(query.from.map(ms))
        .bind(query.to.map(ms))
        .bind(query.include_archived)
        .bind(i64::from(query.limit))
        .bind(&query.exclude_threads)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SearchMatch {
                thread_id: r.get("thread_id"),
                message_id: r.get("message_id"),
                role: r.get("role"),
                title: r.get("title"),
                created_at: unms(r.get("created_at")),
                text: r.get("text"),
                score: r.get("score"),
            })
            .collect())
    }

    async fn setting_or_init(&self, key: &str, initial: &[u8]) -> Result<Vec<u8>, StorageError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(initial)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn bytes_stored(&self) -> Result<u64, StorageError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(snapshot_bytes + chunk_bytes), 0)::BIGINT FROM documents",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(total.max(0) as u64)
    }

    async fn share_put(&self, share: &Share) -> Result<bool, StorageError> {
        shares::put(&self.pool, share).await
    }

    async fn share_remove(
        &self,
        id: &DocumentId,
        owner: &str,
        grantee: &str,
    ) -> Result<bool, StorageError> {
        let removed = shares::remove(&self.pool, id, owner, grantee).await?;
        // Every relay ends the grantee's sessions, whether or not this one found a grant (a revoke
        // repeated after a lost answer must still reach them).
        if self.owner(id).await?.as_deref() == Some(owner) {
            self.grant_revoked(id, grantee).await;
        }
        Ok(removed)
    }

    async fn grant_revoked(&self, id: &DocumentId, grantee: &str) {
        let notified = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(feed::revoke_payload(&self.writer, id, grantee))
            .execute(&self.pool)
            .await;
        if let Err(e) = notified {
            // The other relays still refuse the grantee's next message: grants are read per message.
            tracing::warn!(document = %id, error = %e, "other relays were not told of a revoke");
        }
    }

    async fn share_access(
        &self,
        id: &DocumentId,
        grantee: &str,
    ) -> Result<Option<ShareAccess>, StorageError> {
        shares::access(&self.pool, id, grantee).await
    }

    async fn shares_of(&self, id: &DocumentId) -> Result<Vec<Share>, StorageError> {
        shares::of_document(&self.pool, id).await
    }

    async fn shared_with(&self, grantee: &str) -> Result<Vec<Share>, StorageError> {
        shares::with(&self.pool, grantee).await
    }

    async fn link_put(&self, link: &ShareLink) -> Result<bool, StorageError> {
        shares::link_put(&self.pool, link).await
    }

    async fn link_get(&self, id: &str) -> Result<Option<ShareLink>, StorageError> {
        shares::link_get(&self.pool, id).await
    }

    async fn link_revoke(&self, id: &str, owner: &str) -> Result<bool, StorageError> {
        shares::link_revoke(&self.pool, id, owner).await
    }

    async fn ready(&self) -> Result<(), StorageError> {
        let ping = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(self.acquire_timeout, ping).await {
            Ok(result) => result.map(|_| ()).map_err(StorageError::from),
            Err(_) => Err(StorageError::Timeout(self.acquire_timeout)),
        }
    }

    fn changes(&self) -> Option<ChangeFeed> {
        Some(ChangeFeed::new(self.notices.subscribe()))
    }

    async fn chunks_from(&self, id: &DocumentId, first: u64) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT data FROM chunks WHERE document_id = $1 AND seq >= $2 ORDER BY seq",
        )
        .bind(id.to_string())
        .bind(i64::try_from(first).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Deletes the search rows of `owner`'s thread `thread_id`, in `tx`.
async fn delete_search_rows(
    tx: &mut Transaction<'_, Postgres>,
    owner: &str,
    thread_id: &str,
) -> Result<(), StorageError> {
    sqlx::query("DELETE FROM search_entries WHERE owner = $1 AND thread_id = $2")
        .bind(owner)
        .bind(thread_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM search_threads WHERE owner = $1 AND thread_id = $2")
        .bind(owner)
        .bind(thread_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
