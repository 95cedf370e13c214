//! [`History`]: a thread's document, its changes grouped into [`VersionEntry`]s, and the calls that
//! read and restore them.

use automerge::{ActorId, AutoCommit, ChangeHash};
use chatsync_model::{Limits, MessageStatus, ReadAt, Role, Thread, ThreadId, ThreadView};

use crate::classify::{Facts, Objects, Scope};
use crate::{HistoryError, RESTORE_MARK, UNDO_MARK, Version, VersionKind};

/// The longest quote of a message or a title in a summary, in characters.
const QUOTE_CHARS: usize = 60;

/// One version: an edit a person would name, and the point in history it leads to.
#[derive(Clone, Debug)]
pub struct VersionEntry {
    /// The thread as it was right after this edit.
    pub version: Version,
    /// The time of the edit's last change, ms since the epoch.
    pub at: u64,
    /// What the edit was.
    pub kind: VersionKind,
    /// The edit in a few words, e.g. `Reply: "A conflict-free replicated…"`.
    pub summary: String,
    /// Who made it: the actors of its changes.
    pub actors: Vec<ActorId>,
    /// The thread right before the edit.
    pub before: Version,
    /// The first change of the edit (what an undo names).
    pub(crate) first: ChangeHash,
    /// What the edit touched, which an undo restores.
    pub(crate) scopes: Vec<Scope>,
    /// For an undo, the first change of the edit it undid.
    pub(crate) undid: Option<ChangeHash>,
    /// The message a reply streams into, while later changes may extend it.
    open_reply: Option<String>,
    /// For a reply: the start of its summary, and the start of its text (streamed so far).
    quote: Option<(&'static str, String)>,
}

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

/// Reads the document's changes in causal order, what each did from its operations, and groups
/// consecutive changes into versions. Linear in the document's operations: nothing is replayed.
fn group(doc: &mut AutoCommit) -> Vec<VersionEntry> {
    let changes = doc.get_changes(&[]);
    let mut objects = Objects::default();
    let mut versions: Vec<VersionEntry> = Vec::new();
    // The heads of the document made of the changes so far.
    let mut heads: Vec<ChangeHash> = Vec::new();
    for change in changes {
        let before = heads.clone();
        heads.retain(|h| !change.deps().contains(h));
        heads.push(change.hash());
        let facts = Facts::of(&change.decode(), &mut objects);
        let after = Version::new(heads.clone());
        let at = u64::try_from(change.timestamp()).unwrap_or(0);
        let actor = change.actor_id().clone();
        let marked = change.message().and_then(mark_of);

        // A change continuing the reply the last version streams: the same version, grown.
        if let Some(last) = versions.last_mut()
            && marked.is_none()
            && let Some(reply) = last.open_reply.clone()
            && continues_reply(&facts, &reply)
        {
            last.extend(after, at, &actor, &facts);
            if let Some((head, quote)) = &mut last.quote {
                if let Some((_, text)) = facts.streamed.iter().find(|(m, _)| *m == reply)
                    && quote.chars().count() <= QUOTE_CHARS
                {
                    quote.push_str(text);
                }
                last.summary = quoted(head, quote);
            }
            if let Some((_, status)) = facts.statuses.iter().find(|(m, _)| *m == reply)
                && !is_open(status)
            {
                last.open_reply = None;
                last.summary = reply_summary(&last.summary, status);
            }
            continue;
        }
        // Bookkeeping only (times), and changes without a commit time after the first version (a
        // schema migration commits at time 0): part of the last one.
        let migration = at == 0 && !versions.is_empty();
        if marked.is_none()
            && (!facts.is_edit() || migration)
            && let Some(last) = versions.last_mut()
        {
            last.extend(after, at.max(last.at), &actor, &facts);
            continue;
        }
        let (kind, summary, open_reply) = match &marked {
            Some(Mark::Restore(version)) => (
                VersionKind::Restore,
                restored_summary(&versions, version),
                None,
            ),
            Some(Mark::Undo(_)) => (VersionKind::Undo, undone_summary(&versions, &marked), None),
            None => describe(&facts, versions.is_empty()),
        };
        let quote = open_reply.as_ref().map(|id| {
            let head = if kind == VersionKind::Regenerate {
                "Reply regenerated"
            } else {
                "Reply"
            };
            let text = facts
                .streamed
                .iter()
                .find(|(m, _)| m == id)
                .map(|(_, t)| t.clone());
            (head, text.unwrap_or_default())
        });
        let undid = match marked {
            Some(Mark::Undo(first)) => Some(first),
            _ => None,
        };
        versions.push(VersionEntry {
            version: after,
            at,
            kind,
            summary,
            actors: vec![actor],
            before: Version::new(before),
            first: change.hash(),
            scopes: facts.scopes,
            undid,
            open_reply,
            quote,
        });
    }
    for v in &mut versions {
        v.open_reply = None;
        v.quote = None;
    }
    versions
}

impl VersionEntry {
    fn extend(&mut self, after: Version, at: u64, actor: &ActorId, facts: &Facts) {
        self.version = after;
        self.at = self.at.max(at);
        if !self.actors.contains(actor) {
            self.actors.push(actor.clone());
        }
        for scope in &facts.scopes {
            if !self.scopes.contains(scope) {
                self.scopes.push(scope.clone());
            }
        }
    }
}

/// A change made by this crate, told by its commit message.
enum Mark {
    Restore(String),
    Undo(ChangeHash),
}

fn mark_of(message: &str) -> Option<Mark> {
    if let Some(version) = message.strip_prefix(RESTORE_MARK) {
        return Some(Mark::Restore(version.to_owned()));
    }
    let first = message.strip_prefix(UNDO_MARK)?.parse().ok()?;
    Some(Mark::Undo(first))
}

/// Whether a change only streams into (or finishes) `reply`, or runs the tools it calls.
fn continues_reply(facts: &Facts, reply: &str) -> bool {
    let touches_reply = facts.streamed.iter().any(|(m, _)| m == reply)
        || facts.statuses.iter().any(|(m, _)| m == reply);
    let elsewhere = !facts.new_messages.is_empty()
        || facts.streamed.iter().any(|(m, _)| m != reply)
        || facts.statuses.iter().any(|(m, _)| m != reply)
        || facts.containers
        || facts.feedback
        || facts.title.is_some()
        || facts.thread_status.is_some()
        || facts.settings
        || facts.branch
        || !facts.artifacts.is_empty()
        || facts.approvals
        || facts.session
        || facts.context;
    !elsewhere && (touches_reply || facts.tools || !facts.is_edit())
}

fn is_open(status: &str) -> bool {
    status
        .parse::<MessageStatus>()
        .is_ok_and(MessageStatus::is_open)
}

/// The kind and summary of a change that starts a version, and the reply it leaves streaming.
fn describe(facts: &Facts, first: bool) -> (VersionKind, String, Option<String>) {
    if first || facts.containers {
        return (VersionKind::Created, "Thread created".into(), None);
    }
    if let Some(message) = facts.new_messages.first() {
        let role = message.role.as_deref().and_then(|r| r.parse::<Role>().ok());
        let text = facts
            .streamed
            .iter()
            .find(|(m, _)| *m == message.id)
            .map_or("", |(_, t)| t.as_str());
        let open = message.status.as_deref().is_some_and(is_open);
        return match role {
            Some(Role::Assistant) => {
                let kind = if message.variant {
                    VersionKind::Regenerate
                } else {
                    VersionKind::Reply
                };
                let head = if message.variant {
                    "Reply regenerated"
                } else {
                    "Reply"
                };
                let summary = quoted(head, text);
                let summary = match &message.status {
                    Some(status) if !open => reply_summary(&summary, status),
                    _ => summary,
                };
                (kind, summary, open.then(|| message.id.clone()))
            }
            _ if message.variant => (VersionKind::Edit, quoted("Message edited", text), None),
            Some(Role::System) => (VersionKind::Message, quoted("System message", text), None),
            Some(Role::Tool) => (VersionKind::Message, quoted("Tool result", text), None),
            _ => (VersionKind::Message, quoted("Message sent", text), None),
        };
    }
    if let Some(title) = &facts.title {
        return match title {
            Some(title) => (VersionKind::Title, quoted("Title set to", title), None),
            None => (VersionKind::Title, "Title cleared".into(), None),
        };
    }
    if let Some(status) = &facts.thread_status {
        let summary = match status.as_str() {
            "archived" => "Thread archived",
            "deleted" => "Thread deleted",
            _ => "Thread unarchived",
        };
        return (VersionKind::Status, summary.into(), None);
    }
    if facts.settings {
        return (VersionKind::Settings, "Settings changed".into(), None);
    }
    if facts.branch {
        return (VersionKind::Branch, "Another branch chosen".into(), None);
    }
    if let Some(artifact) = facts.artifacts.first() {
        return (
            VersionKind::Artifact,
            quoted("Artifact updated:", artifact),
            None,
        );
    }
    if facts.approvals {
        return (
            VersionKind::Approval,
            "Approval requested or decided".into(),
            None,
        );
    }
    if facts.feedback {
        return (VersionKind::Feedback, "Feedback given".into(), None);
    }
    if facts.tools {
        return (VersionKind::Tool, "Tool call".into(), None);
    }
    if facts.session {
        return (VersionKind::Session, "Session state saved".into(), None);
    }
    if facts.context {
        return (VersionKind::Context, "Context changed".into(), None);
    }
    // Text streamed into an existing reply (resumed on another device, say): a reply again.
    if let Some((id, text)) = facts.streamed.first() {
        let status = facts
            .statuses
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, s)| s.as_str());
        let summary = quoted("Reply", text);
        return match status {
            Some(s) if !is_open(s) => (VersionKind::Reply, reply_summary(&summary, s), None),
            _ => (VersionKind::Reply, summary, Some(id.clone())),
        };
    }
    if let Some((id, status)) = facts.statuses.first() {
        let summary = reply_summary("Reply", status);
        return (
            VersionKind::Reply,
            summary,
            is_open(status).then(|| id.clone()),
        );
    }
    (VersionKind::Other, "Changed".into(), None)
}

/// `head: "text…"`, or `head` alone for no text.
fn quoted(head: &str, text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return head.to_owned();
    }
    let mut quote: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().count() > QUOTE_CHARS {
        quote.push('…');
    }
    format!("{head} \"{quote}\"")
}

/// A finished reply's summary: how it ended, when not normally.
fn reply_summary(summary: &str, status: &str) -> String {
    let ending = match status {
        "error" => " (failed)",
        "cancelled" => " (stopped)",
        "interrupted" => " (interrupted)",
        _ => "",
    };
    format!("{summary}{ending}")
}

fn restored_summary(versions: &[VersionEntry], version: &str) -> String {
    match versions.iter().find(|v| v.version.to_string() == version) {
        Some(v) => format!("Restored: {}", v.summary),
        None => "Restored an earlier version".into(),
    }
}

fn undone_summary(versions: &[VersionEntry], mark: &Option<Mark>) -> String {
    let Some(Mark::Undo(first)) = mark else {
        return "Undone".into();
    };
    match versions.iter().find(|v| v.first == *first) {
        Some(v) => format!("Undone: {}", v.summary),
        None => "Undone".into(),
    }
}
