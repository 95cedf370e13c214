//! Durable document storage behind one trait, so the sync code never knows which database it talks to.
//!
//! A document is a compacted snapshot plus incremental chunks appended after it. Loading reads the
//! snapshot and its chunks; once the chunks outgrow the snapshot they are compacted into a new one.
//!
//! [`SqliteStorage`] is the embedded default for one relay; [`PostgresStorage`] lets several relays
//! share one database, and tells each about the chunks the others store ([`Storage::changes`]).

mod feed;
mod postgres;
mod sqlite;

use std::future::Future;

use automerge::ChangeHash;
use chatsync_protocol::DocumentId;

pub use feed::{ChangeFeed, ChangeNotice, StoredChange};
pub use postgres::{PostgresOptions, PostgresStorage};
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

    /// Flushes and releases the storage at shutdown (SQLite folds its write-ahead log into the
    /// database file).
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// Total bytes stored, for metrics.
    fn bytes_stored(&self) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Whether the database answers now (for `/readyz`).
    fn ready(&self) -> impl Future<Output = Result<(), StorageError>> + Send {
        async { Ok(()) }
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
