//! Changes stored by other relays on the same database ([`Storage::changes`]): a document this relay
//! holds in memory is told ([`HubDocument::handle_stored_elsewhere`]), and the hub decides the rest —
//! if memory lacks the changes it reads storage once the task in flight is done, merges, and syncs
//! every session — so a device on this relay sees a change made through another one live. This file
//! only carries the notices to the documents and runs the tasks they ask for. Documents not in
//! memory need nothing: their next load reads storage.
//!
//! [`HubDocument::handle_stored_elsewhere`]: chatsync_protocol::hub::HubDocument::handle_stored_elsewhere

use std::sync::{Arc, PoisonError};

use automerge::ChangeHash;
use chatsync_protocol::DocumentId;
use tokio_util::sync::CancellationToken;

use super::Relay;
use super::document::LoadedDocument;
use super::tasks::Runner;
use crate::storage::{ChangeNotice, Storage};

/// What other relays stored that one document has not been told yet, coalesced: however many
/// notices arrive while it is being told (or while it loads), it is told once more after, with
/// all of them — at most one task per document, and none for documents not in memory.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    heads: Vec<ChangeHash>,
    /// A notice named no heads (too many), or notices were lost: read everything stored.
    unknown: bool,
    /// A task is telling the document (it takes what is pending before it ends).
    running: bool,
}

impl Pending {
    fn add(&mut self, heads: Option<Vec<ChangeHash>>) {
        match heads {
            Some(heads) => {
                for head in heads {
                    if !self.heads.contains(&head) {
                        self.heads.push(head);
                    }
                }
            }
            None => self.unknown = true,
        }
    }

    fn is_empty(&self) -> bool {
        self.heads.is_empty() && !self.unknown
    }

    /// What to tell the document: `None` heads when which changes is unknown.
    fn take(&mut self) -> Option<Vec<ChangeHash>> {
        let heads = std::mem::take(&mut self.heads);
        (!std::mem::take(&mut self.unknown)).then_some(heads)
    }
}

impl<S: Storage> Relay<S> {
    /// Follows the changes other relays store until `shutdown` (or forever, for storage that only
    /// this relay writes: then it returns at once).
    pub async fn follow_other_relays(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(mut feed) = self.storage.changes() else {
            return;
        };
        loop {
            let notice = tokio::select! {
                notice = feed.next() => notice,
                () = shutdown.cancelled() => return,
            };
            match notice {
                None => return,
                Some(ChangeNotice::Stored(change)) => {
                    // No heads: there were too many to name, so which changes is unknown.
                    let heads = (!change.heads.is_empty()).then_some(change.heads);
                    self.notice(change.document, heads);
                }
                Some(ChangeNotice::Purged(id)) => {
                    // Sessions on the copy close with it: their devices reconnect and find the
                    // tombstone, as on the relay that purged. Notices pending for it end with it
                    // (`tell` finds no document).
                    if let Some(document) = self.loaded(&id) {
                        self.forget_copy(&document, None).await;
                    }
                }
                Some(ChangeNotice::Revoked { document, grantee }) => {
                    self.drop_grantee(&document, &grantee).await;
                }
                Some(ChangeNotice::Missed) => {
                    // Notices may have been lost: every document in memory (or loading) reads
                    // what is stored.
                    let ids: Vec<DocumentId> = {
                        let documents = self
                            .documents
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
                        documents.keys().copied().collect()
                    };
                    for id in ids {
                        self.notice(id, None);
                    }
                }
            }
        }
    }

    /// One notice for document `id`. A document not in memory needs nothing (its next load reads
    /// storage). One loading now may have read storage before the change was committed: the notice
    /// waits, and is stepped in once the load is done ([`Relay::loaded_after_notices`]). Otherwise
    /// a task tells the document, unless one is at it already: then it tells it again after.
    fn notice(self: &Arc<Self>, id: DocumentId, heads: Option<Vec<ChangeHash>>) {
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(slot) = documents.get(&id) else {
            return;
        };
        let loading = !slot.initialized();
        let mut notices = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = notices.entry(id).or_default();
        pending.add(heads);
        if loading || pending.running {
            return;
        }
        pending.running = true;
        drop((notices, documents));
        self.spawn_telling(id);
    }

    /// Document `id` is in memory now (a load finished): notices that came while it loaded are
    /// stepped in. Called under no lock.
    pub(crate) fn loaded_after_notices(self: &Arc<Self>, id: &DocumentId) {
        // The documents map first, as `notice` takes it: a notice that saw the document loading
        // has then put its heads down before this looks.
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut notices = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(pending) = notices.get_mut(id) else {
            return;
        };
        if pending.running || pending.is_empty() {
            return;
        }
        pending.running = true;
        drop((notices, documents));
        self.spawn_telling(*id);
    }

    /// A load of `id` failed: notices waiting for it are dropped (the document is not in memory;
    /// the next load reads storage, which holds their changes), unless a task is at them.
    pub(crate) fn drop_notices_unless_loading(&self, id: &DocumentId) {
        let documents = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if documents.contains_key(id) {
            return;
        }
        let mut notices = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
        if notices.get(id).is_some_and(|p| !p.running) {
            notices.remove(id);
        }
    }

    fn spawn_telling(self: &Arc<Self>, id: DocumentId) {
        let relay = self.clone();
        tokio::spawn(async move { relay.tell(id).await });
    }

    /// Steps what is pending into document `id` until nothing is, then ends (the last look and the
    /// end are under the lock a new notice takes, so none is left behind).
    async fn tell(self: Arc<Self>, id: DocumentId) {
        loop {
            let next = {
                let documents = self
                    .documents
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let document = documents.get(&id).and_then(|slot| slot.get().cloned());
                let mut notices = self.notices.lock().unwrap_or_else(PoisonError::into_inner);
                match (document, notices.get_mut(&id)) {
                    (Some(document), Some(pending)) if !pending.is_empty() => {
                        Some((document, pending.take()))
                    }
                    _ => {
                        notices.remove(&id);
                        None
                    }
                }
            };
            let Some((document, heads)) = next else {
                return;
            };
            self.stored_elsewhere(&document, heads).await;
        }
    }

    /// One notice stepped into the document (`heads: None` when which changes is unknown), and the
    /// storage tasks it asks for carried out.
    async fn stored_elsewhere(
        self: &Arc<Self>,
        document: &Arc<LoadedDocument>,
        heads: Option<Vec<ChangeHash>>,
    ) {
        let now = self.now();
        let stepped = self
            .step(
                document,
                None,
                heads,
                |hub, _| hub.cost_of_settling(),
                move |state, heads| match heads {
                    Some(heads) => state.hub.handle_stored_elsewhere(now, heads),
                    None => state.hub.handle_stored_elsewhere_unknown(now),
                },
            )
            .await;
        let done = match stepped {
            Ok(((), carried)) => self.run_tasks(document, carried, Runner::Background).await,
            Err(refusal) => Err(refusal.into()),
        };
        if let Err(ended) = done {
            tracing::warn!(document = %document.id, ?ended, "could not read another relay's changes");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ReadDoc};
    use tokio::sync::{Notify, broadcast};

    use super::*;
    use crate::auth::Auth;
    use crate::relay::{Identity, Limits, Open};
    use crate::storage::{ChangeFeed, SqliteStorage, StorageError, StoredChange, StoredDocument};

    /// SQLite with a change feed the test writes to, and loads that can be held after they read
    /// (a long load: storage read, then a slow rebuild).
    #[derive(Clone)]
    struct Fed(Arc<FedInner>);

    struct FedInner {
        sqlite: SqliteStorage,
        feed: broadcast::Sender<ChangeNotice>,
        hold_loads: AtomicBool,
        released: Notify,
    }

    impl Storage for Fed {
        async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
            let read = self.0.sqlite.load(id).await;
            if self.0.hold_loads.load(Ordering::SeqCst) {
                self.0.released.notified().await;
            }
            read
        }
        async fn owner(&self, id: &DocumentId) -> Result<Option<String>, StorageError> {
            self.0.sqlite.owner(id).await
        }
        async fn append(
            &self,
            id: &DocumentId,
            owner: &str,
            chunk: &[u8],
            heads: &[ChangeHash],
        ) -> Result<u64, StorageError> {
            self.0.sqlite.append(id, owner, chunk, heads).await
        }
        async fn compact(&self, id: &DocumentId, snapshot: &[u8]) -> Result<(), StorageError> {
            self.0.sqlite.compact(id, snapshot).await
        }
        async fn setting_or_init(
            &self,
            key: &str,
            initial: &[u8],
        ) -> Result<Vec<u8>, StorageError> {
            self.0.sqlite.setting_or_init(key, initial).await
        }
        async fn purge(&self, id: &DocumentId, owner: &str) -> Result<u64, StorageError> {
            self.0.sqlite.purge(id, owner).await
        }
        async fn is_purged(&self, id: &DocumentId) -> Result<bool, StorageError> {
            self.0.sqlite.is_purged(id).await
        }
        async fn owners(
            &self,
            after: Option<&str>,
            limit: u32,
        ) -> Result<Vec<String>, StorageError> {
            self.0.sqlite.owners(after, limit).await
        }
        async fn close(&self) {}
        async fn bytes_stored(&self) -> Result<u64, StorageError> {
            Ok(0)
        }
        fn changes(&self) -> Option<ChangeFeed> {
            Some(ChangeFeed::new(self.0.feed.subscribe()))
        }
    }

    /// Review of issue 11: a notice that arrived while its document was loading waited at most 5 s
    /// for the load, then was dropped — a long load (a long thread, a slow database) that read
    /// storage before the change was committed kept missing it. Now the notice waits for the load
    /// however long it takes, and the document reads storage again after it.
    #[tokio::test]
    async fn a_notice_during_a_long_load_is_read_after_the_load() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStorage::open(dir.path()).await.unwrap();
        let storage = Fed(Arc::new(FedInner {
            sqlite,
            feed: broadcast::channel(64).0,
            hold_loads: AtomicBool::new(false),
            released: Notify::new(),
        }));
        let identity = Identity {
            storage_id: "test".into(),
            index_secret: b"secret".to_vec(),
        };
        let relay = Arc::new(Relay::new(
            storage.clone(),
            Auth::InsecureDev,
            Limits::default(),
            identity,
        ));
        let shutdown = CancellationToken::new();
        tokio::spawn(relay.clone().follow_other_relays(shutdown.clone()));
        let id = DocumentId::from_bytes([5; 16]);
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "first", 1).unwrap();
        storage
            .append(&id, "alice", &doc.save(), &doc.get_heads())
            .await
            .unwrap();

        // A load starts and reads storage; then it takes long.
        storage.0.hold_loads.store(true, Ordering::SeqCst);
        let reading = relay.clone();
        let read = tokio::spawn(async move {
            reading
                .with_document("alice", &id, Open::Existing, |doc| doc.length(ROOT))
                .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Another relay stores a change meanwhile, and says so — many times over.
        let before = doc.get_heads();
        doc.put(ROOT, "elsewhere", 1).unwrap();
        let chunk = doc.save_after(&before);
        storage
            .append(&id, "alice", &chunk, &doc.get_heads())
            .await
            .unwrap();
        for seq in 0..50 {
            let change = StoredChange {
                document: id,
                seq,
                heads: doc.get_heads(),
            };
            storage.0.feed.send(ChangeNotice::Stored(change)).unwrap();
        }
        // Longer than the old code waited for a load.
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(
            relay.notices.lock().unwrap().len(),
            1,
            "one entry, however many notices"
        );
        storage.0.hold_loads.store(false, Ordering::SeqCst);
        storage.0.released.notify_waiters();
        read.await.unwrap().unwrap();

        let mut merged = false;
        for _ in 0..100 {
            merged = relay
                .with_document("alice", &id, Open::Existing, |doc| {
                    doc.get(ROOT, "elsewhere").unwrap().is_some()
                })
                .await
                .unwrap();
            if merged {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(merged, "the change stored during the load reached memory");
        assert!(
            relay.notices.lock().unwrap().is_empty(),
            "nothing left pending"
        );
        shutdown.cancel();
    }
}
