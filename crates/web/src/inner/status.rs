//! The store's status as `status()` hands it out: one frozen JS object, the same one (`===`) until
//! something in it changes, so React's `useSyncExternalStore` can take `status()` as its snapshot
//! and repaint only on a change.

use std::cell::RefCell;

use chatsync_protocol::ConnectionState;
use wasm_bindgen::JsValue;

use super::StoreInner;
use crate::output::{js_object, number};

/// `StoreStatus.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Local,
    Connecting,
    Online,
    Offline,
    Unauthorized,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Connecting => "connecting",
            Self::Online => "online",
            Self::Offline => "offline",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// Everything the status object shows; a new object is made only when this changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shown {
    state: State,
    pending: usize,
    last_synced_at: Option<u64>,
}

/// The status object last handed out, and what it shows; and the one last announced.
#[derive(Default)]
pub(crate) struct StatusCache {
    last: RefCell<Option<(Shown, JsValue)>>,
    announced: RefCell<JsValue>,
}

impl StatusCache {
    fn get(&self, shown: Shown) -> JsValue {
        if let Some((last, object)) = &*self.last.borrow()
            && *last == shown
        {
            return object.clone();
        }
        let mut entries = vec![
            ("state", shown.state.as_str().into()),
            ("online", (shown.state == State::Online).into()),
            ("pendingThreads", number(shown.pending as u64)),
        ];
        if let Some(at) = shown.last_synced_at {
            entries.push(("lastSyncedAt", number(at)));
        }
        let object = js_object(&entries);
        // Frozen: an app that mutated the shared snapshot would see its change "persist".
        js_sys::Object::freeze(&object.clone().into());
        self.last.replace(Some((shown, object.clone())));
        object
    }
}

impl StoreInner {
    /// `{ state, online, pendingThreads, lastSyncedAt }`, the same object while they stay the same.
    pub fn status_js(&self) -> JsValue {
        let state = match &self.relay {
            None => State::Local,
            Some(_) => match (self.sync.read_link().state(), self.sync.is_enabled()) {
                (_, false) => State::Offline,
                (ConnectionState::Joined { .. }, true) => State::Online,
                (ConnectionState::Dialing | ConnectionState::Joining, true) => State::Connecting,
                (ConnectionState::NeedsCredentials { .. }, true) => State::Unauthorized,
                // Waiting to dial again, or closed.
                (_, true) => State::Offline,
            },
        };
        // Without a relay nothing is waiting for one.
        let pending = if self.relay.is_some() {
            self.pending_documents()
        } else {
            0
        };
        self.status.get(Shown {
            state,
            pending,
            last_synced_at: self.sync.last_synced_at(),
        })
    }

    /// Tells listeners the status changed — when it did: each status object is announced once, so
    /// a `useSyncExternalStore` subscriber hears of every new snapshot and of nothing else.
    pub fn emit_status(&self) {
        let status = self.status_js();
        let announced = self.status.announced.replace(status.clone());
        if js_sys::Object::is(&announced, &status) {
            return;
        }
        self.emit(&js_object(&[("type", "status".into()), ("status", status)]));
    }
}
