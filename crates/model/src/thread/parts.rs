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

use crate::{Json, Limits, ModelError, PartId, access, json};

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

    pub(super) fn stream_id(&self) -> Option<&PartId> {
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
