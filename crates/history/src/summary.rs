//! The kind and few-word summary of an edit, from what its first change did.

use chatsync_model::Role;

use crate::VersionKind;
use crate::classify::Facts;
use crate::versions::is_open;

/// The longest quote of a message or a title in a summary, in characters.
pub(crate) const QUOTE_CHARS: usize = 60;

/// The kind and summary of a change that starts a version, and the reply it leaves streaming.
pub(crate) fn describe(facts: &Facts, first: bool) -> (VersionKind, String, Option<String>) {
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
pub(crate) fn quoted(head: &str, text: &str) -> String {
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
pub(crate) fn reply_summary(summary: &str, status: &str) -> String {
    let ending = match status {
        "error" => " (failed)",
        "cancelled" => " (stopped)",
        "interrupted" => " (interrupted)",
        _ => "",
    };
    format!("{summary}{ending}")
}
