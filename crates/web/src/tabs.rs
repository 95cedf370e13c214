//! Several tabs on one store: after each flush a tab names the documents it wrote on a
//! `BroadcastChannel`; the others read those documents' new chunks (or new snapshot) from IndexedDB and
//! merge them into what they hold. Chunk keys are unique per store instance and compaction deletes only
//! the chunks it merged, so no tab ever overwrites another's writes.

use std::rc::Weak;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

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
            crate::util::spawn(async move {
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
