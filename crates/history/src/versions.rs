//! The versions of a thread: its changes, in causal order, grouped into [`VersionEntry`]s — a reply's
//! streamed changes into one, bookkeeping into the edit it belongs to.

use automerge::{ActorId, AutoCommit, ChangeHash};
use chatsync_model::MessageStatus;

use crate::classify::{Facts, Objects, Scope};
use crate::summary::{QUOTE_CHARS, describe, quoted, reply_summary};
use crate::{RESTORE_MARK, UNDO_MARK, Version, VersionKind};

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

/// Reads the document's changes in causal order, what each did from its operations, and groups
/// consecutive changes into versions. Linear in the document's operations: nothing is replayed.
pub(crate) fn group(doc: &mut AutoCommit) -> Vec<VersionEntry> {
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

pub(crate) fn is_open(status: &str) -> bool {
    status
        .parse::<MessageStatus>()
        .is_ok_and(MessageStatus::is_open)
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
