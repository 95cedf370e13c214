//! Which documents just had changes stored, from a device's sync or the relay's own writes (the
//! HTTP API): so the search index follows each thread as it changes. Model-agnostic like the rest
//! of the relay: it only says "this document of this user has new stored changes"; the subscriber
//! (the search indexer) reads the document and decides.
//!
//! One subscriber, through a bounded channel: a notice that does not fit is dropped and counted
//! (the subscriber is behind; the document is indexed again at its next change).

use std::sync::{Mutex, PoisonError};

use chatsync_protocol::DocumentId;
use tokio::sync::mpsc;

use super::Relay;
use crate::storage::Storage;

/// Notices queued for the subscriber before new ones are dropped.
const QUEUED: usize = 4_096;

/// The subscriber's end, if any.
#[derive(Default)]
pub(crate) struct ChangeWatch {
    sender: Mutex<Option<mpsc::Sender<(String, DocumentId)>>>,
}

impl<S: Storage> Relay<S> {
    /// The (user, document) pairs whose documents had changes stored, as they come (several notices
    /// per document are likely: debounce them). A new call replaces the previous subscriber.
    pub fn watch_changes(&self) -> mpsc::Receiver<(String, DocumentId)> {
        let (sender, receiver) = mpsc::channel(QUEUED);
        *self
            .change_watch
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(sender);
        receiver
    }

    /// Document `id` of `user` had changes stored.
    pub(crate) fn changes_stored(&self, user: &str, id: &DocumentId) {
        let sender = self
            .change_watch
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(sender) = sender
            && sender.try_send((user.to_owned(), *id)).is_err()
        {
            self.metrics.refused("change_notice_dropped");
        }
    }
}
