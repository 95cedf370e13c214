//! Purged threads leave this device: out of memory, out of the unsynced marks, and every IndexedDB
//! record of theirs deleted — the snapshot, the chunks, the view and the sync state.
//!
//! The index's tombstone is the one source: a thread purged here, on another device or tab, or by
//! the user's retention (expired trash among it) is erased wherever a store sees the tombstone.

use std::rc::Rc;

use chatsync_model::{ThreadId, ThreadStatus};

use super::StoreInner;
use crate::error::Result;

impl StoreInner {
    /// Drops a purged thread from memory: no flush writes it again and the link lets it go. A
    /// `Thread` object still open refuses writes (the index says purged) and its view repaints as
    /// `deleted` (set in memory only, never stored or sent).
    pub fn forget_thread(self: &Rc<Self>, id: &ThreadId) {
        let handle = self.threads.borrow_mut().remove(id);
        if let Some(handle) = handle {
            if handle.is_loaded() {
                let _ = handle.write(|thread, now| thread.set_status(ThreadStatus::Deleted, now));
                self.schedule_repaint(&handle);
            }
            handle.dirty.set(false);
            handle.end_streams();
        }
        self.unsynced.borrow_mut().acknowledged(id.as_str());
    }

    /// Deletes every record of a thread from IndexedDB. Call after a flush following
    /// [`Self::forget_thread`]: IndexedDB runs transactions in order, so no earlier flush writes
    /// the thread back after this.
    pub async fn erase_stored(&self, id: &ThreadId) -> Result<()> {
        self.db.delete_doc(id.as_str()).await
    }

    /// Purges the threads the user's retention says to (expired trash first among them): on open,
    /// before anything is listed. Returns whether any was purged.
    pub fn apply_retention(self: &Rc<Self>) -> Result<bool> {
        let ids = self.read_index(|index| {
            let policy = index.preferences().retention();
            index.threads_to_purge(&policy, crate::util::now_ms())
        });
        if ids.is_empty() {
            return Ok(false);
        }
        self.write_index(|index, now| ids.iter().try_for_each(|id| index.purge(id, now)))?;
        Ok(true)
    }

    /// Erases what this device still holds of threads the index says are purged: after open and
    /// after merging another device's or tab's index. Also clears what concurrent writes left
    /// beside tombstones (a summary upserted where the purge had not arrived yet).
    pub async fn erase_purged(self: &Rc<Self>) -> Result<()> {
        let swept = self
            .index
            .borrow_mut()
            .index
            .sweep_purged(crate::util::now_ms());
        // A read-only (newer-schema) index cannot be swept; its tombstones still count.
        if swept.unwrap_or(false) {
            self.index.borrow_mut().dirty = true;
        }
        let mut purged = Vec::new();
        for doc in self.db.ids_with_records().await? {
            if let Ok(id) = ThreadId::new(doc)
                && self.index_says_deleted(&id)
            {
                self.forget_thread(&id);
                purged.push(id);
            }
        }
        if purged.is_empty() && !self.index.borrow().dirty {
            return Ok(());
        }
        self.flush().await?;
        for id in &purged {
            self.erase_stored(id).await?;
        }
        Ok(())
    }

    /// [`Self::erase_purged`] in the background, its failure an `error` event.
    pub fn erase_purged_later(self: &Rc<Self>) {
        let store = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            if store.closed.get() {
                return;
            }
            if let Err(e) = store.erase_purged().await {
                store.emit_error(&e, None);
            }
        });
    }
}
