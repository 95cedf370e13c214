//! Which users' index documents just took changes from a device: so a thread purged on a device
//! (its tombstone written in the index) is erased at the relay within moments, not at the next
//! periodic sweep. The relay stays model-agnostic: it only says "this user's index changed"; the
//! retention task reads the index and decides.
//!
//! One subscriber, through a bounded channel: a notice that does not fit is dropped (the
//! subscriber is behind and will sweep that user anyway, or the periodic sweep will).

use std::sync::{Mutex, PoisonError};

use chatsync_protocol::DocumentId;
use tokio::sync::mpsc;

use super::Relay;
use crate::storage::Storage;

/// Notices queued for the subscriber before new ones are dropped.
const QUEUED: usize = 1_024;

/// The subscriber's end, if any.
#[derive(Default)]
pub(crate) struct IndexWatch {
    sender: Mutex<Option<mpsc::Sender<String>>>,
}

impl<S: Storage> Relay<S> {
    /// The users whose index document took changes from a device, as they come (several notices
    /// per user are likely: debounce them). A new call replaces the previous subscriber.
    pub fn watch_indexes(&self) -> mpsc::Receiver<String> {
        let (sender, receiver) = mpsc::channel(QUEUED);
        *self
            .index_watch
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(sender);
        receiver
    }

    /// Document `id` of `user` took changes from a device: a notice if it is their index.
    pub(crate) fn document_changed(&self, user: &str, id: &DocumentId) {
        let sender = self
            .index_watch
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(sender) = sender
            && *id == self.index_document_id(user)
        {
            let _ = sender.try_send(user.to_owned());
        }
    }
}
