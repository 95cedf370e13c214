//! Several tabs on one store: after each flush a tab names the documents it wrote on a
//! `BroadcastChannel`; the others read those documents' new chunks (or new snapshot) from IndexedDB and
//! merge them into what they hold. Chunk keys are unique per store instance and compaction deletes only
//! the chunks it merged, so no tab ever overwrites another's writes.

use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use crate::error::{Result, StoreError};
use crate::inner::StoreInner;

/// The channel of one store database, and its listener.
pub(crate) struct Tabs {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Tabs {
    /// Joins the channel of database `name`. `None` where there is no BroadcastChannel.
    pub fn join(name: &str, inner: Weak<StoreInner>) -> Option<Self> {
        let channel = BroadcastChannel::new(&format!("chatsync:{name}")).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(inner) = inner.upgrade() else { return };
            let docs: Vec<String> = js_sys::Array::from(&event.data())
                .iter()
                .filter_map(|d| d.as_string())
                .collect();
            wasm_bindgen_futures::spawn_local(async move {
                for doc in docs {
                    if let Err(e) = inner.refresh_from_storage(&doc).await {
                        inner.emit_error(&e, None);
                    }
                }
            });
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Self {
            channel,
            _on_message: on_message,
        })
    }

    /// Tells the other tabs these documents have new bytes in storage.
    pub fn announce(&self, docs: &[String]) {
        if docs.is_empty() {
            return;
        }
        let list: js_sys::Array = docs.iter().map(|d| JsValue::from(d.as_str())).collect();
        let _ = self.channel.post_message(&list);
    }
}

impl Drop for Tabs {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

impl StoreInner {
    /// Merges what another tab stored of `doc` into the copy held here, if one is held.
    pub async fn refresh_from_storage(self: &Rc<Self>, doc: &str) -> Result<()> {
        if self.closed.get() {
            return Ok(());
        }
        let is_index = self.index.borrow().id.to_string() == doc;
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
                let mut index = self.index.borrow_mut();
                let fresh = index.persisted.unseen(&stored);
                let before = index.index.heads();
                let dirty = index.dirty;
                for bytes in &fresh {
                    index
                        .index
                        .with_automerge(|d| d.load_incremental(bytes))
                        .map_err(|e| StoreError::Corrupt {
                            id: doc.to_owned(),
                            reason: e.to_string(),
                        })?;
                }
                if !dirty {
                    // What was just loaded is stored already: it is no chunk of ours to write again.
                    index.index.save_incremental();
                }
                index.persisted.seen(&stored, &self.writer);
                index.index.heads() != before
            };
            if changed {
                self.emit_threads("remote");
            }
        } else if let Some(handle) = handle {
            let fresh = handle.persisted.borrow().unseen(&stored);
            if fresh.is_empty() {
                handle.persisted.borrow_mut().seen(&stored, &self.writer);
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
            handle.persisted.borrow_mut().seen(&stored, &self.writer);
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
