//! How a store ends: `close()`, or its JS object freed (`free()`, `[Symbol.dispose]()`, garbage
//! collection). Both flush, then release what keeps the store alive — the sync task, the other-tab
//! channel, the browser listeners, this instance's stream locks and the database connection.

use std::rc::Rc;

use super::StoreInner;
use crate::error::Result;
use crate::sync::Kick;

/// Flushes `close()` makes while writes keep landing during them (an app streaming into a store it
/// is closing). Once the store is closed, writes are refused with `closed`; a write still unflushed
/// after the last one is reported as an `error` event rather than dropped silently.
const MAX_CLOSING_FLUSHES: usize = 5;

impl StoreInner {
    /// Flushes everything and releases the store; calling it again does nothing.
    pub async fn close(self: &Rc<Self>) -> Result<()> {
        if self.closed.get() {
            return Ok(());
        }
        // A write may land while a flush awaits IndexedDB (a streamed delta, a timer): flush again
        // until nothing is left, so `closed` is set with no await between the last check and it.
        for _ in 0..MAX_CLOSING_FLUSHES {
            self.flush().await?;
            if !self.has_unflushed() {
                break;
            }
        }
        if self.has_unflushed() {
            self.emit_error(&crate::error::StoreError::Closed, None);
        }
        // A second close may have run while this one flushed.
        if self.closed.replace(true) {
            return Ok(());
        }
        self.kick(Kick::Close);
        self.browser_listeners.borrow_mut().clear();
        self.background.clear();
        self.tabs.replace(None);
        let handles: Vec<_> = self.threads.borrow_mut().drain().map(|(_, h)| h).collect();
        for handle in handles {
            handle.end_streams();
        }
        self.db.close();
        Ok(())
    }

    /// The store's JS object was freed. What it wrote is flushed and the store closes — at once, or,
    /// while `Thread` objects of it are still open, once the last of them closes: a thread kept by an
    /// app that dropped its store keeps working rather than fail at a moment the garbage collector
    /// picks.
    pub fn abandon(self: &Rc<Self>) {
        self.abandoned.set(true);
        self.close_if_abandoned();
    }

    /// A `Thread` object of this store closed (or was freed).
    pub fn thread_closed(self: &Rc<Self>) {
        if self.closed.get() {
            return;
        }
        self.schedule_flush();
        self.close_if_abandoned();
    }

    fn close_if_abandoned(self: &Rc<Self>) {
        if !self.abandoned.get() || self.closed.get() {
            return;
        }
        let open = self
            .threads
            .borrow()
            .values()
            .any(|handle| handle.open_objects.get() > 0);
        if open {
            return;
        }
        let store = Rc::clone(self);
        crate::util::spawn(async move {
            // Nobody holds the store to hear of a failure but its listeners.
            if let Err(e) = store.close().await {
                store.emit_error(&e, None);
            }
        });
    }
}
