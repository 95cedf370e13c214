//! The queue of frames waiting to be written to one connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Frame;

/// Frames queued for one connection. Bounded in frames and in bytes: a client that reads slower than
/// its documents change is disconnected (it resyncs when it reconnects) rather than letting its queue
/// eat the relay's memory — a few cold loads of long threads are hundreds of MB in a handful of frames.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    frames: mpsc::Sender<Frame>,
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    overflow: CancellationToken,
}

/// The receiving end of an [`Outbox`], drained by the connection.
#[derive(Debug)]
pub(crate) struct Queue {
    frames: mpsc::Receiver<Frame>,
    queued_bytes: Arc<AtomicUsize>,
}

impl Outbox {
    /// An outbox holding at most `max_frames` frames and `max_bytes` bytes, and the queue the
    /// connection drains.
    pub(crate) fn new(max_frames: usize, max_bytes: usize) -> (Self, Queue) {
        let (frames, receiver) = mpsc::channel(max_frames.max(1));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let outbox = Self {
            frames,
            queued_bytes: queued_bytes.clone(),
            max_bytes,
            overflow: CancellationToken::new(),
        };
        let queue = Queue {
            frames: receiver,
            queued_bytes,
        };
        (outbox, queue)
    }

    /// Queues a frame without waiting. A full queue marks the connection as overflowed.
    pub(crate) fn send(&self, frame: Frame) {
        let size = frame.size();
        let before = self.queued_bytes.fetch_add(size, Ordering::Relaxed);
        // One frame larger than the whole budget still goes to an otherwise empty queue: a cold load
        // may be that large, and refusing it would leave the client unable to ever open the thread.
        if before > 0 && before + size > self.max_bytes {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            self.overflow.cancel();
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_) | mpsc::error::TrySendError::Closed(_)) =
            self.frames.try_send(frame)
        {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            self.overflow.cancel();
        }
    }

    /// Resolves once a frame could not be queued.
    pub(crate) async fn overflowed(&self) {
        self.overflow.cancelled().await;
    }
}

impl Queue {
    /// The next queued frame.
    pub(crate) async fn recv(&mut self) -> Option<Frame> {
        let frame = self.frames.recv().await?;
        self.queued_bytes.fetch_sub(frame.size(), Ordering::Relaxed);
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_outbox_reports_overflow_instead_of_growing() {
        let (outbox, mut queue) = Outbox::new(2, usize::MAX);
        outbox.send(Frame::Binary(vec![1]));
        outbox.send(Frame::Binary(vec![2]));
        assert!(!outbox.overflow.is_cancelled());
        outbox.send(Frame::Binary(vec![3]));
        outbox.overflowed().await;
        assert_eq!(queue.recv().await, Some(Frame::Binary(vec![1])));
        assert_eq!(queue.recv().await, Some(Frame::Binary(vec![2])));
    }

    #[tokio::test]
    async fn an_outbox_over_its_byte_budget_overflows_though_few_frames_are_queued() {
        let (outbox, mut queue) = Outbox::new(100, 1_000);
        // A single frame over the budget still goes out on an empty queue.
        outbox.send(Frame::Binary(vec![0; 1_500]));
        assert!(!outbox.overflow.is_cancelled());
        assert_eq!(queue.recv().await.map(|f| f.size()), Some(1_500));
        outbox.send(Frame::Binary(vec![0; 600]));
        assert!(!outbox.overflow.is_cancelled());
        outbox.send(Frame::Binary(vec![0; 600]));
        assert!(outbox.overflow.is_cancelled());
        assert_eq!(queue.recv().await.map(|f| f.size()), Some(600));
        // Draining frees the budget.
        assert_eq!(outbox.queued_bytes.load(Ordering::Relaxed), 0);
    }
}
