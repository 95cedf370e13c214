//! `Thread`'s writes of what is about the conversation rather than in it: its summary and its
//! context entries.

use chatsync_model::input::ContextEntryInput;
use wasm_bindgen::prelude::*;

use crate::error::Result;
use crate::input;
use crate::thread::Thread;

#[wasm_bindgen]
impl Thread {
    /// Sets the brief summary shown for quick reference (in the list and the view); `null` clears it.
    #[wasm_bindgen(js_name = setSummary)]
    pub fn set_summary(&self, text: Option<String>) -> Result<()> {
        self.write(|thread, now| thread.set_summary(text, now))?;
        Ok(())
    }

    /// Stores a context entry, replacing the one of the same type and key. Higher `priority` comes
    /// first (default 0); past `expiresAt` (ms) the view no longer shows it.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContextEntryInit")] entry: JsValue,
    ) -> Result<()> {
        let ContextEntryInput { entry } = input::from_js(&entry)?;
        self.write(|thread, now| thread.upsert_context(entry, now))?;
        Ok(())
    }

    /// Removes a context entry; `not_found` when there is none of this type and key.
    #[wasm_bindgen(js_name = removeContext)]
    pub fn remove_context(
        &self,
        #[wasm_bindgen(js_name = type)] entry_type: String,
        key: String,
    ) -> Result<()> {
        self.write(|thread, now| thread.remove_context(&entry_type, &key, now))?;
        Ok(())
    }
}
