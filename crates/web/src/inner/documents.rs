//! [`StoreDocs`]: the documents a store holds in memory — its index and its loaded threads — lent
//! to the [`Link`](chatsync_protocol::Link) one call at a time.

use std::rc::Rc;

use automerge::AutoCommit;
use chatsync_model::ThreadId;
use chatsync_protocol::{DocumentId, Documents};

use super::StoreInner;
use crate::handle::ThreadHandle;
use crate::persist::{DocWrite, Persisted, SavedSync};
use crate::sync::{Heads, Kick};

/// A store's documents as the link borrows them. A thread painted from storage whose document has
/// not loaded is not lent (the driver holds only loaded documents): loading it here would make a
/// thread switch wait (`background.rs` loads it). Nor is a local-only thread: the relay never
/// receives one.
pub(crate) struct StoreDocs<'a>(pub &'a StoreInner);

impl Documents for StoreDocs<'_> {
    fn with_doc(&mut self, id: DocumentId, f: &mut dyn FnMut(&mut AutoCommit)) -> bool {
        self.0.with_loaded_doc(id, |doc| f(doc)).is_some()
    }
}

impl StoreInner {
    /// Runs `f` on a document in memory and loaded: the index or a loaded thread. Never loads one.
    fn with_loaded_doc<R>(
        &self,
        id: DocumentId,
        f: impl FnOnce(&mut AutoCommit) -> R,
    ) -> Option<R> {
        if self.index.borrow().id == id {
            return Some(self.index.borrow_mut().index.with_automerge(f));
        }
        let handle = self.thread_of(id)?;
        if handle.is_local_only() {
            return None;
        }
        handle.with_loaded(|thread| thread.with_automerge(f))
    }

    /// The handle of a thread in memory, by document id; none for a purged thread, which the link
    /// must neither read nor change (no device brings one back).
    fn thread_of(&self, id: DocumentId) -> Option<Rc<ThreadHandle>> {
        let thread_id = ThreadId::new(id.to_string()).ok()?;
        if self.index_says_deleted(&thread_id) {
            return None;
        }
        self.threads.borrow().get(&thread_id).cloned()
    }

    /// The documents the link should hold: the index and every loaded thread but the local-only
    /// ones, which never leave the device, and purged ones.
    pub fn loaded_documents(&self) -> Vec<DocumentId> {
        let mut ids = vec![self.index.borrow().id];
        ids.extend(
            self.threads
                .borrow()
                .values()
                .filter(|handle| handle.is_loaded() && !handle.is_local_only())
                .filter(|handle| !self.index_says_deleted(&handle.id))
                .filter_map(|handle| handle.id.as_str().parse::<DocumentId>().ok()),
        );
        ids
    }

    /// The index's and the synced threads' heads; with `load` false, only of threads already loaded.
    pub(super) fn all_heads(&self, load: bool) -> Heads {
        let mut heads = Vec::new();
        let index_id = self.index.borrow().id;
        heads.push((index_id, self.index.borrow_mut().index.heads()));
        let handles: Vec<Rc<ThreadHandle>> = self.threads.borrow().values().cloned().collect();
        for handle in handles {
            if !load && !handle.is_loaded() {
                continue;
            }
            // A local-only thread is never sent: nothing of it waits for the relay.
            if let (Ok(id), Ok(h)) = (
                handle.id.as_str().parse::<DocumentId>(),
                handle.with_thread(|t| t.heads()),
            ) && !handle.is_local_only()
            {
                heads.push((id, h));
            }
        }
        heads
    }

    /// Threads painted from storage, not loaded, that carry an unsynced mark.
    pub(super) fn unloaded_unsynced(&self) -> usize {
        let unsynced = self.unsynced.borrow();
        self.threads
            .borrow()
            .values()
            .filter(|handle| !handle.is_loaded() && unsynced.is_marked(handle.id.as_str()))
            .count()
    }

    /// The writes `f` makes from each document's storage bookkeeping (the index's, then the
    /// threads').
    pub(super) fn each_persisted(
        &self,
        mut f: impl FnMut(DocumentId, &str, &mut Persisted) -> Option<DocWrite>,
    ) -> Vec<DocWrite> {
        let mut writes = Vec::new();
        {
            let mut index = self.index.borrow_mut();
            let id = index.id;
            writes.extend(f(id, &id.to_string(), &mut index.persisted));
        }
        for handle in self.threads.borrow().values() {
            if let Ok(id) = handle.id.as_str().parse::<DocumentId>() {
                writes.extend(f(
                    id,
                    handle.id.as_str(),
                    &mut handle.persisted.borrow_mut(),
                ));
            }
        }
        writes
    }

    /// The sync state storage holds for a document in memory.
    pub(super) fn saved_sync_of(&self, id: DocumentId) -> Option<SavedSync> {
        if self.index.borrow().id == id {
            return self.index.borrow().persisted.saved_sync().cloned();
        }
        self.thread_of(id)?.persisted.borrow().saved_sync().cloned()
    }

    /// A document received changes from the relay: the list or the thread repaints, and is stored.
    pub fn remote_change(self: &Rc<Self>, id: DocumentId) {
        if self.index.borrow().id == id {
            self.index.borrow_mut().dirty = true;
            self.emit_threads("remote");
            self.check_preferences("remote");
            // Threads purged on another device leave this one too.
            self.erase_purged_later();
            self.schedule_flush();
        } else if let Some(handle) = self.thread_of(id) {
            handle.changed();
            self.schedule_repaint(&handle);
            self.schedule_flush();
        }
    }

    /// Opens the threads with changes the relay has never acknowledged (written before a reload,
    /// say), so this connection sends them.
    pub fn open_unsynced(self: &Rc<Self>) {
        let ids: Vec<String> = self.unsynced.borrow().marked().to_vec();
        let store = Rc::clone(self);
        crate::util::spawn(async move {
            for id in ids {
                if let Err(e) = crate::store::open_handle(&store, &id).await {
                    store.emit_error(&e, None);
                }
            }
            store.kick(Kick::Poll);
        });
    }

    /// Takes the unsynced marks off the threads whose current heads the relay has acknowledged.
    pub fn clear_acknowledged(&self) {
        let marked: Vec<String> = self.unsynced.borrow().marked().to_vec();
        for id in marked {
            let Ok(document) = id.parse::<DocumentId>() else {
                continue;
            };
            let Some(heads) = self.with_loaded_doc(document, |doc| doc.get_heads()) else {
                continue;
            };
            if self.acknowledged(document, &heads) {
                self.unsynced.borrow_mut().acknowledged(&id);
            }
        }
    }
}
