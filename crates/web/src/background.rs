//! Loading the documents of threads painted from their stored views, in the background.
//!
//! A thread switch paints from the stored view before its Automerge document is loaded; the load (about
//! 230 ms for 1,000 messages, one main-thread task) follows once the person has stopped switching. A
//! load started right after a paint would make the *next* switch wait behind it — two switches in a row
//! took 421 ms instead of 4 ms. A write or a remote change loads a document at once whenever it needs it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::handle::ThreadHandle;

/// How long after the last thread switch the documents painted from storage start to load.
pub(crate) const QUIET_MS: u32 = 300;

/// Whether a queued document still needs loading when its turn comes.
pub(crate) type Wanted = Rc<dyn Fn(&ThreadHandle) -> bool>;

/// The threads painted from storage whose documents are still to load, most recent last.
#[derive(Default)]
pub(crate) struct Loads {
    pending: RefCell<Vec<Weak<ThreadHandle>>>,
    /// Which arming of the timer counts: a timer armed before the latest finds it moved on and does
    /// nothing (a cancelled timer).
    armed: Cell<u32>,
}

impl Loads {
    /// Queues `handle`'s document to load once no switch has come for [`QUIET_MS`]; each switch
    /// pushes the loads back. `loaded` runs after each load, or for a document already loaded by
    /// then (the sync task then syncs it).
    /// `wanted` says whether a document still needs loading when its turn comes.
    pub fn queue(self: &Rc<Self>, handle: &Rc<ThreadHandle>, wanted: Wanted, loaded: Rc<dyn Fn()>) {
        self.pending.borrow_mut().push(Rc::downgrade(handle));
        self.arm(QUIET_MS, wanted, loaded);
    }

    fn arm(self: &Rc<Self>, delay: u32, wanted: Wanted, loaded: Rc<dyn Fn()>) {
        let loads = Rc::downgrade(self);
        // Arming again cancels the timer armed before.
        let arming = self.cancel();
        crate::util::after(delay, move || {
            if let Some(loads) = loads.upgrade().filter(|l| l.armed.get() == arming) {
                loads.load_next(wanted, loaded);
            }
        });
    }

    /// Loads the most recently opened pending document, then arms the next one for the following task
    /// so a switch in between is served first.
    fn load_next(self: &Rc<Self>, wanted: Wanted, loaded: Rc<dyn Fn()>) {
        let next = loop {
            let Some(weak) = self.pending.borrow_mut().pop() else {
                return;
            };
            // One a read loaded meanwhile (a worker's `thread.summary()` at open) is taken too:
            // loading by a read tells the sync task nothing, and `loaded` is what makes it sync
            // the document (without it, a thread reopened in a worker never got remote changes).
            if let Some(handle) = weak.upgrade().filter(|h| wanted(h)) {
                break handle;
            }
        };
        // A document that cannot be read reports it on the write or read that needs it.
        let _ = next.with_thread(|_| ());
        loaded();
        if !self.pending.borrow().is_empty() {
            self.arm(0, wanted, loaded);
        }
    }

    /// Forgets every pending load (the store closed).
    pub fn clear(&self) {
        self.pending.borrow_mut().clear();
        self.cancel();
    }

    /// Cancels the armed timer; returns the arming a new timer is.
    fn cancel(&self) -> u32 {
        let arming = self.armed.get().wrapping_add(1);
        self.armed.set(arming);
        arming
    }
}
