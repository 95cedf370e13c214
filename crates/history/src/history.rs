//! [`History`]: a thread's document, and the calls that read and restore its versions.

use automerge::{ActorId, AutoCommit, ChangeHash};
use chatsync_model::{Limits, ReadAt, Thread, ThreadId, ThreadView};

use crate::versions::{VersionEntry, group};
use crate::{HistoryError, RESTORE_MARK, UNDO_MARK, Version, VersionKind};

/// What [`History::restore`] brings back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreTarget {
    /// The whole thread: afterwards its view is the version's (times aside).
    Thread,
    /// One message's content, parts, status and fields.
    Message(String),
}

/// A thread's history. See the [crate docs](crate).
#[derive(Debug)]
pub struct History {
    id: ThreadId,
    doc: AutoCommit,
    /// Grouped on first use: a restore or a view needs none of it.
    versions: Option<Vec<VersionEntry>>,
}

impl History {
    /// Reads a thread's Automerge document (`thread.save()`).
    pub fn load(id: ThreadId, bytes: &[u8]) -> Result<Self, HistoryError> {
        let doc = AutoCommit::load(bytes)?;
        Ok(Self {
            id,
            doc,
            versions: None,
        })
    }

    /// The versions, oldest first; the last one is the thread now. The first call reads every
    /// change of the document, so its cost grows with the thread's history.
    pub fn versions(&mut self) -> &[VersionEntry] {
        self.versions.get_or_insert_with(|| group(&mut self.doc))
    }

    /// The thread as it was at `version`: the same view a live thread renders, at that time.
    pub fn view_at(&mut self, version: &Version) -> Result<ThreadView, HistoryError> {
        self.check(version)?;
        let at = self.doc.fork_at(version.heads())?;
        let now = latest_time(&mut self.doc, version.heads());
        // A thread written before the current schema is migrated in the fork only.
        let thread = Thread::from_automerge(self.id.clone(), at, Limits::default())
            .map_err(|e| HistoryError::Model(e.error))?;
        Ok(thread.view(ReadAt::new(now)))
    }

    /// Brings `version` back (the whole thread or one message) as one new change by `actor` at
    /// `now_ms`, on top of the document as it is: what changed since is set back, nothing is
    /// rewritten, and edits made meanwhile elsewhere merge with it. Returns the change's bytes (an
    /// incremental save), or `None` when there is nothing to bring back.
    pub fn restore(
        mut self,
        version: &Version,
        target: RestoreTarget,
        actor: ActorId,
        now_ms: u64,
    ) -> Result<Option<Vec<u8>>, HistoryError> {
        self.check(version)?;
        let scopes = match &target {
            RestoreTarget::Thread => None,
            RestoreTarget::Message(id) => {
                if !crate::restore::message_exists(&self.doc, id, version.heads()) {
                    return Err(HistoryError::MessageNotFound {
                        message: id.clone(),
                        version: version.to_string(),
                    });
                }
                Some(vec![("messages".to_owned(), id.clone())])
            }
        };
        let mark = format!("{RESTORE_MARK}{version}");
        crate::restore::restore(
            self.doc,
            version.heads(),
            scopes.as_deref(),
            actor,
            now_ms,
            mark,
            false,
        )
    }

    /// Undoes this device's last edit that is not undone yet: what it touched (a message, the
    /// title, a setting, …) goes back to how it was before it, as one new change by `actor`, and
    /// edits since to anything else stay. `device` is the prefix of this device's actor ids. A
    /// second undo goes one edit further back. `None` when there is nothing to undo.
    pub fn undo(
        mut self,
        device: &[u8],
        actor: ActorId,
        now_ms: u64,
    ) -> Result<Option<Vec<u8>>, HistoryError> {
        let versions = self.versions();
        let undone: Vec<ChangeHash> = versions.iter().filter_map(|v| v.undid).collect();
        let Some(last) = versions.iter().rev().find(|v| {
            v.kind != VersionKind::Created
                && v.undid.is_none()
                && !undone.contains(&v.first)
                && !v.actors.is_empty()
                && v.actors.iter().all(|a| a.to_bytes().starts_with(device))
        }) else {
            return Ok(None);
        };
        let mark = format!("{UNDO_MARK}{}", last.first);
        let (before, scopes) = (last.before.clone(), last.scopes.clone());
        // Committed even when nothing differs (the edit was already edited back by hand): the mark
        // alone says it is undone, so the next undo moves on.
        crate::restore::restore(
            self.doc,
            before.heads(),
            Some(&scopes),
            actor,
            now_ms,
            mark,
            true,
        )
    }

    /// Refuses a version that is not in this document.
    fn check(&mut self, version: &Version) -> Result<(), HistoryError> {
        let known = version
            .heads()
            .iter()
            .all(|h| self.doc.get_change_meta_by_hash(h).is_some());
        if known && !version.heads().is_empty() {
            Ok(())
        } else {
            Err(HistoryError::UnknownVersion(version.to_string()))
        }
    }
}

/// The latest commit time among `heads`' changes.
fn latest_time(doc: &mut AutoCommit, heads: &[ChangeHash]) -> u64 {
    heads
        .iter()
        .filter_map(|h| doc.get_change_by_hash(h))
        .map(|c| u64::try_from(c.timestamp()).unwrap_or(0))
        .max()
        .unwrap_or(0)
}
