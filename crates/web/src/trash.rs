//! `ChatStore`'s trash calls: restore and purge. (`deleteThread`, which moves a thread to the trash,
//! is beside the other status changes in `store.rs`.) The trash lives in the user's index alone.

use std::rc::Rc;

use chatsync_model::ThreadId;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::{Result, StoreError};
use crate::store::{ChatStore, promise};

fn thread_id(id: &str) -> Result<ThreadId> {
    ThreadId::new(id).map_err(|_| StoreError::NotFound(id.to_owned()))
}

#[wasm_bindgen]
impl ChatStore {
    /// Takes a thread out of the trash, as it was before (archived or not). Refused with
    /// `invalid_transition` for a thread not in the trash or past its time there, `purged` for a
    /// purged one.
    #[wasm_bindgen(js_name = restoreThread, unchecked_return_type = "Promise<void>")]
    pub fn restore_thread(&self, id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let id = thread_id(&id)?;
            inner.write_index(|index, now| index.restore(&id, now))?;
            inner.flush().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Erases a thread for good, trashed or not: its records leave IndexedDB here, and every device
    /// that syncs the thread list erases its own; only a tombstone id is left, which refuses later
    /// writes (`purged`). Purging twice is harmless.
    #[wasm_bindgen(js_name = purgeThread, unchecked_return_type = "Promise<void>")]
    pub fn purge_thread(&self, id: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let id = thread_id(&id)?;
            // An id the index never heard of is a mistake, not a thread to keep out for ever.
            if !inner.read_index(|index| index.contains(&id)) {
                return Err(StoreError::NotFound(id.to_string()));
            }
            inner.write_index(|index, now| index.purge(&id, now))?;
            inner.forget_thread(&id);
            // The tombstone is stored (and the thread's pending writes dropped) before its records go.
            inner.flush().await?;
            inner.erase_stored(&id).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
