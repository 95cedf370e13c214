//! The embedded default: one SQLite file in the data directory, in WAL mode with `synchronous=FULL`, so
//! a committed append survives `kill -9` and power loss.

mod shares;

use std::path::Path;
use std::str::FromStr;

use chatsync_protocol::DocumentId;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use automerge::ChangeHash;

use super::search::{ms, unms};
use super::{
    SearchMatch, SearchQuery, SearchThread, Share, ShareAccess, ShareLink, Storage, StorageError,
    StoredDocument, decode_heads, encode_heads,
};

/// SQLite storage. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    /// Opens (creating if needed) `chatsync.sqlite3` in `dir`, and brings its schema up to date.
    /// The database is readable by its owner only (0600), its `-wal` and `-shm` files too: it holds
    /// every user's conversations and the secret that derives their index ids.
    pub async fn open(dir: &Path) -> Result<Self, StorageError> {
        let path = dir.join("chatsync.sqlite3");
        owner_only(&path).map_err(StorageError::Io)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        // One writer at a time is what SQLite does anyway; readers share the rest.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
}

/// Creates the database file with mode 0600 if it is missing, and narrows an existing one (and its
/// `-wal` / `-shm` files) to 0600. SQLite creates the `-wal` and `-shm` files with the mode of the
/// database file, so creating that one first is what keeps them private as well.
#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = path.with_file_name(format!("chatsync.sqlite3{suffix}"));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

impl Storage for SqliteStorage {
    async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        let key = id.to_string();
        let mut tx = self.pool.begin().await?;
        let Some(row) =
            sqlx::query("SELECT owner, snapshot, heads FROM documents WHERE id = ? AND purged = 0")
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(None);
        };
        let chunks = sqlx::query("SELECT data FROM chunks WHERE document_id = ? ORDER BY seq")
            .bind(&key)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| r.get::<Vec<u8>, _>("data"))
            .collect();
        tx.commit().await?;
        Ok(Some(StoredDocument {
            owner: row.get("owner"),
            snapshot: row.get("snapshot"),
            chunks,
            heads: decode_heads(&row.get::<Vec<u8>, _>("heads")),
        }))
    }

    async fn owner(&self, id: &DocumentId) -> Result<Option<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT owner FROM documents WHERE id = ?")
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
        // Every statement is a round trip to sqlx's SQLite thread, and an append is on the path of
        // every acknowledgement: one upsert creates the row or, for its owner only, adds the chunk's
        // size and the new heads (no row back means another user owns it), then one insert.
        let mut tx = self.pool.begin().await?;
        let total: Option<i64> = sqlx::query_scalar(
            "INSERT INTO documents (id, owner, snapshot, snapshot_bytes, chunk_bytes, heads) \
             VALUES (?, ?, x'', 0, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET chunk_bytes = chunk_bytes + excluded.chunk_bytes, \
             heads = excluded.heads WHERE owner = excluded.owner AND purged = 0 \
             RETURNING chunk_bytes",
        )
        .bind(&key)
        .bind(owner)
        .bind(chunk.len() as i64)
        .bind(encode_heads(heads))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(total) = total else {
            drop(tx);
            return Err(refusal(&self.pool, id).await);
        };
        sqlx::query(
            "INSERT INTO chunks (document_id, seq, data) VALUES \
             (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE document_id = ?), ?)",
        )
        .bind(&key)
        .bind(&key)
        .bind(chunk)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(total.max(0) as u64)
    }

    async fn compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
        let key = id.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE documents SET snapshot = ?, snapshot_bytes = ?, chunk_bytes = 0 \
             WHERE id = ? AND purged = 0",
        )
        .bind(snapshot)
        .bind(snapshot.len() as i64)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn purge(&self, id: &DocumentId, owner: &str) -> Result<u64, StorageError> {
        let key = id.to_string();
        // Writing first takes SQLite's write lock at once (a transaction that read first could
        // find its snapshot stale when it comes to write); this statement's `RETURNING` still
        // sees the sizes it does not change.
        let mut tx = self.pool.begin().await?;
        let erased: Option<i64> = sqlx::query_scalar(
            "UPDATE documents SET purged = 1 WHERE id = ? AND owner = ? \
             RETURNING snapshot_bytes + chunk_bytes",
        )
        .bind(&key)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(erased) = erased else {
            let made = sqlx::query(
                "INSERT INTO documents (id, owner, snapshot, snapshot_bytes, chunk_bytes, heads, purged) \
                 VALUES (?, ?, x'', 0, 0, x'', 1) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&key)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if made == 0 {
                return Err(StorageError::NotOwner(*id));
            }
            tx.commit().await?;
            return Ok(0);
        };
        delete_search_rows(&mut tx, owner, &key).await?;
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE documents SET snapshot = x'', snapshot_bytes = 0, chunk_bytes = 0, heads = x'' \
             WHERE id = ?",
        )
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(erased.max(0) as u64)
    }

    async fn is_purged(&self, id: &DocumentId) -> Result<bool, StorageError> {
        let purged: Option<i64> = sqlx::query_scalar("SELECT purged FROM documents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(purged.is_some_and(|p| p != 0))
    }

    async fn owners(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT owner FROM documents WHERE owner > ? ORDER BY owner LIMIT ?",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn search_put(&self, owner: &str, thread: &SearchThread) -> Result<(), StorageError> {
        // Deleting first takes SQLite's write lock, so a purge is wholly before or after this.
        let mut tx = self.pool.begin().await?;
        delete_search_rows(&mut tx, owner, &thread.thread_id).await?;
        let live: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM documents WHERE id = ? AND owner = ? AND purged = 0")
                .bind(&thread.thread_id)
                .bind(owner)
                .fetch_optional(&mut *tx)
                .await?;
        if live.is_none() {
            tx.commit().await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO search_threads (owner, thread_id, title, project_id, archived) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(owner)
        .bind(&thread.thread_id)
        .bind(&thread.title)
        .bind(&thread.project_id)
        .bind(thread.archived)
        .execute(&mut *tx)
        .await?;
        for entry in &thread.entries {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO search_entries (owner, thread_id, message_id, role, created_at, text) \
                 VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(owner)
            .bind(&thread.thread_id)
            .bind(&entry.message_id)
            .bind(&entry.role)
            .bind(ms(entry.created_at))
            .bind(&entry.text)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO search_terms (rowid, terms) VALUES (?, ?)")
                .bind(id)
                .bind(&entry.terms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn search_indexed(&self, owner: &str) -> Result<Vec<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT thread_id FROM search_threads WHERE owner = ?")
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
        // Every term a prefix (`"cafe"* "par"*`: FTS5 ANDs them); quoted, so nothing in a term is
        // read as FTS5 syntax.
        let expression = query
            .terms
            .iter()
            .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ");
        let rows = sqlx::query(
            "SELECT e.thread_id, e.message_id, e.role, e.created_at, e.text, t.title, \
               -bm25(search_terms) AS score \
             FROM search_terms \
             JOIN search_entries e ON e.id = search_terms.rowid \
             JOIN search_threads t ON t.owner = e.owner AND t.thread_id = e.thread_id \
             WHERE search_terms MATCH ?1 AND e.owner = ?2 \
               AND (?3 IS NULL OR t.project_id = ?3) AND (?4 IS NULL OR e.role = ?4) \
               AND (?5 IS NULL OR e.created_at >= ?5) AND (?6 IS NULL OR e.created_at <= ?6) \
               AND (?7 OR t.archived = 0) \
               AND e.thread_id NOT IN (SELECT value FROM json_each(?9)) \
             ORDER BY score DESC, e.created_at DESC LIMIT ?8",
        )
        .bind(expression)
        .bind(owner)
        .bind(&query.project_id)
        .bind(&query.role)
        .bind(query.from.map(ms))
        .bind(query.to.map(ms))
        .bind(query.include_archived)
        .bind(i64::from(query.limit))
        .bind(serde_json::to_string(&query.exclude_threads).unwrap_or_else(|_| "[]".into()))
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
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(initial)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn close(&self) {
        // Fold the WAL into the database file while we still wait for it: the checkpoint SQLite runs
        // when the last connection closes happens on sqlx's worker thread, which the process may exit
        // before, leaving a WAL of several MB behind (seen as 4.3 MB on disk instead of 0.2 MB in the
        // benchmark, one run in four).
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "could not checkpoint the write-ahead log at shutdown");
        }
        self.pool.close().await;
    }

    async fn bytes_stored(&self) -> Result<u64, StorageError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(snapshot_bytes + chunk_bytes), 0) FROM documents",
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
        shares::remove(&self.pool, id, owner, grantee).await
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
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Deletes the search rows of `owner`'s thread `thread_id`, in `tx`.
async fn delete_search_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    owner: &str,
    thread_id: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "DELETE FROM search_terms WHERE rowid IN \
         (SELECT id FROM search_entries WHERE owner = ? AND thread_id = ?)",
    )
    .bind(owner)
    .bind(thread_id)
    .execute(&mut **tx)
    .await?;
    for table in ["search_entries", "search_threads"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE owner = ? AND thread_id = ?"
        ))
        .bind(owner)
        .bind(thread_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Why an append stored nothing: the document is purged, or another user's.
async fn refusal(pool: &SqlitePool, id: &DocumentId) -> StorageError {
    let purged: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT purged FROM documents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await;
    match purged {
        Ok(Some(p)) if p != 0 => StorageError::Purged(*id),
        Ok(_) => StorageError::NotOwner(*id),
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    #[tokio::test]
    async fn appends_load_in_order_and_compaction_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        assert_eq!(storage.load(&id(1)).await.unwrap(), None);
        storage.append(&id(1), "alice", b"one", &[]).await.unwrap();
        let total = storage.append(&id(1), "alice", b"two", &[]).await.unwrap();
        assert_eq!(total, 6);
        let doc = storage.load(&id(1)).await.unwrap().unwrap();
        assert_eq!(doc.owner, "alice");
        assert_eq!(doc.chunks, [b"one".to_vec(), b"two".to_vec()]);
        storage.compact(&id(1), b"snap").await.unwrap();
        storage
            .append(&id(1), "alice", b"three", &[])
            .await
            .unwrap();
        let doc = storage.load(&id(1)).await.unwrap().unwrap();
        assert_eq!(doc.snapshot, b"snap");
        assert_eq!(doc.chunks, [b"three".to_vec()]);
        assert_eq!(storage.bytes_stored().await.unwrap(), 9);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_journal_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        storage
            .append(&id(4), "alice", b"private", &[])
            .await
            .unwrap();
        for name in [
            "chatsync.sqlite3",
            "chatsync.sqlite3-wal",
            "chatsync.sqlite3-shm",
        ] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name} has mode {:o}", mode & 0o777);
        }
    }

    #[tokio::test]
    async fn the_first_writer_owns_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        storage.append(&id(2), "alice", b"x", &[]).await.unwrap();
        let err = storage
            .append(&id(2), "mallory", b"y", &[])
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::NotOwner(_)));
        assert_eq!(
            storage.owner(&id(2)).await.unwrap().as_deref(),
            Some("alice")
        );
        assert_eq!(storage.load(&id(2)).await.unwrap().unwrap().chunks.len(), 1);
    }

    #[tokio::test]
    async fn a_setting_keeps_its_first_value() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        assert_eq!(
            storage.setting_or_init("k", b"first").await.unwrap(),
            b"first"
        );
        assert_eq!(
            storage.setting_or_init("k", b"second").await.unwrap(),
            b"first"
        );
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let storage = SqliteStorage::open(dir.path()).await.unwrap();
            storage.append(&id(3), "alice", b"kept", &[]).await.unwrap();
        }
        let storage = SqliteStorage::open(dir.path()).await.unwrap();
        assert_eq!(
            storage.load(&id(3)).await.unwrap().unwrap().chunks,
            [b"kept".to_vec()]
        );
    }
}
