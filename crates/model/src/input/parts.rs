//! The argument shapes of parts and of the writes that take them: a part (`{ type, … }`, the AI
//! SDK's part shapes), `appendMessage`'s argument with a caller's `id` and `parts`, and
//! `finishMessage`'s with `finishReason` and `error`.

use super::{Fields, FromFields, InputError, MessageEndInput, NewMessageInput, Source};
use crate::{
    FilePart, FinishDetails, MessageEnd, MessageId, ModelError, NewMessage, NewPart, PartId,
};

/// One part (`{ type: "text", id?, text? }`, `{ type: "file", mediaType, url? | reference?, … }`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct PartInput(pub NewPart);

/// `appendMessage`'s argument with the fields of ordered parts: `id` (the caller's; a duplicate is
/// `already_exists`, a malformed one `invalid_input`) and `parts`.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendMessageInput {
    /// The caller's id for the message.
    pub id: Option<String>,
    /// The rest of the message.
    pub message: NewMessageInput,
    /// Its parts.
    pub parts: Vec<NewPart>,
}

impl AppendMessageInput {
    /// The model's message; `new_id` names it when the caller did not.
    pub fn into_model(self, new_id: impl FnOnce() -> String) -> Result<NewMessage, InputError> {
        let id = MessageId::new(self.id.unwrap_or_else(new_id))?;
        let mut message = self.message.into_model(id)?;
        message.parts = self.parts;
        Ok(message)
    }
}

/// `finishMessage`'s argument with the AI SDK's `finishReason` and an error's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishMessageInput {
    /// Status and usage.
    pub end: MessageEndInput,
    /// `finishReason`.
    pub finish_reason: Option<String>,
    /// `error`.
    pub error: Option<String>,
}

impl FinishMessageInput {
    /// The model's end and details.
    pub fn into_model(self) -> (MessageEnd, FinishDetails) {
        (
            self.end.into_model(),
            FinishDetails {
                finish_reason: self.finish_reason,
                error: self.error,
            },
        )
    }
}

impl FromFields for AppendMessageInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            id: f.string("id")?,
            message: NewMessageInput::read(f)?,
            parts: f
                .list::<PartInput>("parts")?
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.0)
                .collect(),
        })
    }
}

impl FromFields for FinishMessageInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        Ok(Self {
            end: MessageEndInput::read(f)?,
            finish_reason: f.string("finishReason")?,
            error: f.string("error")?,
        })
    }
}

impl FromFields for PartInput {
    fn read<S: Source>(f: &mut Fields<'_, S>) -> Result<Self, InputError> {
        let ty = f.required_string("type")?;
        let part_id = |f: &mut Fields<'_, S>| -> Result<Option<PartId>, InputError> {
            Ok(f.string("id")?.map(PartId::new).transpose()?)
        };
        let part = match ty.as_str() {
            "text" => NewPart::Text {
                id: part_id(f)?,
                text: f.string("text")?.unwrap_or_default(),
            },
            "reasoning" => NewPart::Reasoning {
                id: part_id(f)?,
                text: f.string("text")?.unwrap_or_default(),
            },
            "file" => NewPart::File(FilePart {
                url: f.string("url")?,
                reference: f.string("reference")?,
                media_type: f.required_string("mediaType")?,
                filename: f.string("filename")?,
                size: f.uint("size")?,
            }),
            "source-url" => NewPart::SourceUrl {
                source_id: f.required_string("sourceId")?,
                url: f.required_string("url")?,
                title: f.string("title")?,
            },
            "source-document" => NewPart::SourceDocument {
                source_id: f.required_string("sourceId")?,
                media_type: f.required_string("mediaType")?,
                title: f.required_string("title")?,
                filename: f.string("filename")?,
            },
            "step-start" => NewPart::StepStart,
            data if data.starts_with("data-") => NewPart::Data {
                data_type: ty.clone(),
                id: f.string("id")?,
                data: f
                    .json("data")?
                    .ok_or_else(|| InputError::Missing("data".into()))?,
            },
            other => {
                return Err(ModelError::InvalidValue {
                    field: "part type",
                    value: other.chars().take(64).collect(),
                    expected: "text, reasoning, file, source-url, source-document, step-start or \
                               data-<name> (tool parts come from starting a tool call)",
                }
                .into());
            }
        };
        Ok(Self(part))
    }
}
