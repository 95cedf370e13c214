//! Writing parts into a message: adding one, streaming into one, the tool part of a call, a step
//! reset; and the cached state of a message's parts that keeps a delta O(delta).

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc};

use super::parts::{MAX_PARTS, NewPart, part_key as k, write_part};
use super::{StreamHandle, Thread};
use crate::{MessageId, MessageStatus, ModelError, PartId, ToolCallId, access};

/// What a message's parts hold, as a writer needs it: read once per message, then kept up to date.
#[derive(Clone, Debug, Default)]
pub(super) struct PartsState {
    /// The `parts` list.
    pub list: Option<ObjId>,
    /// The `Text` of the last part when it is a text part: where a plain delta goes.
    pub tail: Option<ObjId>,
    /// Text and reasoning parts with ids, for deltas that target them.
    pub targets: Vec<(PartId, ObjId)>,
    /// How many parts there are.
    pub count: usize,
}

impl PartsState {
    /// Reads the state of the `parts` list `list`, and the bytes of text it holds.
    pub(super) fn read(doc: &automerge::AutoCommit, list: ObjId) -> (Self, usize) {
        let mut state = Self {
            list: Some(list.clone()),
            ..Self::default()
        };
        let mut bytes = 0;
        for (value, part) in doc.values(&list) {
            state.count += 1;
            state.tail = None;
            if !matches!(value, automerge::Value::Object(ObjType::Map)) {
                continue;
            }
            let f = access::Fields::of(doc, &part);
            let ty = f.str(k::TYPE).unwrap_or_default();
            if ty != k::TYPE_TEXT && ty != k::TYPE_REASONING {
                continue;
            }
            let Some(text) = f.obj(k::TEXT, ObjType::Text).cloned() else {
                continue;
            };
            bytes += doc.text(&text).map_or(0, |t| t.len());
            if let Some(id) = f.str(k::ID).and_then(|id| PartId::new(id).ok()) {
                state.targets.push((id, text.clone()));
            }
            if ty == k::TYPE_TEXT {
                state.tail = Some(text);
            }
        }
        (state, bytes)
    }
}

impl Thread {
    /// Adds a part at the end of an open (`pending` or `streaming`) message, making it `streaming`.
    /// A data part with the type and id of one the message has replaces that one's data instead.
    pub fn append_part(
        &mut self,
        id: &MessageId,
        part: NewPart,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let handle = self.open_parts_handle(id, "add a part to")?;
        let added = part.check(&self.limits)?;
        self.limits
            .content("message content", handle.bytes + added)?;
        if let Some(stream_id) = part.stream_id()
            && handle.parts.targets.iter().any(|(t, _)| t == stream_id)
        {
            return Err(ModelError::AlreadyExists {
                kind: "part",
                id: stream_id.to_string(),
            });
        }
        let list = handle.parts.list.clone().ok_or_else(|| legacy(id))?;
        let replaced = match &part {
            NewPart::Data {
                data_type,
                id: Some(data_id),
                ..
            } => self.find_data_part(&list, data_type, data_id),
            _ => None,
        };
        if replaced.is_none() && handle.parts.count >= MAX_PARTS {
            return Err(ModelError::TooLarge {
                field: "message parts",
                limit: MAX_PARTS,
                actual: handle.parts.count + 1,
            });
        }
        let (message, status) = (handle.message.clone(), handle.status);
        self.touch(now_ms)?;
        if status == MessageStatus::Pending {
            self.doc
                .put(&message, "status", MessageStatus::Streaming.as_str())?;
        }
        self.doc.put(&message, "updatedAt", now_ms)?;
        if let (Some(existing), NewPart::Data { data, .. }) = (replaced, &part) {
            self.doc.put(&existing, k::DATA, data.as_text())?;
            return Ok(());
        }
        let text = write_part(&mut self.doc, &list, &part)?;
        if let Some(cached) = self.streams.get_mut(id) {
            cached.status = MessageStatus::Streaming;
            cached.bytes += added;
            cached.parts.count += 1;
            cached.parts.tail = match &part {
                NewPart::Text { .. } => text.clone(),
                _ => None,
            };
            if let (Some(stream_id), Some(text)) = (part.stream_id(), text) {
                cached.parts.targets.push((stream_id.clone(), text));
            }
        }
        Ok(())
    }

    /// Appends streamed text to the text or reasoning part `part` of an open message. O(delta), like
    /// [`Thread::append_delta`].
    pub fn append_part_delta(
        &mut self,
        id: &MessageId,
        part: &PartId,
        delta: &str,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let handle = self.open_parts_handle(id, "stream into")?;
        let text = handle
            .parts
            .targets
            .iter()
            .find(|(t, _)| t == part)
            .map(|(_, text)| text.clone())
            .ok_or_else(|| ModelError::NotFound {
                kind: "text or reasoning part",
                id: part.to_string(),
            })?;
        let new_len = handle.bytes + delta.len();
        self.limits.content("message content", new_len)?;
        if delta.is_empty() {
            return Ok(());
        }
        let (message, status) = (handle.message.clone(), handle.status);
        self.splice_delta(id, &message, status, &text, delta, new_len, now_ms)
    }

    /// Appends a plain delta to a message with parts: to its last part when that is a text part,
    /// else to a new text part at the end (after a tool call, the reply's text goes on below it).
    pub(super) fn append_delta_to_parts(
        &mut self,
        id: &MessageId,
        delta: &str,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        let handle = &self.streams[id];
        let new_len = handle.bytes + delta.len();
        self.limits.content("message content", new_len)?;
        if delta.is_empty() {
            return Ok(());
        }
        let (message, status) = (handle.message.clone(), handle.status);
        let text = match handle.parts.tail.clone() {
            Some(text) => text,
            None => {
                if handle.parts.count >= MAX_PARTS {
                    return Err(ModelError::TooLarge {
                        field: "message parts",
                        limit: MAX_PARTS,
                        actual: handle.parts.count + 1,
                    });
                }
                let list = handle.parts.list.clone().ok_or_else(|| legacy(id))?;
                let part = NewPart::Text {
                    id: None,
                    text: String::new(),
                };
                let text = write_part(&mut self.doc, &list, &part)?.ok_or_else(|| legacy(id))?;
                if let Some(cached) = self.streams.get_mut(id) {
                    cached.parts.count += 1;
                    cached.parts.tail = Some(text.clone());
                }
                text
            }
        };
        self.splice_delta(id, &message, status, &text, delta, new_len, now_ms)
    }

    #[allow(clippy::too_many_arguments)]
    fn splice_delta(
        &mut self,
        id: &MessageId,
        message: &ObjId,
        status: MessageStatus,
        text: &ObjId,
        delta: &str,
        new_len: usize,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        if status == MessageStatus::Pending {
            self.doc
                .put(message, "status", MessageStatus::Streaming.as_str())?;
        }
        let end = self.doc.length(text);
        self.doc.splice_text(text, end, 0, delta)?;
        if let Some(cached) = self.streams.get_mut(id) {
            cached.bytes = new_len;
            cached.status = MessageStatus::Streaming;
        }
        self.touch_deferred(id, now_ms);
        Ok(())
    }

    /// Removes the parts of the current step of an open message — those after its last
    /// `step-start` (all of them if it has none) — as the AI SDK's `reset-step` chunk does (a
    /// step the model retries). The thread's tool call records stay; only their parts go.
    /// Returns how many parts were removed.
    pub fn reset_step(&mut self, id: &MessageId, now_ms: u64) -> Result<usize, ModelError> {
        self.ensure_writable()?;
        let handle = self.open_parts_handle(id, "reset a step of")?;
        let list = handle.parts.list.clone().ok_or_else(|| legacy(id))?;
        let types: Vec<Option<String>> = self
            .doc
            .values(&list)
            .map(|(_, part)| access::get_str(&self.doc, &part, k::TYPE))
            .collect();
        let start = types
            .iter()
            .rposition(|t| t.as_deref() == Some(k::TYPE_STEP_START))
            .map_or(0, |i| i + 1);
        let removed = types.len() - start;
        if removed == 0 {
            return Ok(0);
        }
        self.touch(now_ms)?;
        for index in (start..types.len()).rev() {
            self.doc.delete(&list, index)?;
        }
        self.doc.put(&handle.message, "updatedAt", now_ms)?;
        // The text it held left with it: read the message's parts afresh at the next write.
        self.streams.remove(id);
        self.touched.retain(|(touched, _)| touched != id);
        Ok(removed)
    }

    /// Adds the part of a tool call just started to its message, when the message has parts.
    pub(super) fn append_tool_part(
        &mut self,
        id: &MessageId,
        call: &ToolCallId,
    ) -> Result<(), ModelError> {
        let handle = self.stream_handle(id)?;
        let Some(list) = handle.parts.list.clone() else {
            return Ok(());
        };
        let part = self
            .doc
            .insert_object(&list, self.doc.length(&list), ObjType::Map)?;
        self.doc.put(&part, k::TYPE, k::TYPE_TOOL)?;
        self.doc.put(&part, k::TOOL_CALL_ID, call.as_str())?;
        if let Some(cached) = self.streams.get_mut(id) {
            cached.parts.count += 1;
            cached.parts.tail = None;
        }
        Ok(())
    }

    /// The stream handle of an open message that has parts.
    fn open_parts_handle(
        &mut self,
        id: &MessageId,
        action: &'static str,
    ) -> Result<StreamHandle, ModelError> {
        let handle = self.stream_handle(id)?;
        if !handle.status.is_open() {
            return Err(ModelError::InvalidTransition {
                kind: "message",
                id: id.to_string(),
                state: handle.status.to_string(),
                action,
            });
        }
        if handle.parts.list.is_none() {
            return Err(legacy(id));
        }
        Ok(handle.clone())
    }

    fn find_data_part(&self, list: &ObjId, data_type: &str, data_id: &str) -> Option<ObjId> {
        self.doc.values(list).find_map(|(_, part)| {
            let f = access::Fields::of(&self.doc, &part);
            (f.str(k::TYPE).as_deref() == Some(data_type)
                && f.str(k::ID).as_deref() == Some(data_id))
            .then_some(part)
        })
    }

    /// Whether the message's parts list exists (it is absent for messages of schema 2).
    pub(super) fn parts_list(&self, message: &ObjId) -> Option<ObjId> {
        access::get_obj(&self.doc, message, k::PARTS, ObjType::List)
    }
}

/// A message of schema 2 has no parts: only plain deltas stream into it.
fn legacy(id: &MessageId) -> ModelError {
    ModelError::InvalidTransition {
        kind: "message",
        id: id.to_string(),
        state: "stored without parts (by an older chatsync)".into(),
        action: "add a part to",
    }
}
