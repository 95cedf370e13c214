//! Another tab stored changes of a document this one holds: they are read from IndexedDB and merged.

use std::rc::Rc;

use super::{IndexDoc, StoreInner};
use crate::error::{Result, StoreError};

impl StoreInner {
    /// Merges what another tab stored of `doc` into the copy held here, if one is held.
    pub async fn refresh_from_storage(self: &Rc<Self>, doc: &str) -> Result<()> {
        if self.closed.get() {
            return Ok(());
        }
        let (is_index, is_local) = {
            let index = self.index.borrow();
            (
                index.id.to_string() == doc,
                index.local_id.to_string() == doc,
            )
        };
        let is_index = is_index || is_local;
        let handle = self
            .threads
            .borrow()
            .iter()
            .find(|(id, _)| id.as_str() == doc)
            .map(|(_, h)| Rc::clone(h));
        if !is_index && handle.is_none() {
            return Ok(());
        }
        let stored = self.db.read_doc(doc).await?;
        if is_index {
            let changed = {
                let mut guard = self.index.borrow_mut();
                let IndexDoc {
                    index,
                    persisted,
                    dirty,
                    local_persisted,
                    ..
                } = &mut *guard;
                let dirty = *dirty;
                let (index, persisted) = match index.local_mut() {
                    Some(local) if is_local => (local, local_persisted),
                    _ => (index, persisted),
                };
                let fresh = persisted.unseen(stored.bytes());
                let before = index.heads();
                for bytes in &fresh {
                    index
                        .with_automerge(|d| d.load_incremental(bytes))
                        .map_err(|e| StoreError::Corrupt {
                            id: doc.to_owned(),
                            reason: e.to_string(),
                        })?;
                }
                if !dirty {
                    // What was just loaded is stored already: it is no chunk of ours to write again.
                    index.save_incremental();
                }
                persisted.seen(stored.bytes(), &self.writer.borrow());
                index.heads() != before
            };
            if changed {
                self.emit_threads("remote");
                self.check_preferences("remote");
                self.erase_purged_later();
            }
        } else if let Some(handle) = handle {
            let fresh = handle.persisted.borrow().unseen(stored.bytes());
            if fresh.is_empty() {
                handle
                    .persisted
                    .borrow_mut()
                    .seen(stored.bytes(), &self.writer.borrow());
                return Ok(());
            }
            let dirty = handle.dirty.get();
            let changed = handle.with_thread(|thread| -> Result<bool> {
                let before = thread.heads();
                for bytes in &fresh {
                    thread.load_incremental(bytes)?;
                }
                if !dirty {
                    thread.save_incremental();
                }
                Ok(thread.heads() != before)
            })??;
            handle
                .persisted
                .borrow_mut()
                .seen(stored.bytes(), &self.writer.borrow());
            if changed {
                handle.changed();
                handle.dirty.set(dirty);
                self.schedule_repaint(&handle);
                // Other tabs' changes reach the relay through this tab's session too.
                self.kick(crate::sync::Kick::Poll);
            }
        }
        Ok(())
    }
}
