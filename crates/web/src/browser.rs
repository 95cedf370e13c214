//! The browser events a store listens to: `online` / `offline` (sync starts and stops with them) and
//! `pagehide` (the last chance to write IndexedDB before a tab goes away).

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::inner::StoreInner;
use crate::sync::Kick;

/// A listener added to `window`, removed when dropped.
pub(crate) struct Listener {
    event: &'static str,
    closure: Closure<dyn FnMut()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                self.event,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

fn listen(event: &'static str, f: impl FnMut() + 'static) -> Option<Listener> {
    let window = web_sys::window()?;
    let closure = Closure::<dyn FnMut()>::new(f);
    window
        .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
        .ok()?;
    Some(Listener { event, closure })
}

/// Adds the store's listeners. They hold the store weakly: a closed store is not kept alive by them.
pub(crate) fn watch(inner: &Rc<StoreInner>) {
    let mut listeners = Vec::new();
    let weak = Rc::downgrade(inner);
    listeners.extend(listen("pagehide", move || {
        if let Some(inner) = weak.upgrade() {
            // The transaction starts now, while the page still runs; IndexedDB finishes it.
            crate::util::spawn(async move {
                let _ = inner.flush().await;
            });
        }
    }));
    if inner.relay().is_some() {
        for (event, online) in [("online", true), ("offline", false)] {
            let weak = Rc::downgrade(inner);
            listeners.extend(listen(event, move || {
                if let Some(inner) = weak.upgrade() {
                    inner.kick(Kick::Online(online));
                }
            }));
        }
    }
    inner.keep_browser_listeners(listeners);
}
