//! [`Replica`]: a document the client holds, plain or wrapped in the model, lent to the [`Link`]
//! through [`Replicas`].
//!
//! [`Link`]: chatsync_protocol::Link

use std::collections::HashMap;

use automerge::AutoCommit;
use chatsync_model::{Limits, Thread, ThreadId};
use chatsync_protocol::{DocumentId, Documents};

use crate::ClientError;

/// A held document: plain, or — once written through the model — a [`Thread`], kept wrapped so its
/// caches (message tree, stream handles) stay warm between writes.
pub(crate) enum Replica {
    Doc(Box<AutoCommit>),
    Thread(Box<Thread>),
}

impl Replica {
    /// The Automerge document, for syncing or plain changes.
    pub(crate) fn with_doc<R>(&mut self, f: impl FnOnce(&mut AutoCommit) -> R) -> R {
        match self {
            Self::Doc(doc) => f(doc),
            Self::Thread(thread) => thread.with_automerge(f),
        }
    }

    /// The document as a thread, wrapping it on first use. A document that cannot be a thread is
    /// left as it was.
    pub(crate) fn as_thread(&mut self, id: DocumentId) -> Result<&mut Thread, ClientError> {
        if let Self::Doc(doc) = self {
            let thread_id = ThreadId::new(id.to_string())?;
            match Thread::from_automerge(thread_id, std::mem::take(&mut **doc), Limits::default()) {
                Ok(thread) => *self = Self::Thread(Box::new(thread)),
                Err(failed) => {
                    **doc = failed.doc;
                    return Err(failed.error.into());
                }
            }
        }
        match self {
            Self::Thread(thread) => Ok(thread),
            Self::Doc(_) => unreachable!("wrapped just above"),
        }
    }
}

/// Every document the client holds, by id: what the link syncs.
#[derive(Default)]
pub(crate) struct Replicas(pub(crate) HashMap<DocumentId, Replica>);

impl Documents for Replicas {
    fn with_doc(&mut self, id: DocumentId, f: &mut dyn FnMut(&mut AutoCommit)) -> bool {
        match self.0.get_mut(&id) {
            Some(replica) => {
                replica.with_doc(|doc| f(doc));
                true
            }
            None => false,
        }
    }
}
