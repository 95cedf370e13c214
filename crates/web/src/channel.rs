//! The store's own channels between its tasks, all on one thread: a queue (the driver's kicks, a
//! socket's events) and a one-shot reply (a call waiting for the relay). Each is a cell and one
//! waker, which is all a single-threaded wasm needs: futures-channel's lock-free queues, and the
//! `select!` that read them, were 9 KB of the raw wasm.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// What a queue's ends share.
struct Shared<T> {
    items: VecDeque<T>,
    /// The receiver, waiting for an item.
    waker: Option<Waker>,
    senders: usize,
}

/// The sending end of a queue; clones send into the same queue.
pub(crate) struct Sender<T>(Rc<RefCell<Shared<T>>>);

/// The one receiving end of a queue.
pub(crate) struct Receiver<T>(Rc<RefCell<Shared<T>>>);

/// A queue with no bound (its items are the store's own, few at a time).
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(RefCell::new(Shared {
        items: VecDeque::new(),
        waker: None,
        senders: 1,
    }));
    (Sender(Rc::clone(&shared)), Receiver(shared))
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T> Sender<T> {
    /// Queues `item` and wakes the receiver.
    pub fn send(&self, item: T) {
        let waker = {
            let mut shared = self.0.borrow_mut();
            shared.items.push_back(item);
            shared.waker.take()
        };
        // Outside the borrow: waking may run the receiver's task at once.
        wake(waker);
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.borrow_mut().senders += 1;
        Self(Rc::clone(&self.0))
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut shared = self.0.borrow_mut();
            shared.senders -= 1;
            if shared.senders > 0 {
                return;
            }
            shared.waker.take()
        };
        wake(waker);
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once it is empty and every sender is gone.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut shared = self.0.borrow_mut();
        if let Some(item) = shared.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if shared.senders == 0 {
            return Poll::Ready(None);
        }
        shared.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A one-shot reply's slot.
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

/// Where the answer to a waiting call goes.
pub(crate) struct Reply<T>(Rc<RefCell<Slot<T>>>);

/// The waiting call's end: resolves to the answer, or `None` if the reply was dropped unanswered.
pub(crate) struct Answer<T>(Rc<RefCell<Slot<T>>>);

/// A reply and the answer it resolves.
pub(crate) fn reply<T>() -> (Reply<T>, Answer<T>) {
    let slot = Rc::new(RefCell::new(Slot {
        value: None,
        waker: None,
        sender_gone: false,
        receiver_gone: false,
    }));
    (Reply(Rc::clone(&slot)), Answer(slot))
}

impl<T> Reply<T> {
    /// Answers the call (nothing happens if it stopped waiting).
    pub fn send(self, value: T) {
        let waker = {
            let mut slot = self.0.borrow_mut();
            slot.value = Some(value);
            slot.waker.take()
        };
        wake(waker);
    }

    /// Whether the call stopped waiting (timed out, or its future was dropped).
    pub fn is_canceled(&self) -> bool {
        self.0.borrow().receiver_gone
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = self.0.borrow_mut();
            slot.sender_gone = true;
            slot.waker.take()
        };
        wake(waker);
    }
}

impl<T> Future for Answer<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.0.borrow_mut();
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Some(value));
        }
        if slot.sender_gone {
            return Poll::Ready(None);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for Answer<T> {
    fn drop(&mut self) {
        self.0.borrow_mut().receiver_gone = true;
    }
}
