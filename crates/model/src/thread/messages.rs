//! Messages: append, stream, finish, edit, regenerate, branch selection, feedback.

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc};
use serde::{Deserialize, Serialize};

use super::branches::{Node, Tree};
use super::part_writes::PartsState;
use super::parts::{self, NewPart, part_key};
use super::{StreamHandle, Thread};
use crate::schema::key;
use crate::{Json, MessageId, MessageStatus, ModelError, Role, access, json};

/// A message to append.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Its id, new in this thread.
    pub id: MessageId,
    /// Who wrote it.
    pub role: Role,
    /// Initial content (often empty for an assistant reply about to stream).
    pub content: String,
    /// Initial status. Default: `pending` for an assistant message with no content yet, else `complete`.
    pub status: Option<MessageStatus>,
    /// The message it answers. Default: the last message on the active path. A parent that already has
    /// children does not make a branch: branches come from [`Thread::edit_message`] and
    /// [`Thread::regenerate_message`].
    pub parent_id: Option<MessageId>,
    /// Provider that produced it.
    pub provider: Option<String>,
    /// Model that produced it.
    pub model: Option<String>,
    /// Application data: a JSON object.
    pub metadata: Option<Json>,
    /// Its parts, in order (see [`NewPart`]). A non-empty `content` is a text part before them; a
    /// message cannot have both.
    pub parts: Vec<NewPart>,
}

impl NewMessage {
    /// A message with default status and parent, and no provider, model or metadata.
    pub fn new(id: MessageId, role: Role, content: impl Into<String>) -> Self {
        Self {
            id,
            role,
            content: content.into(),
            status: None,
            parent_id: None,
            provider: None,
            model: None,
            metadata: None,
            parts: Vec::new(),
        }
    }
}

/// Token usage of a reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// How a streaming message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageEnd {
    /// `complete`, `error` or `cancelled`.
    pub status: MessageStatus,
    /// Token usage, when the provider reported it.
    pub usage: Option<Usage>,
}

/// What a finished message says about how it ended, beside its status: the AI SDK's `finishReason`
/// and an error's text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinishDetails {
    /// Why the model stopped (`stop`, `length`, `tool-calls`, `content-filter`, `error`, `other`, …),
    /// as the provider said.
    pub finish_reason: Option<String>,
    /// What went wrong; only with status `error`.
    pub error: Option<String>,
}

/// A person's rating of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// 1 (worst) to 5 (best); thumbs map to 1 and 5.
    pub rating: u8,
    /// An optional comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A new reply to replace an assistant message, as a sibling branch.
#[derive(Clone, Debug)]
pub struct Regenerate {
    /// The new message's id.
    pub new_id: MessageId,
    /// Provider of the new reply.
    pub provider: Option<String>,
    /// Model of the new reply.
    pub model: Option<String>,
}

/// A validated message, ready to write.
struct Insert {
    message: NewMessage,
    status: MessageStatus,
    parent: Option<MessageId>,
    variant_of: Option<MessageId>,
    metadata: Option<String>,
    /// Bytes of text of the content and parts.
    bytes: usize,
}

impl Thread {
    /// Appends a message.
    pub fn append_message(&mut self, message: NewMessage, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let tree = self.tree();
        let parent = match &message.parent_id {
            Some(p) => {
                self.entry(key::MESSAGES, "message", p.as_str())?;
                Some(p.clone())
            }
            None => tree.active_path().last().map(|n| n.id.clone()),
        };
        let insert = self.validate_new(message, parent, None)?;
        self.insert_message(insert, now_ms)
    }

    /// Appends a token delta to a `pending` or `streaming` message's content, making it `streaming`.
    /// Costs O(delta): nothing is committed (see [`Thread::commit`]) and the timestamps are written at
    /// commit.
    pub fn append_delta(
        &mut self,
        id: &MessageId,
        delta: &str,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let handle = self.stream_handle(id)?;
        let (status, bytes) = (handle.status, handle.bytes);
        let (message, text) = (handle.message.clone(), handle.text.clone());
        if !status.is_open() {
            return Err(ModelError::InvalidTransition {
                kind: "message",
                id: id.to_string(),
                state: status.to_string(),
                action: "stream into",
            });
        }
        if handle.parts.list.is_some() {
            return self.append_delta_to_parts(id, delta, now_ms);
        }
        let text = text.ok_or_else(|| ModelError::InvalidTransition {
            kind: "message",
            id: id.to_string(),
            // A foreign writer stored the content as a plain string: it cannot be streamed into.
            state: "without streamable content".into(),
            action: "stream into",
        })?;
        let new_len = bytes + delta.len();
        self.limits.content("message content", new_len)?;
        if delta.is_empty() {
            return Ok(());
        }
        if status == MessageStatus::Pending {
            self.doc
                .put(&message, "status", MessageStatus::Streaming.as_str())?;
        }
        let end = self.doc.length(&text);
        self.doc.splice_text(&text, end, 0, delta)?;
        if let Some(cached) = self.streams.get_mut(id) {
            cached.bytes = new_len;
            cached.status = MessageStatus::Streaming;
        }
        self.touch_deferred(id, now_ms);
        Ok(())
    }

    /// Ends a `pending` or `streaming` message.
    pub fn finish_message(
        &mut self,
        id: &MessageId,
        end: MessageEnd,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.finish_message_with(id, end, FinishDetails::default(), now_ms)
    }

    /// [`Thread::finish_message`] with a finish reason and an error's text (which only an `error`
    /// status may have).
    pub fn finish_message_with(
        &mut self,
        id: &MessageId,
        end: MessageEnd,
        details: FinishDetails,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if let Some(reason) = &details.finish_reason {
            self.limits.short("finish reason", reason)?;
        }
        if let Some(error) = &details.error {
            if end.status != MessageStatus::Error {
                return Err(ModelError::InvalidValue {
                    field: "error of a message that is not finished as `error`",
                    value: end.status.to_string(),
                    expected: "status `error` with an error text",
                });
            }
            self.limits.short("message error", error)?;
        }
        if !matches!(
            end.status,
            MessageStatus::Complete | MessageStatus::Error | MessageStatus::Cancelled
        ) {
            return Err(ModelError::InvalidValue {
                field: "final status",
                value: end.status.to_string(),
                expected: "complete, error or cancelled",
            });
        }
        self.end_message(id, end, "finish", now_ms)?;
        let message = self.entry(key::MESSAGES, "message", id.as_str())?;
        access::put_opt(
            &mut self.doc,
            &message,
            "finishReason",
            details.finish_reason,
        )?;
        access::put_opt(&mut self.doc, &message, "error", details.error)
    }

    /// Replaces a message's application metadata (a JSON object; `None` removes it), whatever its
    /// status. The model does not parse JSON, so merging is the caller's: the AI SDK's
    /// `message-metadata` chunks merge into what is there (the relay's `/api/stream` does that).
    pub fn update_message_metadata(
        &mut self,
        id: &MessageId,
        metadata: Option<Json>,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let metadata = metadata
            .as_ref()
            .map(|m| json::encode_object("metadata", m, &self.limits))
            .transpose()?;
        let message = self.entry(key::MESSAGES, "message", id.as_str())?;
        self.touch(now_ms)?;
        self.doc.put(&message, "updatedAt", now_ms)?;
        access::put_opt(&mut self.doc, &message, "metadata", metadata)
    }

    /// Ends a `pending` or `streaming` message whose writer went away mid-stream (a backend's
    /// request body broke off): it keeps its content and is stored as `interrupted`, so every reader
    /// shows it so at once rather than after a staleness window.
    pub fn interrupt_message(&mut self, id: &MessageId, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let end = MessageEnd {
            status: MessageStatus::Interrupted,
            usage: None,
        };
        self.end_message(id, end, "interrupt", now_ms)
    }

    fn end_message(
        &mut self,
        id: &MessageId,
        end: MessageEnd,
        action: &'static str,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        let handle = self.stream_handle(id)?;
        if !handle.status.is_open() {
            return Err(ModelError::InvalidTransition {
                kind: "message",
                id: id.to_string(),
                state: handle.status.to_string(),
                action,
            });
        }
        let message = handle.message.clone();
        if let Some(cached) = self.streams.get_mut(id) {
            cached.status = end.status;
        }
        self.touch(now_ms)?;
        self.touched.retain(|(touched, _)| touched != id);
        self.doc.put(&message, "status", end.status.as_str())?;
        self.doc.put(&message, "updatedAt", now_ms)?;
        if let Some(usage) = end.usage {
            self.recount();
            self.doc.put(&message, "inputTokens", usage.input_tokens)?;
            self.doc
                .put(&message, "outputTokens", usage.output_tokens)?;
        }
        Ok(())
    }

    /// Edits a message by adding a sibling branch with the new content (the original stays, one
    /// `‹ 1 / 2 ›` away) and selects it.
    pub fn edit_message(
        &mut self,
        id: &MessageId,
        new_id: MessageId,
        content: impl Into<String>,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let (original, role) = self.variant_source(id)?;
        let mut new = NewMessage::new(new_id, role, content);
        new.status = Some(MessageStatus::Complete);
        let insert =
            self.validate_new(new, original.parent.clone(), Some(original.group().clone()))?;
        self.insert_message(insert, now_ms)
    }

    /// Starts a new reply in place of an assistant message, as a sibling branch, and selects it. The new
    /// message is `pending`, ready for [`Thread::append_delta`].
    pub fn regenerate_message(
        &mut self,
        id: &MessageId,
        regenerate: Regenerate,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let (original, role) = self.variant_source(id)?;
        if role != Role::Assistant {
            return Err(ModelError::InvalidValue {
                field: "role of the regenerated message",
                value: role.to_string(),
                expected: "assistant",
            });
        }
        let mut new = NewMessage::new(regenerate.new_id, Role::Assistant, "");
        new.provider = regenerate.provider;
        new.model = regenerate.model;
        let insert =
            self.validate_new(new, original.parent.clone(), Some(original.group().clone()))?;
        self.insert_message(insert, now_ms)
    }

    /// Puts `id` on the active path: selects it among its siblings, and each of its ancestors among
    /// theirs. Syncs like any other write.
    pub fn select_branch(&mut self, id: &MessageId, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        self.entry(key::MESSAGES, "message", id.as_str())?;
        let selections = self.tree().selections_to_show(id);
        if selections.is_empty() {
            return Ok(());
        }
        let selected = self.container(key::SELECTED, ObjType::Map)?;
        self.touch(now_ms)?;
        for (group, member) in selections {
            self.doc.put(&selected, group.as_str(), member.as_str())?;
        }
        Ok(())
    }

    /// Records a person's rating of a message, replacing an earlier one.
    pub fn set_feedback(
        &mut self,
        id: &MessageId,
        feedback: Feedback,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if !(1..=5).contains(&feedback.rating) {
            return Err(ModelError::InvalidValue {
                field: "rating",
                value: feedback.rating.to_string(),
                expected: "1 to 5",
            });
        }
        if let Some(text) = &feedback.text {
            self.limits.short("feedback text", text)?;
        }
        let message = self.entry(key::MESSAGES, "message", id.as_str())?;
        self.touch(now_ms)?;
        self.doc
            .put(&message, "feedbackRating", u64::from(feedback.rating))?;
        access::put_opt(&mut self.doc, &message, "feedbackText", feedback.text)
    }

    fn validate_new(
        &self,
        message: NewMessage,
        parent: Option<MessageId>,
        variant_of: Option<MessageId>,
    ) -> Result<Insert, ModelError> {
        if self
            .entry(key::MESSAGES, "message", message.id.as_str())
            .is_ok()
        {
            return Err(ModelError::AlreadyExists {
                kind: "message",
                id: message.id.to_string(),
            });
        }
        let status = match message.status {
            Some(MessageStatus::Interrupted) => {
                return Err(ModelError::InvalidValue {
                    field: "message status",
                    value: "interrupted".into(),
                    expected: "pending, streaming, complete, error or cancelled",
                });
            }
            Some(status) => status,
            None if message.role == Role::Assistant && message.content.is_empty() => {
                MessageStatus::Pending
            }
            None => MessageStatus::Complete,
        };
        if !message.content.is_empty() && !message.parts.is_empty() {
            return Err(ModelError::InvalidValue {
                field: "content of a message with parts",
                value: message.content.chars().take(64).collect(),
                expected: "empty: the text goes in a text part",
            });
        }
        let bytes = message.content.len() + parts::check_all(&message.parts, &self.limits)?;
        self.limits.content("message content", bytes)?;
        for field in [&message.provider, &message.model].into_iter().flatten() {
            self.limits.short("provider or model", field)?;
        }
        let metadata = message
            .metadata
            .as_ref()
            .map(|m| json::encode_object("metadata", m, &self.limits))
            .transpose()?;
        Ok(Insert {
            message,
            status,
            parent,
            variant_of,
            metadata,
            bytes,
        })
    }

    fn insert_message(&mut self, insert: Insert, now_ms: u64) -> Result<(), ModelError> {
        let messages = self.container(key::MESSAGES, ObjType::Map)?;
        let order = self.container(key::ORDER, ObjType::List)?;
        let meta = self.container(key::META, ObjType::Map)?;
        self.touch(now_ms)?;
        let Insert {
            mut message,
            status,
            parent,
            variant_of,
            metadata,
            bytes,
        } = insert;
        let obj = self
            .doc
            .put_object(&messages, message.id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "role", message.role.as_str())?;
        // The content is its text parts (see `parts`): a `content` text is only read from messages
        // stored before parts existed.
        let list = self.doc.put_object(&obj, part_key::PARTS, ObjType::List)?;
        let mut all = message.parts;
        if !message.content.is_empty() {
            let text = std::mem::take(&mut message.content);
            all.insert(0, NewPart::Text { id: None, text });
        }
        for part in &all {
            parts::write_part(&mut self.doc, &list, part)?;
        }
        let (parts_state, _) = PartsState::read(&self.doc, list);
        self.doc.put(&obj, "status", status.as_str())?;
        self.doc.put(&obj, "createdAt", now_ms)?;
        self.doc.put(&obj, "updatedAt", now_ms)?;
        self.recount();
        access::put_opt(
            &mut self.doc,
            &obj,
            "parentId",
            parent.as_ref().map(|p| p.as_str()),
        )?;
        access::put_opt(&mut self.doc, &obj, "provider", message.provider)?;
        access::put_opt(&mut self.doc, &obj, "model", message.model)?;
        access::put_opt(&mut self.doc, &obj, "metadata", metadata)?;
        if let Some(group) = &variant_of {
            self.doc.put(&obj, "variantOf", group.as_str())?;
            let selected = self.container(key::SELECTED, ObjType::Map)?;
            self.doc
                .put(&selected, group.as_str(), message.id.as_str())?;
        }
        let end = self.doc.length(&order);
        self.doc.insert(&order, end, message.id.as_str())?;
        if let Some(nodes) = self.nodes.get_mut() {
            nodes.push(Node {
                id: message.id.clone(),
                obj: obj.clone(),
                parent,
                variant_of,
            });
        }
        self.doc.put(&meta, "lastMessageAt", now_ms)?;
        self.streams.insert(
            message.id,
            StreamHandle {
                message: obj,
                text: None,
                parts: parts_state,
                bytes,
                status,
            },
        );
        Ok(())
    }

    /// The cached handle of a message that may be streamed into or finished.
    pub(super) fn stream_handle(&mut self, id: &MessageId) -> Result<&StreamHandle, ModelError> {
        if !self.streams.contains_key(id) {
            let message = self.entry(key::MESSAGES, "message", id.as_str())?;
            let status = self.stored_status(&message);
            let handle = match self.parts_list(&message) {
                Some(list) => {
                    let (parts, bytes) = PartsState::read(&self.doc, list);
                    StreamHandle {
                        message,
                        text: None,
                        parts,
                        bytes,
                        status,
                    }
                }
                None => {
                    let text = access::get_obj(&self.doc, &message, "content", ObjType::Text);
                    let bytes = match &text {
                        Some(text) => self.doc.text(text)?.len(),
                        None => 0,
                    };
                    StreamHandle {
                        message,
                        text,
                        parts: PartsState::default(),
                        bytes,
                        status,
                    }
                }
            };
            self.streams.insert(id.clone(), handle);
        }
        Ok(&self.streams[id])
    }

    /// The message a new variant (edit or regeneration) will stand beside, and its role.
    fn variant_source(&self, id: &MessageId) -> Result<(Node, Role), ModelError> {
        let original = self
            .tree()
            .get(id)
            .cloned()
            .ok_or_else(|| ModelError::NotFound {
                kind: "message",
                id: id.to_string(),
            })?;
        let message = self.entry(key::MESSAGES, "message", id.as_str())?;
        Ok((original, self.stored_role(&message, id)?))
    }

    pub(super) fn stored_status(&self, message: &automerge::ObjId) -> MessageStatus {
        access::get_str(&self.doc, message, "status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(MessageStatus::Complete)
    }

    fn stored_role(&self, message: &automerge::ObjId, id: &MessageId) -> Result<Role, ModelError> {
        let role = access::get_str(&self.doc, message, "role").unwrap_or_default();
        role.parse().map_err(|_| ModelError::InvalidValue {
            field: "stored role",
            value: format!("{role} (message {id})"),
            expected: "user, assistant, system or tool",
        })
    }

    /// The messages in `order`, read once and then kept up to date by local inserts. After a remote
    /// change the nodes are read again, but a message still in its place with the same map is taken
    /// as it was: parent and variant never change after insertion, and reading every message's
    /// fields again was most of a view's cost after each incoming change.
    fn nodes(&self) -> &[Node] {
        self.nodes.get_or_init(|| {
            let (Ok(order), Ok(messages)) = (
                self.container(key::ORDER, ObjType::List),
                self.container(key::MESSAGES, ObjType::Map),
            ) else {
                return Vec::new();
            };
            let doc = &self.doc;
            // Every message's map in one pass: cheaper than a lookup per message.
            let maps = access::Fields::of(doc, &messages);
            // In order, as `order` was: a node removed from it stops the reuse of those after it.
            let mut known = self.known_nodes.take().into_iter();
            doc.values(&order)
                .filter_map(|(value, _)| MessageId::new(value.as_str()?).ok())
                .filter_map(|id| {
                    let obj = maps.obj(id.as_str(), ObjType::Map)?.clone();
                    if known
                        .as_slice()
                        .first()
                        .is_some_and(|n| n.id == id && n.obj == obj)
                    {
                        return known.next();
                    }
                    let fields = access::Fields::of(doc, &obj);
                    let parent = fields.str("parentId").and_then(|p| MessageId::new(p).ok());
                    let variant_of = fields.str("variantOf").and_then(|v| MessageId::new(v).ok());
                    Some(Node {
                        id,
                        obj,
                        parent,
                        variant_of,
                    })
                })
                .collect()
        })
    }

    /// The message tree as stored.
    pub(super) fn tree(&self) -> Tree<'_> {
        let selected = match self.container(key::SELECTED, ObjType::Map) {
            Ok(obj) => self
                .doc
                .map_range(&obj, ..)
                .filter_map(|item| {
                    let member = item.value.into_value();
                    let member = MessageId::new(member.as_str()?).ok()?;
                    Some((MessageId::new(item.key.as_ref()).ok()?, member))
                })
                .collect(),
            Err(_) => Default::default(),
        };
        Tree::new(self.nodes(), selected)
    }
}
