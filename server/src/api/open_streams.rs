//! How many `/api/stream` requests each user has open. A stream may last as long as its body keeps
//! coming, so the request rate alone does not bound them: without a cap one token could hold
//! enough of them to fill the relay's TCP connection cap and lock every other user out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Open streams per user, against a cap.
#[derive(Default)]
pub(crate) struct OpenStreams {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; it closes when dropped.
pub(crate) struct OpenStream {
    streams: Arc<OpenStreams>,
    user: String,
}

impl OpenStreams {
    /// Opens one more stream for `user`, unless they already have `max` open.
    pub(crate) fn open(self: &Arc<Self>, user: &str, max: usize) -> Option<OpenStream> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user.to_owned()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(OpenStream {
            streams: Arc::clone(self),
            user: user.to_owned(),
        })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_max_streams_and_a_closed_one_frees_its_place() {
        let streams = Arc::new(OpenStreams::default());
        let first = streams.open("alice", 2).unwrap();
        let _second = streams.open("alice", 2).unwrap();
        assert!(streams.open("alice", 2).is_none());
        assert!(
            streams.open("bob", 2).is_some(),
            "another user is not affected"
        );
        drop(first);
        assert!(streams.open("alice", 2).is_some());
    }
}
