//! The relay's [`Storage`] in memory: a fuzz input must cost microseconds, not a SQLite transaction,
//! and must not see what earlier inputs stored (each gets a fresh one).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chatsync_protocol::DocumentId;
use chatsync_protocol::automerge::ChangeHash;
use chatsync_relay::storage::{Storage, StorageError, StoredDocument};

/// Documents and settings in memory. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct MemoryStorage {
    documents: Arc<Mutex<HashMap<DocumentId, StoredDocument>>>,
    settings: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// Purged documents: their entry is kept, emptied, as SQLite keeps its tombstone row.
    purged: Arc<Mutex<HashSet<DocumentId>>>,
}

impl MemoryStorage {
    /// A storage holding `documents`.
    pub fn with(documents: impl IntoIterator<Item = (DocumentId, StoredDocument)>) -> Self {
        let storage = Self::default();
        storage.documents().extend(documents);
        storage
    }

    fn documents(&self) -> std::sync::MutexGuard<'_, HashMap<DocumentId, StoredDocument>> {
        // A panic while the lock is held aborts the fuzzer anyway: poisoning tells nothing more.
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Storage for MemoryStorage {
    async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        if self.is_purged(id).await? {
            return Ok(None);
        }
        Ok(self.documents().get(id).cloned())
    }

    async fn owner(&self, id: &DocumentId) -> Result<Option<String>, StorageError> {
        Ok(self.documents().get(id).map(|d| d.owner.clone()))
    }

    async fn append(
        &self,
        id: &DocumentId,
        owner: &str,
        chunk: &[u8],
        heads: &[ChangeHash],
    ) -> Result<u64, StorageError> {
        let purged = self.is_purged(id).await?;
        let mut documents = self.documents();
        let doc = documents.entry(*id).or_insert_with(|| StoredDocument {
            owner: owner.to_owned(),
            snapshot: Vec::new(),
            chunks: Vec::new(),
            heads: Vec::new(),
        });
        if doc.owner != owner {
            return Err(StorageError::NotOwner(*id));
        }
        if purged {
            return Err(StorageError::Purged(*id));
        }
        doc.chunks.push(chunk.to_vec());
        doc.heads = heads.to_vec();
        Ok(doc.chunks.iter().map(|c| c.len() as u64).sum())
    }

    async fn compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
        if self.is_purged(id).await? {
            return Ok(());
        }
        if let Some(doc) = self.documents().get_mut(id) {
            doc.snapshot = snapshot.to_vec();
            doc.chunks.clear();
        }
        Ok(())
    }

    async fn setting_or_init(&self, key: &str, initial: &[u8]) -> Result<Vec<u8>, StorageError> {
        let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(settings
            .entry(key.to_owned())
            .or_insert_with(|| initial.to_vec())
            .clone())
    }

    async fn purge(&self, id: &DocumentId, owner: &str) -> Result<u64, StorageError> {
        let mut documents = self.documents();
        let doc = documents.entry(*id).or_insert_with(|| StoredDocument {
            owner: owner.to_owned(),
            snapshot: Vec::new(),
            chunks: Vec::new(),
            heads: Vec::new(),
        });
        if doc.owner != owner {
            return Err(StorageError::NotOwner(*id));
        }
        let erased =
            doc.snapshot.len() as u64 + doc.chunks.iter().map(|c| c.len() as u64).sum::<u64>();
        *doc = StoredDocument {
            owner: owner.to_owned(),
            snapshot: Vec::new(),
            chunks: Vec::new(),
            heads: Vec::new(),
        };
        self.purged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(*id);
        Ok(erased)
    }

    async fn is_purged(&self, id: &DocumentId) -> Result<bool, StorageError> {
        let purged = self.purged.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(purged.contains(id))
    }

    async fn owners(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, StorageError> {
        let mut owners: Vec<String> = self
            .documents()
            .values()
            .map(|d| d.owner.clone())
            .filter(|o| after.is_none_or(|a| o.as_str() > a))
            .collect();
        owners.sort();
        owners.dedup();
        owners.truncate(limit as usize);
        Ok(owners)
    }

    async fn close(&self) {}

    async fn bytes_stored(&self) -> Result<u64, StorageError> {
        Ok(self
            .documents()
            .values()
            .map(|d| d.snapshot.len() as u64 + d.chunks.iter().map(|c| c.len() as u64).sum::<u64>())
            .sum())
    }
}
