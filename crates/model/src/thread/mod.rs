//! [`Thread`]: one conversation as an Automerge document, and every operation on it.
//!
//! Writes open (or extend) a pending Automerge transaction and do not commit it: the caller decides when a
//! batch of operations — typically the token deltas of up to 100 ms of streaming — becomes one change, with
//! [`Thread::commit`]. Every write validates its input and the document's state first, so a refused write
//! leaves the document exactly as it was.

mod approvals;
mod artifacts;
mod branches;
mod context;
mod messages;
mod meta;
mod part_writes;
mod parts;
mod read;
mod read_parts;
mod session;
mod tool_calls;
mod totals;

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT};

use crate::schema::{self, THREAD_SCHEMA_VERSION, key};
use crate::{Limits, MessageId, ModelError, ThreadId, ThreadSettings, access};

pub use approvals::{ApprovalDecision, ApprovalRequest};
pub use artifacts::ArtifactUpsert;
pub use context::ContextEntry;
pub use messages::{Feedback, FinishDetails, MessageEnd, NewMessage, Regenerate, Usage};
pub use parts::{FilePart, MAX_PARTS, NewPart};
pub use session::SessionState;
pub use tool_calls::ToolCallOptions;
pub use tool_calls::{ToolCallOutcome, ToolCallStart};

/// [`Thread::from_automerge`] failed: why, and the document, untouched.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct FromAutomergeError {
    /// Why.
    pub error: ModelError,
    /// The document that was given.
    pub doc: AutoCommit,
}

/// How a new thread starts.
#[derive(Clone, Debug)]
pub struct ThreadInit {
    /// The thread's id (its document id).
    pub id: ThreadId,
    /// This device's Automerge actor.
    pub actor: ActorId,
    /// Creation time, ms since the Unix epoch.
    pub now_ms: u64,
    /// A title set by a person; without one the title is derived from the first user message.
    pub title: Option<String>,
    /// Model settings.
    pub settings: ThreadSettings,
    /// The project the thread belongs to.
    pub project_id: Option<String>,
    /// Whether the thread stays on this device, never synced (see
    /// [`Preferences::new_thread_local_only`](crate::Preferences::new_thread_local_only)). Fixed at
    /// creation, so a later change of preference does not upload it.
    pub local_only: bool,
}

impl ThreadInit {
    /// A thread with default settings and no title.
    pub fn new(id: ThreadId, actor: ActorId, now_ms: u64) -> Self {
        Self {
            id,
            actor,
            now_ms,
            title: None,
            settings: ThreadSettings::default(),
            project_id: None,
            local_only: false,
        }
    }
}

/// One conversation. See the [module docs](self).
#[derive(Debug)]
pub struct Thread {
    id: ThreadId,
    doc: AutoCommit,
    limits: Limits,
    /// The schema version found, when it is newer than this build's: every write is refused.
    newer_schema: Option<u64>,
    /// The latest time any write was made at; the commit time of the pending change.
    last_now_ms: u64,
    /// Messages streamed into since the last commit, with the time of their latest delta. Their
    /// `updatedAt` (and the thread's) is written once per commit rather than once per token delta.
    /// A list: a few streams at a time, and no map type of its own in the browser package.
    touched: Vec<(MessageId, u64)>,
    /// Messages written or streamed into by this replica: a delta costs O(delta) and no lookups.
    streams: HashMap<MessageId, StreamHandle>,
    /// The message tree's nodes in order, read on first use (see `Thread::nodes`).
    nodes: OnceCell<Vec<branches::Node>>,
    /// The nodes read before the last remote change: the next read takes those still in place
    /// instead of reading their messages again.
    known_nodes: RefCell<Vec<branches::Node>>,
    /// Token totals and activity, counted on first use (see `Thread::totals`).
    totals: OnceCell<totals::Totals>,
    /// The heads that storage already holds (from the last save, or the bytes loaded):
    /// [`Thread::save_incremental`] returns the changes after them. Automerge's own cursor starts
    /// empty after a load, which would make the first chunk repeat the whole loaded document.
    saved_heads: Vec<ChangeHash>,
}

#[derive(Clone, Debug)]
struct StreamHandle {
    message: ObjId,
    /// The content `Text` of a message stored without parts (schema 2); `None` when a foreign writer
    /// stored a plain string, or the message has parts.
    text: Option<ObjId>,
    /// The message's parts, when it has them.
    parts: part_writes::PartsState,
    /// The bytes of text of its content (and reasoning), for the size limit.
    bytes: usize,
    status: crate::MessageStatus,
}

impl Thread {
    /// Creates a new, empty thread.
    pub fn create(init: ThreadInit, limits: Limits) -> Result<Self, ModelError> {
        let mut doc = AutoCommit::new().with_actor(init.actor.clone());
        schema::create_missing_containers(&mut doc)?;
        let mut thread = Self::wrap(init.id.clone(), doc, limits);
        thread.write_genesis_meta(&init)?;
        thread.commit();
        Ok(thread)
    }

    /// Opens a saved document, migrating an older schema. A document from a newer schema opens
    /// read-only (see [`Thread::read_only`]) and is left byte-for-byte as it was.
    pub fn load(
        id: ThreadId,
        bytes: &[u8],
        actor: ActorId,
        limits: Limits,
    ) -> Result<Self, ModelError> {
        Self::from_automerge(id, AutoCommit::load(bytes)?.with_actor(actor), limits)
            .map_err(|e| e.error)
    }

    /// Wraps a document already in memory (one a sync client holds), migrating an older schema like
    /// [`Thread::load`]. The document keeps its actor. If migration fails the document comes back in
    /// the error, unchanged, so nothing held in memory is lost.
    pub fn from_automerge(
        id: ThreadId,
        doc: AutoCommit,
        limits: Limits,
    ) -> Result<Self, Box<FromAutomergeError>> {
        let mut thread = Self::wrap(id, doc, limits);
        thread.saved_heads = thread.doc.get_heads();
        match thread.migrate_if_needed() {
            Ok(()) => Ok(thread),
            Err(error) => Err(Box::new(FromAutomergeError {
                error,
                doc: thread.doc,
            })),
        }
    }

    /// The document back, with pending operations committed.
    pub fn into_automerge(mut self) -> AutoCommit {
        self.commit();
        self.doc
    }

    fn wrap(id: ThreadId, doc: AutoCommit, limits: Limits) -> Self {
        let mut thread = Self {
            id,
            doc,
            limits,
            newer_schema: None,
            last_now_ms: 0,
            touched: Vec::new(),
            streams: HashMap::new(),
            nodes: OnceCell::new(),
            known_nodes: RefCell::default(),
            totals: OnceCell::new(),
            saved_heads: Vec::new(),
        };
        thread.refresh();
        thread
    }

    fn migrate_if_needed(&mut self) -> Result<(), ModelError> {
        if self.newer_schema.is_none() && schema::needs_migration(&self.doc) {
            let actor = self.doc.get_actor().clone();
            schema::migrate(&mut self.doc, &actor)?;
        }
        Ok(())
    }

    /// Re-reads what remote changes may have altered: the schema version and cached handles.
    fn refresh(&mut self) {
        let version = schema::version_of(&self.doc);
        self.newer_schema = (version > THREAD_SCHEMA_VERSION).then_some(version);
        self.streams.clear();
        if let Some(nodes) = self.nodes.take() {
            *self.known_nodes.get_mut() = nodes;
        }
        self.recount();
    }

    /// The thread's id.
    pub fn id(&self) -> &ThreadId {
        &self.id
    }

    /// The configured limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The document's schema version.
    pub fn schema_version(&self) -> u64 {
        schema::version_of(&self.doc)
    }

    /// Whether the document comes from a newer schema: it can be read and can receive remote changes, but
    /// every local write is refused with [`ModelError::ReadOnlySchema`].
    pub fn read_only(&self) -> bool {
        self.newer_schema.is_some()
    }

    /// Turns the operations since the last commit into one Automerge change, timed at the latest write.
    /// Returns its hash, or `None` when nothing was pending.
    pub fn commit(&mut self) -> Option<ChangeHash> {
        self.flush_touched();
        if self.doc.pending_ops() == 0 {
            return None;
        }
        let hash = self
            .doc
            .commit_with(CommitOptions::default().with_time(access::commit_time(self.last_now_ms)));
        // Automerge 0.12 records text splices in its patch log even while the log is inactive, and
        // only a reset empties it; this crate never asks for patches, so a long stream would
        // otherwise hold every delta twice.
        self.doc.reset_diff_cursor();
        hash
    }

    /// Writes the `updatedAt` times that streaming deferred.
    fn flush_touched(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        let touched = std::mem::take(&mut self.touched);
        if let Ok(meta) = self.container(key::META, ObjType::Map) {
            let _ = access::put_if_changed(&mut self.doc, &meta, "updatedAt", self.last_now_ms);
        }
        if let Some(messages) = access::get_obj(&self.doc, &ROOT, key::MESSAGES, ObjType::Map) {
            for (id, at) in touched {
                if let Some(message) =
                    access::get_obj(&self.doc, &messages, id.as_str(), ObjType::Map)
                {
                    // A failure here would be automerge refusing a plain put on a live map; the content
                    // itself is already written, so a missed timestamp is the lesser loss.
                    let _ = self.doc.put(&message, "updatedAt", at);
                }
            }
        }
    }

    /// The number of operations waiting for [`Thread::commit`].
    pub fn pending_ops(&self) -> usize {
        self.doc.pending_ops()
    }

    /// The whole document, compacted. Commits first. Refused for a read-only document, whose bytes must
    /// never be rewritten: keep the bytes it was loaded from, plus [`Thread::save_incremental`] chunks.
    pub fn save(&mut self) -> Result<Vec<u8>, ModelError> {
        self.ensure_writable()?;
        self.commit();
        let bytes = self.doc.save();
        self.saved_heads = self.doc.get_heads();
        Ok(bytes)
    }

    /// The changes since the last save (or load), to append to storage. Commits first.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.commit();
        let bytes = self.doc.save_after(&self.saved_heads);
        self.saved_heads = self.doc.get_heads();
        bytes
    }

    /// The document's heads. Commits first.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.commit();
        self.doc.get_heads()
    }

    /// Merges another replica of this thread into this one.
    pub fn merge(&mut self, other: &mut Thread) -> Result<(), ModelError> {
        self.commit();
        other.commit();
        self.doc.merge(&mut other.doc)?;
        self.after_remote_changes()
    }

    /// Applies saved bytes (a snapshot or incremental chunks) received from elsewhere.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), ModelError> {
        self.commit();
        self.doc.load_incremental(bytes)?;
        self.after_remote_changes()
    }

    /// Gives `f` the Automerge document, for the sync protocol. Pending local operations are committed
    /// first; afterwards the thread re-reads whatever remote changes `f` applied.
    pub fn with_automerge<R>(&mut self, f: impl FnOnce(&mut AutoCommit) -> R) -> R {
        self.commit();
        let before = self.doc.get_heads();
        let result = f(&mut self.doc);
        // Only remote changes invalidate what the thread has cached; a sync message that brought none
        // (an acknowledgement, a request) leaves the caches warm.
        if self.doc.get_heads() != before {
            // Remote changes cannot make a current document older, so this never writes; and a
            // document that became newer is only re-flagged.
            let _ = self.after_remote_changes();
        }
        result
    }

    /// Read access to the Automerge document.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    fn after_remote_changes(&mut self) -> Result<(), ModelError> {
        // Applied changes fill the patch log too (see `commit`).
        self.doc.reset_diff_cursor();
        self.refresh();
        self.migrate_if_needed()
    }

    /// Refuses writes to a newer-schema document.
    fn ensure_writable(&self) -> Result<(), ModelError> {
        match self.newer_schema {
            Some(found) => Err(ModelError::ReadOnlySchema {
                found,
                supported: THREAD_SCHEMA_VERSION,
            }),
            None => Ok(()),
        }
    }

    /// Records the time of a write that is about to happen: the thread's `updatedAt` and the pending
    /// change's commit time. Call after validation, right before writing.
    fn touch(&mut self, now_ms: u64) -> Result<(), ModelError> {
        self.last_now_ms = self.last_now_ms.max(now_ms);
        let meta = self.container(key::META, ObjType::Map)?;
        access::put_if_changed(&mut self.doc, &meta, "updatedAt", self.last_now_ms)
    }

    /// Like [`Thread::touch`] for a token delta: the timestamps are written at the next commit.
    fn touch_deferred(&mut self, message: &MessageId, now_ms: u64) {
        self.last_now_ms = self.last_now_ms.max(now_ms);
        match self.touched.iter_mut().find(|(id, _)| id == message) {
            Some((_, at)) => *at = (*at).max(now_ms),
            None => self.touched.push((message.clone(), now_ms)),
        }
    }

    /// A top-level container, which every current document has.
    fn container(&self, name: &'static str, ty: ObjType) -> Result<ObjId, ModelError> {
        access::get_obj(&self.doc, &ROOT, name, ty).ok_or(ModelError::Malformed {
            what: "thread",
            missing: name,
        })
    }

    /// A map entry of a container (a message, an artifact, …), or `NotFound`.
    fn entry(
        &self,
        container: &'static str,
        kind: &'static str,
        id: &str,
    ) -> Result<ObjId, ModelError> {
        let parent = self.container(container, ObjType::Map)?;
        access::get_obj(&self.doc, &parent, id, ObjType::Map).ok_or_else(|| ModelError::NotFound {
            kind,
            id: id.to_owned(),
        })
    }
}
