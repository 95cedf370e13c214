//! The shares and share links in PostgreSQL (see `storage/shares.rs`). A grant or link
//! is stored only for a document its owner holds, checked in the same statement.

use chatsync_protocol::DocumentId;
use sqlx::{PgPool, Row};

use crate::storage::shares::{MAX_LISTED_SHARES, from_i64, to_i64};
use crate::storage::{Share, ShareAccess, ShareLink, StorageError};

pub(super) async fn put(pool: &PgPool, share: &Share) -> Result<bool, StorageError> {
    let stored = sqlx::query(
        "INSERT INTO shares (document_id, grantee, access, granted_by, granted_at) \
         SELECT d.id, $2, $3, d.owner, $4 FROM documents d \
         WHERE d.id = $1 AND d.owner = $5 AND NOT d.purged \
         ON CONFLICT (document_id, grantee) DO UPDATE SET access = excluded.access, \
         granted_at = excluded.granted_at",
    )
    .bind(share.document.to_string())
    .bind(&share.grantee)
    .bind(share.access.as_str())
    .bind(to_i64(share.granted_at_ms))
    .bind(&share.owner)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

pub(super) async fn remove(
    pool: &PgPool,
    id: &DocumentId,
    owner: &str,
    grantee: &str,
) -> Result<bool, StorageError> {
    let removed = sqlx::query(
        "DELETE FROM shares WHERE document_id = $1 AND granted_by = $2 AND grantee = $3",
    )
    .bind(id.to_string())
    .bind(owner)
    .bind(grantee)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(removed > 0)
}

pub(super) async fn access(
    pool: &PgPool,
    id: &DocumentId,
    grantee: &str,
) -> Result<Option<ShareAccess>, StorageError> {
    let access: Option<String> = sqlx::query_scalar(
        "SELECT s.access FROM shares s JOIN documents d ON d.id = s.document_id \
         WHERE s.document_id = $1 AND s.grantee = $2 AND NOT d.purged AND d.owner = s.granted_by",
    )
    .bind(id.to_string())
    .bind(grantee)
    .fetch_optional(pool)
    .await?;
    Ok(access.as_deref().and_then(ShareAccess::parse))
}

fn share(row: &<sqlx::Postgres as sqlx::Database>::Row) -> Option<Share> {
    Some(Share {
        document: row.get::<String, _>("document_id").parse().ok()?,
        owner: row.get("granted_by"),
        grantee: row.get("grantee"),
        access: ShareAccess::parse(&row.get::<String, _>("access"))?,
        granted_at_ms: from_i64(row.get("granted_at")),
    })
}

const SHARE_COLUMNS: &str = "s.document_id, s.granted_by, s.grantee, s.access, s.granted_at";

pub(super) async fn of_document(
    pool: &PgPool,
    id: &DocumentId,
) -> Result<Vec<Share>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT {SHARE_COLUMNS} FROM shares s JOIN documents d ON d.id = s.document_id \
         WHERE s.document_id = $1 AND NOT d.purged AND d.owner = s.granted_by ORDER BY s.grantee"
    ))
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().filter_map(share).collect())
}

pub(super) async fn with(pool: &PgPool, grantee: &str) -> Result<Vec<Share>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT {SHARE_COLUMNS} FROM shares s JOIN documents d ON d.id = s.document_id \
         WHERE s.grantee = $1 AND NOT d.purged AND d.owner = s.granted_by \
         ORDER BY s.granted_at DESC, s.document_id DESC LIMIT {MAX_LISTED_SHARES}"
    ))
    .bind(grantee)
    .fetch_all(pool)
    .await?;
    // The newest grants, listed oldest first.
    Ok(rows.iter().rev().filter_map(share).collect())
}

pub(super) async fn link_put(pool: &PgPool, link: &ShareLink) -> Result<bool, StorageError> {
    let stored = sqlx::query(
        "INSERT INTO share_links (id, document_id, created_by, created_at, expires_at, revoked) \
         SELECT $1, d.id, d.owner, $3, $4, FALSE FROM documents d \
         WHERE d.id = $2 AND d.owner = $5 AND NOT d.purged",
    )
    .bind(&link.id)
    .bind(link.document.to_string())
    .bind(to_i64(link.created_at_ms))
    .bind(link.expires_at_ms.map(to_i64))
    .bind(&link.created_by)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

pub(super) async fn link_get(pool: &PgPool, id: &str) -> Result<Option<ShareLink>, StorageError> {
    let row = sqlx::query(
        "SELECT l.id, l.document_id, l.created_by, l.created_at, l.expires_at, l.revoked \
         FROM share_links l JOIN documents d ON d.id = l.document_id \
         WHERE l.id = $1 AND NOT d.purged AND d.owner = l.created_by",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|row| {
        Some(ShareLink {
            id: row.get("id"),
            document: row.get::<String, _>("document_id").parse().ok()?,
            created_by: row.get("created_by"),
            created_at_ms: from_i64(row.get("created_at")),
            expires_at_ms: row.get::<Option<i64>, _>("expires_at").map(from_i64),
            revoked: row.get("revoked"),
        })
    }))
}

pub(super) async fn link_revoke(
    pool: &PgPool,
    id: &str,
    owner: &str,
) -> Result<bool, StorageError> {
    let revoked =
        sqlx::query("UPDATE share_links SET revoked = TRUE WHERE id = $1 AND created_by = $2")
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected();
    Ok(revoked == 1)
}
