//! What one Automerge change did to a thread, read from the patches it makes when replayed: which
//! messages it created or streamed into, which fields of the thread it set. The key names are the
//! thread document's (see `chatsync_model`'s schema); anything unknown counts as "other".

use automerge::{Patch, PatchAction, Prop, Value};

/// The top-level container and entry an edit touched: `("messages", id)`, `("meta", "title")`,
/// `("settings", "model")`, … What [`crate::History::undo`] restores.
pub(crate) type Scope = (String, String);

/// A message this change created.
#[derive(Debug, Default)]
pub(crate) struct NewMessage {
    pub id: String,
    pub role: Option<String>,
    pub status: Option<String>,
    /// Made as a variant of another (an edit or a regeneration).
    pub variant: bool,
}

/// What one change did.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// It created the thread's top-level containers (genesis, or a schema migration).
    pub containers: bool,
    pub new_messages: Vec<NewMessage>,
    /// Messages whose content or parts it changed, with the text it inserted.
    pub streamed: Vec<(String, String)>,
    /// Messages whose status it set, with the status.
    pub statuses: Vec<(String, String)>,
    pub feedback: bool,
    /// The title it set (`Some(None)`: cleared).
    pub title: Option<Option<String>>,
    pub thread_status: Option<String>,
    pub settings: bool,
    pub branch: bool,
    pub artifacts: Vec<String>,
    pub tools: bool,
    pub approvals: bool,
    pub session: bool,
    pub context: bool,
    /// Something not listed above, other than bookkeeping (times, counters).
    pub other: bool,
    pub scopes: Vec<Scope>,
}

/// Fields that record when, not what: a change setting only these is no edit of its own.
const BOOKKEEPING: &[&str] = &["updatedAt", "lastMessageAt", "createdAt"];

impl Facts {
    pub fn of(patches: &[Patch]) -> Self {
        let mut facts = Facts::default();
        for patch in patches {
            facts.add(patch);
        }
        facts
    }

    fn add(&mut self, patch: &Patch) {
        let key = action_key(&patch.action);
        let Some((_, Prop::Map(container))) = patch.path.first() else {
            // The document's root: its containers and schema version.
            if matches!(
                &patch.action,
                PatchAction::PutMap {
                    value: (Value::Object(_), _),
                    ..
                }
            ) {
                self.containers = true;
            }
            return;
        };
        let container = container.as_str();
        // The entry of the container (a message id, a meta field) and the field within it.
        let (entry, field) = match patch.path.get(1) {
            Some((_, Prop::Map(entry))) => (
                Some(entry.as_str()),
                match patch.path.get(2) {
                    Some((_, Prop::Map(field))) => Some(field.as_str()),
                    Some((_, Prop::Seq(_))) => None,
                    None => key,
                },
            ),
            Some((_, Prop::Seq(_))) => (None, None),
            None => (key, None),
        };
        let Some(entry) = entry else { return };
        if container != "order" {
            let scope = (container.to_owned(), entry.to_owned());
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
        match container {
            "messages" => self.message(patch, entry, field),
            "meta" => match entry {
                "title" => {
                    self.title = Some(match &patch.action {
                        PatchAction::PutMap {
                            value: (value, _), ..
                        } => value.as_str().map(str::to_owned),
                        _ => None,
                    })
                }
                "status" => self.thread_status = put_str(&patch.action),
                "titleSource" => {}
                e if BOOKKEEPING.contains(&e) => {}
                _ => self.other = true,
            },
            "settings" => self.settings = true,
            "selected" => self.branch = true,
            "artifacts" => {
                if !self.artifacts.iter().any(|a| a == entry) {
                    self.artifacts.push(entry.to_owned());
                }
            }
            "toolCalls" => self.tools = true,
            "approvals" => self.approvals = true,
            "session" => self.session = true,
            "context" => self.context = true,
            "order" => {}
            _ => self.other = true,
        }
    }

    fn message(&mut self, patch: &Patch, id: &str, field: Option<&str>) {
        if patch.path.len() == 1 {
            // The message's own map, put into `messages`.
            if matches!(
                &patch.action,
                PatchAction::PutMap {
                    value: (Value::Object(_), _),
                    ..
                }
            ) {
                self.new_messages.push(NewMessage {
                    id: id.to_owned(),
                    ..NewMessage::default()
                });
            }
            return;
        }
        let created = self.new_messages.iter_mut().find(|m| m.id == id);
        match (field, patch.path.len()) {
            (Some("role"), 2) => {
                if let Some(m) = created {
                    m.role = put_str(&patch.action);
                }
            }
            (Some("variantOf"), 2) => {
                if let Some(m) = created {
                    m.variant = true;
                }
            }
            (Some("status"), 2) => {
                if let Some(status) = put_str(&patch.action) {
                    if let Some(m) = created {
                        m.status = Some(status.clone());
                    }
                    self.statuses.push((id.to_owned(), status));
                }
            }
            (Some("feedbackRating" | "feedbackText"), 2) => self.feedback = true,
            (Some(f), 2) if BOOKKEEPING.contains(&f) || is_message_detail(f) => {}
            (Some("content" | "parts"), _) | (None, _) => {
                let text = match &patch.action {
                    PatchAction::SpliceText { value, .. } => value.make_string(),
                    _ => String::new(),
                };
                match self.streamed.iter_mut().find(|(m, _)| m == id) {
                    Some((_, all)) => all.push_str(&text),
                    None => self.streamed.push((id.to_owned(), text)),
                }
            }
            _ => {
                if created.is_none() {
                    self.other = true;
                }
            }
        }
    }

    /// Whether the change did anything a person would call an edit.
    pub fn is_edit(&self) -> bool {
        self.containers
            || !self.new_messages.is_empty()
            || !self.streamed.is_empty()
            || !self.statuses.is_empty()
            || self.feedback
            || self.title.is_some()
            || self.thread_status.is_some()
            || self.settings
            || self.branch
            || !self.artifacts.is_empty()
            || self.tools
            || self.approvals
            || self.session
            || self.context
            || self.other
    }
}

/// A message's fields that come with a stream rather than make an edit of their own.
fn is_message_detail(field: &str) -> bool {
    matches!(
        field,
        "parentId"
            | "provider"
            | "model"
            | "inputTokens"
            | "outputTokens"
            | "finishReason"
            | "error"
    )
}

fn action_key(action: &PatchAction) -> Option<&str> {
    match action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key),
        PatchAction::Increment {
            prop: Prop::Map(key),
            ..
        } => Some(key),
        _ => None,
    }
}

fn put_str(action: &PatchAction) -> Option<String> {
    match action {
        PatchAction::PutMap {
            value: (value, _), ..
        } => value.as_str().map(str::to_owned),
        _ => None,
    }
}
