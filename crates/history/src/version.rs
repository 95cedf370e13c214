//! [`Version`], a point in a thread's history, and [`VersionKind`], what the edit that made it was.

use std::fmt;

use automerge::ChangeHash;

use crate::HistoryError;

/// A point in a thread's history: the document's heads there. Its text form (`Display`,
/// [`Version::parse`]) is the heads' hashes in hex joined by `,` — opaque to apps, which take it
/// from `history()`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version(Vec<ChangeHash>);

impl Version {
    /// The version at these heads (sorted, as Automerge sorts heads).
    pub fn new(mut heads: Vec<ChangeHash>) -> Self {
        heads.sort_unstable();
        heads.dedup();
        Self(heads)
    }

    /// The heads.
    pub fn heads(&self) -> &[ChangeHash] {
        &self.0
    }

    /// Reads a version's text form; anything else is [`HistoryError::InvalidVersion`].
    pub fn parse(text: &str) -> Result<Self, HistoryError> {
        let invalid = || HistoryError::InvalidVersion(text.chars().take(200).collect());
        if text.is_empty() {
            return Err(invalid());
        }
        let heads = text
            .split(',')
            .map(|head| head.parse::<ChangeHash>().map_err(|_| invalid()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(heads))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, head) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{head}")?;
        }
        Ok(())
    }
}

/// What the edit that made a version was. Its text form ([`VersionKind::as_str`]) is what JS sees
/// as `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionKind {
    /// The thread was created (`"created"`).
    Created,
    /// A message was sent: a user, system or tool message (`"message"`).
    Message,
    /// An assistant reply, from its first token to its end, as one version (`"reply"`).
    Reply,
    /// A message was edited, which makes a sibling branch (`"edit"`).
    Edit,
    /// A reply was regenerated, streamed to its end (`"regenerate"`).
    Regenerate,
    /// Another branch was chosen (`"branch"`).
    Branch,
    /// The title was set or cleared (`"title"`).
    Title,
    /// The model settings changed (`"settings"`).
    Settings,
    /// An artifact was created or updated (`"artifact"`).
    Artifact,
    /// A tool call started, streamed its input or finished (`"tool"`).
    Tool,
    /// An approval was requested or decided (`"approval"`).
    Approval,
    /// Feedback on a message was given (`"feedback"`).
    Feedback,
    /// The agent's session state was saved (`"session"`).
    Session,
    /// The context entries changed (`"context"`).
    Context,
    /// The thread was archived, unarchived or deleted (`"status"`).
    Status,
    /// An earlier version was brought back (`"restore"`).
    Restore,
    /// An edit was undone (`"undo"`).
    Undo,
    /// Anything else (message metadata, a project, a summary, another app's writes) (`"other"`).
    Other,
}

impl VersionKind {
    /// The kind as JS sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Message => "message",
            Self::Reply => "reply",
            Self::Edit => "edit",
            Self::Regenerate => "regenerate",
            Self::Branch => "branch",
            Self::Title => "title",
            Self::Settings => "settings",
            Self::Artifact => "artifact",
            Self::Tool => "tool",
            Self::Approval => "approval",
            Self::Feedback => "feedback",
            Self::Session => "session",
            Self::Context => "context",
            Self::Status => "status",
            Self::Restore => "restore",
            Self::Undo => "undo",
            Self::Other => "other",
        }
    }
}
