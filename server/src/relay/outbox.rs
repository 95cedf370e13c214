//! The queue of frames waiting to be written to one connection.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Frame;

/// Frames queued for one connection. Bounded: a client that reads slower than its documents change is
/// disconnected (it resyncs when it reconnects) rather than letting its queue eat the relay's memory.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    frames: mpsc::Sender<Frame>,
    overflow: CancellationToken,
}

impl Outbox {
    /// An outbox holding at most `capacity` frames, and the receiving end the connection drains.
    pub(crate) fn new(capacity: usize) -> (Self, mpsc::Receiver<Frame>) {
        let (frames, receiver) = mpsc::channel(capacity);
        let outbox = Self {
            frames,
            overflow: CancellationToken::new(),
        };
        (outbox, receiver)
    }

    /// Queues a frame without waiting. A full queue marks the connection as overflowed.
    pub(crate) fn send(&self, frame: Frame) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.frames.try_send(frame) {
            self.overflow.cancel();
        }
    }

    /// Resolves once a frame could not be queued.
    pub(crate) async fn overflowed(&self) {
        self.overflow.cancelled().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_outbox_reports_overflow_instead_of_growing() {
        let (outbox, mut receiver) = Outbox::new(2);
        outbox.send(Frame::Binary(vec![1]));
        outbox.send(Frame::Binary(vec![2]));
        assert!(!outbox.overflow.is_cancelled());
        outbox.send(Frame::Binary(vec![3]));
        outbox.overflowed().await;
        assert_eq!(receiver.recv().await, Some(Frame::Binary(vec![1])));
        assert_eq!(receiver.recv().await, Some(Frame::Binary(vec![2])));
    }
}
