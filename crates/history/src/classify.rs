//! What one Automerge change did to a thread, read from its own operations: which messages it
//! created or streamed into, which fields of the thread it set. Each operation names the object it
//! acts on; [`Objects`] knows every object's place in the document (`messages` → an id → `content`,
//! …) from the operations that made it, so no document is replayed. The key names are the thread
//! document's (see `chatsync_model`'s schema); anything unknown counts as "other".

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ExpandedChange, ObjType, ScalarValue};

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

/// One step of an object's place: a map key, or a position in a list or text.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Item,
}

/// Where each object of the document sits, learnt from the operations that made them.
#[derive(Debug, Default)]
pub(crate) struct Objects(HashMap<OpId, Vec<Step>>);

impl Facts {
    /// What `change` did; `objects` learns the objects it made.
    pub fn of(change: &ExpandedChange, objects: &mut Objects) -> Self {
        let mut facts = Facts::default();
        for (i, op) in change.operations.iter().enumerate() {
            let path = match &op.obj {
                ObjectId::Root => Vec::new(),
                ObjectId::Id(id) => match objects.0.get(id) {
                    Some(path) => path.clone(),
                    // An object this history never saw made: nothing to say about it.
                    None => continue,
                },
            };
            if let OpType::Make(_) = op.action {
                let mut place = path.clone();
                place.push(match &op.key {
                    Key::Map(key) => Step::Key(key.to_string()),
                    Key::Seq(_) => Step::Item,
                });
                let id = OpId(
                    change.start_op.get().saturating_add(i as u64),
                    change.actor_id.clone(),
                );
                objects.0.insert(id, place);
            }
            facts.add(&path, &op.key, &op.action, op.insert);
        }
        facts
    }

    fn add(&mut self, path: &[Step], key: &Key, action: &OpType, insert: bool) {
        let key = match key {
            Key::Map(key) => Some(key.as_str()),
            Key::Seq(_) => None,
        };
        let Some(Step::Key(container)) = path.first() else {
            // The document's root: its containers and schema version.
            if path.is_empty() && matches!(action, OpType::Make(_)) {
                self.containers = true;
            }
            return;
        };
        let container = container.as_str();
        // The entry of the container (a message id, a meta field) and the field within it.
        let (entry, field) = match path.get(1) {
            Some(Step::Key(entry)) => (
                Some(entry.as_str()),
                match path.get(2) {
                    Some(Step::Key(field)) => Some(field.as_str()),
                    Some(Step::Item) => None,
                    None => key,
                },
            ),
            Some(Step::Item) => (None, None),
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
            "messages" => self.message(path.len(), entry, field, action, insert),
            "meta" => match entry {
                "title" => self.title = Some(put_str(action)),
                "status" => self.thread_status = put_str(action),
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

    /// An operation on message `id`: on the `messages` map itself (`depth` 1), on the message's
    /// map (2), or inside its content or parts (3 and more).
    fn message(
        &mut self,
        depth: usize,
        id: &str,
        field: Option<&str>,
        action: &OpType,
        insert: bool,
    ) {
        if depth == 1 {
            if matches!(action, OpType::Make(ObjType::Map)) {
                self.new_messages.push(NewMessage {
                    id: id.to_owned(),
                    ..NewMessage::default()
                });
            }
            return;
        }
        let created = self.new_messages.iter_mut().find(|m| m.id == id);
        match (field, depth) {
            (Some("role"), 2) => {
                if let Some(m) = created {
                    m.role = put_str(action);
                }
            }
            (Some("variantOf"), 2) => {
                if let Some(m) = created {
                    m.variant = true;
                }
            }
            (Some("status"), 2) => {
                if let Some(status) = put_str(action) {
                    if let Some(m) = created {
                        m.status = Some(status.clone());
                    }
                    self.statuses.push((id.to_owned(), status));
                }
            }
            (Some("feedbackRating" | "feedbackText"), 2) => self.feedback = true,
            (Some(f), 2) if BOOKKEEPING.contains(&f) || is_message_detail(f) => {}
            (Some("content" | "parts"), _) | (None, _) => {
                let text = match action {
                    OpType::Put(ScalarValue::Str(text)) if insert && depth > 2 => text.as_str(),
                    _ => "",
                };
                match self.streamed.iter_mut().find(|(m, _)| m == id) {
                    Some((_, all)) => all.push_str(text),
                    None => self.streamed.push((id.to_owned(), text.to_owned())),
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

fn put_str(action: &OpType) -> Option<String> {
    match action {
        OpType::Put(ScalarValue::Str(value)) => Some(value.to_string()),
        _ => None,
    }
}
