//! The relay link a store's calls share with its sync driver: [`SyncState`] holds the [`Link`]
//! (the protocol's client state machine, which `driver/` runs) and what the status shows of it;
//! [`Kick`] is what the calls ask of the driver. The calls that read the link without waiting —
//! acknowledgements, the pending count, sync states to store — are `inner/relay.rs`. No protocol
//! decision is made here.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::time::Duration;

use automerge::ChangeHash;
use chatsync_protocol::{DocumentId, Link, LinkConfig};

use crate::channel::Reply;
use crate::error::Result;
use crate::util::{now_ms, random_bytes, random_hex};

/// New local changes wait this long for the reply to the message in flight, then go together.
const BATCH_HOLD: Duration = Duration::from_millis(50);

/// Heads of documents to see acknowledged.
pub(crate) type Heads = Vec<(DocumentId, Vec<ChangeHash>)>;

/// What the rest of the store tells the sync driver.
pub(crate) enum Kick {
    /// Local changes are ready to send, or documents were loaded or dropped.
    Poll,
    /// The app's switch, or the browser's `online` / `offline` event.
    Online(bool),
    /// The token was replaced: connect again with it now.
    Reconnect,
    /// Ask the relay for a document this device does not store; answered once it is held.
    Fetch(DocumentId, Reply<Result<()>>),
    /// Answer once the relay has acknowledged these heads.
    Acknowledge(Heads, Reply<Result<()>>),
    /// The store closed.
    Close,
}

/// The peer id of a store instance: one per tab, like its actor.
fn new_peer_id() -> String {
    format!("chatsync-web-{}", random_hex(8))
}

/// The sync state a store's calls share with its driver. The link is borrowed only for the length
/// of one call into it, never across an await or a JS callback.
pub(crate) struct SyncState {
    link: RefCell<Link>,
    /// The link's clock starts here (ms since the Unix epoch).
    epoch_ms: u64,
    /// Sync is switched on (by the app and the browser).
    enabled: Cell<bool>,
    last_synced_at: Cell<Option<u64>>,
    /// The pending count when the relay last spoke.
    last_pending: Cell<usize>,
}

impl SyncState {
    /// With `relays` relay URLs to dial in turn.
    pub fn new(relays: usize) -> Self {
        let link = Link::new(LinkConfig {
            // Not ephemeral: this store keeps what it syncs.
            is_ephemeral: false,
            batch_hold: Some(BATCH_HOLD),
            rng_seed: u64::from_le_bytes(random_bytes()),
            relays,
            ..LinkConfig::new(new_peer_id())
        });
        Self {
            link: RefCell::new(link),
            epoch_ms: now_ms(),
            enabled: Cell::new(browser_online()),
            last_synced_at: Cell::new(None),
            last_pending: Cell::new(0),
        }
    }

    /// The link, for one call.
    pub fn link(&self) -> RefMut<'_, Link> {
        self.link.borrow_mut()
    }

    /// The link, to read.
    pub fn read_link(&self) -> Ref<'_, Link> {
        self.link.borrow()
    }

    /// The link's clock.
    pub fn now(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.epoch_ms))
    }

    /// Whether documents sync now.
    pub fn is_joined(&self) -> bool {
        self.link.borrow().state().is_joined()
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.get()
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.set(on);
    }

    pub fn last_synced_at(&self) -> Option<u64> {
        self.last_synced_at.get()
    }

    pub fn synced_now(&self) {
        self.last_synced_at.set(Some(now_ms()));
    }

    /// Records the pending count after the relay spoke: the moment nothing is left unacknowledged
    /// is the last sync time — only when everything became acknowledged, not at every later frame,
    /// so the status changes only when something did.
    pub fn note_pending(&self, pending: usize) {
        let before = self.last_pending.replace(pending);
        if pending == 0 && (before != 0 || self.last_synced_at.get().is_none()) {
            self.synced_now();
        }
    }
}

/// Whether the browser thinks it is online (`navigator.onLine`; true where there is no window).
fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}
