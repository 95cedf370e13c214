//! A storage double in memory whose loads, appends and compactions can be held at a gate per
//! document until the test opens it, and which counts loads — so tests can prove what proceeds
//! while one document's IO is in progress, without timing guesses.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatsync_protocol::DocumentId;
use chatsync_protocol::automerge::{AutoCommit, ChangeHash};
use chatsync_relay::storage::{Storage, StorageError, StoredDocument};
use tokio::sync::watch;

/// Holds calls on chosen documents until opened.
pub struct Gate {
    held: Mutex<HashSet<DocumentId>>,
    generation: watch::Sender<u64>,
    /// Calls waiting at the gate now.
    pub waiting: AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            held: Mutex::default(),
            generation: watch::channel(0).0,
            waiting: AtomicUsize::new(0),
        }
    }
}

impl Gate {
    /// Calls on `id` wait from now on.
    pub fn hold(&self, id: DocumentId) {
        self.held.lock().unwrap().insert(id);
    }

    /// Lets every held call through.
    pub fn open(&self) {
        self.held.lock().unwrap().clear();
        self.generation.send_modify(|g| *g += 1);
    }

    /// Waits until `n` calls wait at the gate (at most 5 s).
    pub async fn until_waiting(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while self.waiting.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .expect("nothing reached the gate");
    }

    async fn pass(&self, id: &DocumentId) {
        let mut rx = self.generation.subscribe();
        if !self.held.lock().unwrap().contains(id) {
            return;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _ = rx.changed().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Storage in memory with gates, a load counter and an optional delay on every append.
#[derive(Clone, Default)]
pub struct SlowStorage(Arc<Inner>);

#[derive(Default)]
pub struct Inner {
    documents: Mutex<HashMap<DocumentId, StoredDocument>>,
    settings: Mutex<HashMap<String, Vec<u8>>>,
    pub loads_gate: Gate,
    pub appends_gate: Gate,
    pub compactions_gate: Gate,
    /// Loads per document.
    loads: Mutex<HashMap<DocumentId, usize>>,
    /// Every append sleeps this long first (real time).
    pub append_delay: Mutex<Duration>,
    /// The next append fails (and stores nothing).
    pub fail_next_append: AtomicBool,
    /// The next append panics (and stores nothing).
    pub panic_next_append: AtomicBool,
}

impl std::ops::Deref for SlowStorage {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl SlowStorage {
    /// How often `id` was loaded.
    pub fn loads_of(&self, id: &DocumentId) -> usize {
        self.loads.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    /// Whether storage holds every one of `heads` (the changes, not only as heads).
    pub fn holds_all(&self, id: &DocumentId, heads: &[ChangeHash]) -> bool {
        let Some(stored) = self.documents.lock().unwrap().get(id).cloned() else {
            return heads.is_empty();
        };
        let mut doc = if stored.snapshot.is_empty() {
            AutoCommit::new()
        } else {
            AutoCommit::load(&stored.snapshot).unwrap()
        };
        doc.load_incremental(&stored.chunks.concat()).unwrap();
        heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
    }

    /// Stores `doc` as `owner`'s document `id`, as chunks.
    pub fn put(&self, id: DocumentId, owner: &str, doc: &mut AutoCommit) {
        self.documents.lock().unwrap().insert(
            id,
            StoredDocument {
                owner: owner.to_owned(),
                snapshot: Vec::new(),
                chunks: vec![doc.save()],
                heads: doc.get_heads(),
            },
        );
    }
}

impl Storage for SlowStorage {
    async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        *self.loads.lock().unwrap().entry(*id).or_default() += 1;
        self.loads_gate.pass(id).await;
        Ok(self.documents.lock().unwrap().get(id).cloned())
    }

    async fn owner(&self, id: &DocumentId) -> Result<Option<String>, StorageError> {
        let documents = self.documents.lock().unwrap();
        Ok(documents.get(id).map(|d| d.owner.clone()))
    }

    async fn append(
        &self,
        id: &DocumentId,
        owner: &str,
        chunk: &[u8],
        heads: &[ChangeHash],
    ) -> Result<u64, StorageError> {
        let delay = *self.append_delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.appends_gate.pass(id).await;
        if self.panic_next_append.swap(false, Ordering::SeqCst) {
            panic!("a storage bug");
        }
        if self.fail_next_append.swap(false, Ordering::SeqCst) {
            return Err(StorageError::Io(std::io::Error::other("the disk is full")));
        }
        let mut documents = self.documents.lock().unwrap();
        let doc = documents.entry(*id).or_insert_with(|| StoredDocument {
            owner: owner.to_owned(),
            snapshot: Vec::new(),
            chunks: Vec::new(),
            heads: Vec::new(),
        });
        if doc.owner != owner {
            return Err(StorageError::NotOwner(*id));
        }
        doc.chunks.push(chunk.to_vec());
        doc.heads = heads.to_vec();
        Ok(doc.chunks.iter().map(|c| c.len() as u64).sum())
    }

    async fn compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
        self.compactions_gate.pass(id).await;
        if let Some(doc) = self.documents.lock().unwrap().get_mut(id) {
            doc.snapshot = snapshot.to_vec();
            doc.chunks.clear();
        }
        Ok(())
    }

    async fn setting_or_init(&self, key: &str, initial: &[u8]) -> Result<Vec<u8>, StorageError> {
        let mut settings = self.settings.lock().unwrap();
        Ok(settings
            .entry(key.to_owned())
            .or_insert_with(|| initial.to_vec())
            .clone())
    }

    async fn purge(&self, id: &DocumentId, _owner: &str) -> Result<u64, StorageError> {
        Err(StorageError::Io(std::io::Error::other(format!(
            "this test double does not purge ({id})"
        ))))
    }

    async fn is_purged(&self, _id: &DocumentId) -> Result<bool, StorageError> {
        Ok(false)
    }

    async fn owners(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, StorageError> {
        let documents = self.documents.lock().unwrap();
        let mut owners: Vec<String> = documents
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
        Ok(0)
    }
}
