//! Durable document storage behind one trait, so the sync code never knows which database it talks to.
//!
//! A document is a compacted snapshot plus incremental chunks appended after it. Loading reads the
//! snapshot and its chunks; once the chunks outgrow the snapshot they are compacted into a new one.
//!
//! [`SqliteStorage`] is the embedded default for one relay; [`PostgresStorage`] lets several relays
//! share one database, and tells each about the chunks the others store ([`Storage::changes`]).
//!
//! Beside the documents, each keeps a search table of every thread's title and messages, scoped to
//! the owner ([`Storage::search_put`], [`Storage::search`]): FTS5 on SQLite, a `tsvector` with a
//! GIN index on PostgreSQL.
//!
//! And the shares: who besides a document's owner may open it, with what access, and the
//! read-only links to it ([`Storage::share_put`], [`Storage::share_access`], [`Storage::link_put`]).

mod feed;
mod postgres;
mod search;
mod shares;
mod sqlite;

use std::future::Future;

use automerge::ChangeHash;
use chatsync_protocol::DocumentId;

pub use feed::{ChangeFeed, ChangeNotice, StoredChange};
pub use postgres::{PostgresOptions, PostgresStorage};
pub use search::{SearchEntry, SearchMatch, SearchQuery, SearchThread};
pub use shares::{Share, ShareAccess, ShareLink};
pub use sqlite::SqliteStorage;

/// A stored document as loaded: the hub's type, so storage answers its tasks without conversion.
pub use chatsync_protocol::hub::StoredDocument;

/// Heads as stored: 32-byte hashes, concatenated.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// The inverse of [`encode_heads`]; malformed bytes read as no heads.
pub(crate) fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    if !bytes.len().is_multiple_of(32) {
        return Vec::new();
    }
    bytes
        .chunks_exact(32)
        .map(|c| ChangeHash(c.try_into().expect("32 bytes")))
        .collect()
}

/// Why storage failed. Details are logged; clients see only that storage is unavailable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be created or migrated.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database file could not be created or given its permissions.
    #[error("database file: {0}")]
    Io(#[source] std::io::Error),
    /// The database did not answer in time (it is down, or overloaded).
    #[error("the database did not answer within {} ms", .0.as_millis())]
    Timeout(std::time::Duration),
    /// Checking what a new snapshot holds failed (the snapshot did not load).
    #[error("snapshot check: {0}")]
    Snapshot(String),
    /// A document is owned by someone else (a race between two users creating one id).
    #[error("document {0} belongs to another user")]
    NotOwner(DocumentId),
    /// The document was purged: it takes no more changes, so no device brings it back.
    #[error("document {0} was purged")]
    Purged(DocumentId),
}

/// Where documents live. Every write has returned only once it is durable.
pub trait Storage: Send + Sync + 'static {
    /// The document, if stored.
    fn load(
        &self,
        id: &DocumentId,
    ) -> impl Future<Output = Result<Option<StoredDocument>, StorageError>> + Send;

    /// The owner of a document, if stored.
    fn owner(
        &self,
        id: &DocumentId,
    ) -> impl Future<Output = Result<Option<String>, StorageError>> + Send;

    /// Appends changes, after which the document's heads are `heads`. The first append creates the
    /// document with `owner`; a later one by another user fails with [`StorageError::NotOwner`].
    /// Returns the total size of the chunks now stored.
    fn append(
        &self,
        id: &DocumentId,
        owner: &str,
        chunk: &[u8],
        heads: &[ChangeHash],
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Replaces the snapshot, and every chunk `snapshot` holds, with `snapshot`, in one transaction.
    /// (SQLite, written by one relay, takes every chunk; PostgreSQL checks which chunks the snapshot
    /// holds, so a chunk another relay appended and this one never saw stays.)
    fn compact(
        &self,
        id: &DocumentId,
        snapshot: &[u8],
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// The setting `key`; if unset, sets it to `initial` first (atomically: concurrent relays on one
    /// database agree on one value).
    fn setting_or_init(
        &self,
        key: &str,
        initial: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, StorageError>> + Send;

    /// Erases a document for good, in one transaction: its snapshot, heads and every chunk are
    /// deleted, and its row is kept, emptied, as a tombstone (made for `owner` if the document was
    /// never stored). A tombstone loads as absent, refuses every later append with
    /// [`StorageError::Purged`] (so a purge committed first wins over any append) and is never
    /// compacted into; its owner stays recorded, so nobody else can claim the id. Its search rows
    /// are deleted in the same transaction. Another user's
    /// document fails with [`StorageError::NotOwner`]. Purging twice is harmless. Returns the bytes
    /// erased.
    fn purge(
        &self,
        id: &DocumentId,
        owner: &str,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Whether `id` is a purged document's tombstone.
    fn is_purged(&self, id: &DocumentId)
    -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// The users who own stored documents, in order, after `after`, at most `limit` of them: for
    /// walking every user in bounded pages (the retention sweep).
    fn owners(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<String>, StorageError>> + Send;

    /// Flushes and releases the storage at shutdown (SQLite folds its write-ahead log into the
    /// database file).
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// Total bytes stored, for metrics.
    fn bytes_stored(&self) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Whether the database answers now (for `/readyz`).
    fn ready(&self) -> impl Future<Output = Result<(), StorageError>> + Send {
        async { Ok(()) }
    }

    /// Replaces the search rows of `owner`'s thread with `thread`'s, in one transaction, and marks
    /// it indexed. Nothing is written for a document that is not `owner`'s or is purged (a purge
    /// committed first wins: its thread never comes back in results). Storage without a search
    /// table (a test double) keeps nothing.
    fn search_put(
        &self,
        owner: &str,
        thread: &SearchThread,
    ) -> impl Future<Output = Result<(), StorageError>> + Send {
        let _ = (owner, thread);
        async { Ok(()) }
    }

    /// The ids of `owner`'s threads that have search rows (indexed at least once).
    fn search_indexed(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<String>, StorageError>> + Send {
        let _ = owner;
        async { Ok(Vec::new()) }
    }

    /// `owner`'s rows that match `query`, best first: only ever the owner's own threads.
    fn search(
        &self,
        owner: &str,
        query: &SearchQuery,
    ) -> impl Future<Output = Result<Vec<SearchMatch>, StorageError>> + Send {
        let _ = (owner, query);
        async { Ok(Vec::new()) }
    }

    /// Grants `grantee` `access` to `owner`'s document `id` (replacing an earlier grant). Returns
    /// false, and stores nothing, if `id` is not a stored document of `owner`'s (missing, another
    /// user's, or purged). Storage without a shares table (a test double) keeps nothing.
    fn share_put(&self, share: &Share) -> impl Future<Output = Result<bool, StorageError>> + Send {
        let _ = share;
        async { Ok(false) }
    }

    /// Takes back `grantee`'s access to `owner`'s document `id`, and tells the other relays
    /// ([`Storage::grant_revoked`]). Returns whether there was one.
    fn share_remove(
        &self,
        id: &DocumentId,
        owner: &str,
        grantee: &str,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send {
        let _ = (id, owner, grantee);
        async { Ok(false) }
    }

    /// Tells every other relay on this database that `grantee` lost their access to `id`
    /// ([`ChangeNotice::Revoked`]), so each ends their sessions on it. Storage only this relay
    /// writes has nobody to tell.
    fn grant_revoked(&self, id: &DocumentId, grantee: &str) -> impl Future<Output = ()> + Send {
        let _ = (id, grantee);
        async {}
    }

    /// What `grantee` may do with document `id` by a grant (not as its owner): none for a purged
    /// document.
    fn share_access(
        &self,
        id: &DocumentId,
        grantee: &str,
    ) -> impl Future<Output = Result<Option<ShareAccess>, StorageError>> + Send {
        let _ = (id, grantee);
        async { Ok(None) }
    }

    /// Every grant on document `id`, by grantee.
    fn shares_of(
        &self,
        id: &DocumentId,
    ) -> impl Future<Output = Result<Vec<Share>, StorageError>> + Send {
        let _ = id;
        async { Ok(Vec::new()) }
    }

    /// Every document shared with `grantee` (purged ones left out), oldest grant first.
    fn shared_with(
        &self,
        grantee: &str,
    ) -> impl Future<Output = Result<Vec<Share>, StorageError>> + Send {
        let _ = grantee;
        async { Ok(Vec::new()) }
    }

    /// Stores a new share link. Returns false, and stores nothing, if its document is not a stored
    /// document of `link.created_by`'s.
    fn link_put(
        &self,
        link: &ShareLink,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send {
        let _ = link;
        async { Ok(false) }
    }

    /// The share link `id`, revoked or expired too (the caller decides); none for a purged
    /// document's.
    fn link_get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ShareLink>, StorageError>> + Send {
        let _ = id;
        async { Ok(None) }
    }

    /// Revokes `owner`'s share link `id`. Returns whether it was theirs (revoking twice is true).
    fn link_revoke(
        &self,
        id: &str,
        owner: &str,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send {
        let _ = (id, owner);
        async { Ok(false) }
    }

    /// Chunks of `id` stored by other relays as they commit, if other relays can write this
    /// database (PostgreSQL); `None` for storage only this relay writes (SQLite).
    fn changes(&self) -> Option<ChangeFeed> {
        None
    }

    /// The chunks of `id` from sequence number `first` on (see [`StoredChange::seq`]), in order.
    /// Chunks compacted meanwhile are in the snapshot instead: a caller missing them loads the
    /// document. Storage without sequence numbers returns every chunk, which is a superset.
    fn chunks_from(
        &self,
        id: &DocumentId,
        first: u64,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StorageError>> + Send {
        let _ = first;
        async move { Ok(self.load(id).await?.map(|d| d.chunks).unwrap_or_default()) }
    }
}

/// The relay's identity in storage: its `storageId` and the secret that derives index document ids.
/// Made once per database and shared by every relay on it.
pub async fn relay_identity<S: Storage>(storage: &S) -> Result<(String, Vec<u8>), StorageError> {
    // Automerge's random actor ids are 16 bytes from the OS random source, which is all these need.
    let random = || automerge::ActorId::random().to_bytes().to_vec();
    let storage_id = storage
        .setting_or_init(
            "storage_id",
            automerge::ActorId::random().to_hex_string().as_bytes(),
        )
        .await?;
    let mut secret = random();
    secret.extend(random());
    let secret = storage.setting_or_init("index_secret", &secret).await?;
    Ok((String::from_utf8_lossy(&storage_id).into_owned(), secret))
}
