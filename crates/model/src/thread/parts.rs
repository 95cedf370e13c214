//! A message's ordered parts — text and reasoning that stream, tool calls, files, sources, data and
//! step boundaries — as the AI SDK's `UIMessage` has them.
//!
//! Layout: a message written by this schema holds `parts`, a list of maps, each with a `type` and
//! its fields; text and reasoning parts keep their text in an Automerge `Text` of their own (`text`),
//! so two devices streaming into two parts of one message never interleave. The message's `content`
//! is the concatenation of its text parts, computed when read. A message written before parts
//! existed (schema 2) has no `parts` list: its `content` `Text` reads as its one text part, and only
//! plain deltas stream into it.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue};

use super::{StreamHandle, Thread};
use crate::{Json, Limits, MessageId, MessageStatus, ModelError, PartId, ToolCallId, access, json};

/// The most parts one message may have: a bound on what one hostile stream can make every device
/// load.
pub const MAX_PARTS: usize = 10_000;

/// Keys and `type` values of a stored part.
pub(crate) mod part_key {
    pub const PARTS: &str = "parts";
    pub const TYPE: &str = "type";
    pub const ID: &str = "id";
    pub const TEXT: &str = "text";
    pub const TOOL_CALL_ID: &str = "toolCallId";
    pub const DATA: &str = "data";
    pub const TYPE_TEXT: &str = "text";
    pub const TYPE_REASONING: &str = "reasoning";
    pub const TYPE_TOOL: &str = "tool";
    pub const TYPE_FILE: &str = "file";
    pub const TYPE_SOURCE_URL: &str = "source-url";
    pub const TYPE_SOURCE_DOCUMENT: &str = "source-document";
    pub const TYPE_STEP_START: &str = "step-start";
    /// Data parts' types start with this (`data-weather`), as in the AI SDK.
    pub const DATA_PREFIX: &str = "data-";
}
use part_key as k;

/// A part to add to a message. Tool parts are not among these: starting a tool call
/// ([`Thread::start_tool_call`]) adds its part to the message that made it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum NewPart {
    /// Text that may stream on ([`Thread::append_part_delta`]).
    Text {
        /// Its id, for deltas that target it; unique among the message's parts.
        id: Option<PartId>,
        /// Initial text.
        text: String,
    },
    /// The model's reasoning, streaming like text; not part of `content`.
    Reasoning {
        /// Its id, for deltas that target it.
        id: Option<PartId>,
        /// Initial text.
        text: String,
    },
    /// An attachment.
    File(FilePart),
    /// A web source the reply cites.
    SourceUrl {
        /// The source's id (the provider's).
        source_id: String,
        /// Where it is.
        url: String,
        /// Its title.
        title: Option<String>,
    },
    /// A document the reply cites.
    SourceDocument {
        /// The source's id.
        source_id: String,
        /// Its IANA media type.
        media_type: String,
        /// Its title.
        title: String,
        /// Its file name.
        filename: Option<String>,
    },
    /// Application data (`data-<name>`). A data part with the same type and `id` as one the message
    /// has replaces that one's data, in its place (the AI SDK's reconciliation).
    Data {
        /// `data-<name>`.
        data_type: String,
        /// Its id, for replacement.
        id: Option<String>,
        /// The value.
        data: Json,
    },
    /// A step boundary of a multi-step reply.
    StepStart,
}

/// An attached file: stored by URL (an `https:` or `data:` URL) or by a reference the application
/// resolves (a blob id, an object-store key), exactly one of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilePart {
    /// Where the file is.
    pub url: Option<String>,
    /// The application's reference to it.
    pub reference: Option<String>,
    /// Its IANA media type (`image/png`).
    pub media_type: String,
    /// Its file name.
    pub filename: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
}

impl NewPart {
    /// Checks the part against the limits; the bytes of text it adds to the message.
    pub(crate) fn check(&self, limits: &Limits) -> Result<usize, ModelError> {
        match self {
            Self::Text { text, .. } | Self::Reasoning { text, .. } => Ok(text.len()),
            Self::File(file) => {
                if file.url.is_some() == file.reference.is_some() {
                    return Err(ModelError::InvalidValue {
                        field: "file part",
                        value: String::new(),
                        expected: "exactly one of `url` and `reference`",
                    });
                }
                // A `data:` URL holds the file itself: bounded like content.
                if let Some(url) = &file.url {
                    limits.content("file url", url.len())?;
                }
                for text in [&file.reference, &file.filename].into_iter().flatten() {
                    limits.short("file reference or name", text)?;
                }
                not_empty("media type", &file.media_type)?;
                limits.short("media type", &file.media_type)?;
                Ok(0)
            }
            Self::SourceUrl {
                source_id,
                url,
                title,
            } => {
                for text in [Some(source_id), Some(url), title.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    limits.short("source", text)?;
                }
                Ok(0)
            }
            Self::SourceDocument {
                source_id,
                media_type,
                title,
                filename,
            } => {
                not_empty("media type", media_type)?;
                for text in [
                    Some(source_id),
                    Some(media_type),
                    Some(title),
                    filename.as_ref(),
                ]
                .into_iter()
                .flatten()
                {
                    limits.short("source", text)?;
                }
                Ok(0)
            }
            Self::Data {
                data_type,
                id,
                data,
            } => {
                let name = data_type.strip_prefix(k::DATA_PREFIX).unwrap_or_default();
                if name.is_empty() {
                    return Err(ModelError::InvalidValue {
                        field: "data part type",
                        value: data_type.chars().take(64).collect(),
                        expected: "`data-` and a name",
                    });
                }
                limits.short("data part type", data_type)?;
                if let Some(id) = id {
                    limits.short("data part id", id)?;
                }
                json::encode("data part", data, limits)?;
                Ok(0)
            }
            Self::StepStart => Ok(0),
        }
    }

    fn stream_id(&self) -> Option<&PartId> {
        match self {
            Self::Text { id, .. } | Self::Reasoning { id, .. } => id.as_ref(),
            _ => None,
        }
    }
}

fn not_empty(field: &'static str, value: &str) -> Result<(), ModelError> {
    if value.is_empty() {
        return Err(ModelError::InvalidValue {
            field,
            value: String::new(),
            expected: "a non-empty string",
        });
    }
    Ok(())
}

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

/// Writes `part` at the end of `list`; the `Text` of a text or reasoning part.
pub(super) fn write_part(
    doc: &mut automerge::AutoCommit,
    list: &ObjId,
    part: &NewPart,
) -> Result<Option<ObjId>, ModelError> {
    let obj = doc.insert_object(list, doc.length(list), ObjType::Map)?;
    let put_opt = |doc: &mut automerge::AutoCommit, key: &str, value: &Option<String>| {
        access::put_opt(doc, &obj, key, value.as_deref())
    };
    match part {
        NewPart::Text { id, text } | NewPart::Reasoning { id, text } => {
            let ty = if matches!(part, NewPart::Text { .. }) {
                k::TYPE_TEXT
            } else {
                k::TYPE_REASONING
            };
            doc.put(&obj, k::TYPE, ty)?;
            access::put_opt(doc, &obj, k::ID, id.as_ref().map(|i| i.as_str()))?;
            return access::put_text(doc, &obj, k::TEXT, text).map(Some);
        }
        NewPart::File(file) => {
            doc.put(&obj, k::TYPE, k::TYPE_FILE)?;
            doc.put(&obj, "mediaType", file.media_type.as_str())?;
            put_opt(doc, "url", &file.url)?;
            put_opt(doc, "reference", &file.reference)?;
            put_opt(doc, "filename", &file.filename)?;
            access::put_opt(doc, &obj, "size", file.size.map(ScalarValue::Uint))?;
        }
        NewPart::SourceUrl {
            source_id,
            url,
            title,
        } => {
            doc.put(&obj, k::TYPE, k::TYPE_SOURCE_URL)?;
            doc.put(&obj, "sourceId", source_id.as_str())?;
            doc.put(&obj, "url", url.as_str())?;
            put_opt(doc, "title", title)?;
        }
        NewPart::SourceDocument {
            source_id,
            media_type,
            title,
            filename,
        } => {
            doc.put(&obj, k::TYPE, k::TYPE_SOURCE_DOCUMENT)?;
            doc.put(&obj, "sourceId", source_id.as_str())?;
            doc.put(&obj, "mediaType", media_type.as_str())?;
            doc.put(&obj, "title", title.as_str())?;
            put_opt(doc, "filename", filename)?;
        }
        NewPart::Data {
            data_type,
            id,
            data,
        } => {
            doc.put(&obj, k::TYPE, data_type.as_str())?;
            put_opt(doc, k::ID, id)?;
            doc.put(&obj, k::DATA, data.as_text())?;
        }
        NewPart::StepStart => {
            doc.put(&obj, k::TYPE, k::TYPE_STEP_START)?;
        }
    }
    Ok(None)
}

/// Checks a new message's parts together: limits, ids unique, at most [`MAX_PARTS`]; the bytes of
/// text they hold.
pub(super) fn check_all(parts: &[NewPart], limits: &Limits) -> Result<usize, ModelError> {
    if parts.len() > MAX_PARTS {
        return Err(ModelError::TooLarge {
            field: "message parts",
            limit: MAX_PARTS,
            actual: parts.len(),
        });
    }
    let mut bytes = 0;
    for (i, part) in parts.iter().enumerate() {
        bytes += part.check(limits)?;
        if let Some(id) = part.stream_id()
            && parts[..i].iter().any(|p| p.stream_id() == Some(id))
        {
            return Err(ModelError::AlreadyExists {
                kind: "part",
                id: id.to_string(),
            });
        }
    }
    Ok(bytes)
}
