//! A message's parts as a UI renders them, in the AI SDK's `UIMessage` part shapes (`type`, then
//! the part's fields, camelCase), so a `MessageView`'s `parts` can be handed to `useChat` as they
//! are. Re-exported from [`view`](crate::view).

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::{ApprovalId, Json, PartId, ToolCallId};

/// One part of a message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PartView {
    /// Text (`type: "text"`).
    Text(TextPart),
    /// Reasoning (`type: "reasoning"`).
    Reasoning(TextPart),
    /// A tool call (`type: "tool-<name>"`, or `"dynamic-tool"` with `toolName`).
    Tool(ToolPart),
    /// A file (`type: "file"`).
    File {
        /// Its URL; absent when it is stored by reference.
        url: Option<String>,
        /// The application's reference to it.
        reference: Option<String>,
        /// Its media type.
        media_type: String,
        /// Its file name.
        filename: Option<String>,
        /// Its size in bytes.
        size: Option<u64>,
    },
    /// A web source (`type: "source-url"`).
    SourceUrl {
        /// The source's id.
        source_id: String,
        /// Its URL.
        url: String,
        /// Its title.
        title: Option<String>,
    },
    /// A document source (`type: "source-document"`).
    SourceDocument {
        /// The source's id.
        source_id: String,
        /// Its media type.
        media_type: String,
        /// Its title.
        title: String,
        /// Its file name.
        filename: Option<String>,
    },
    /// Application data (`type: "data-<name>"`).
    Data {
        /// `data-<name>`.
        data_type: String,
        /// Its id.
        id: Option<String>,
        /// The value.
        data: Json,
    },
    /// A step boundary (`type: "step-start"`).
    StepStart,
}

/// A text or reasoning part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPart {
    /// Its id, when it was given one (deltas target it).
    pub id: Option<PartId>,
    /// Its text.
    pub text: String,
    /// `streaming` while its message is open, else `done`.
    pub streaming: bool,
}

/// A tool call as a part: the thread's tool call, in the AI SDK's states.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolPart {
    /// The call's id in the thread's `toolCalls`.
    pub tool_call_id: ToolCallId,
    /// The tool.
    pub tool_name: String,
    /// A tool not known in advance (`dynamic-tool`).
    pub dynamic: bool,
    /// Where the call is.
    pub state: ToolPartState,
    /// Its input; absent while it streams.
    pub input: Option<Json>,
    /// Its output, once `output-available`.
    pub output: Option<Json>,
    /// Why it failed, when `output-error`.
    pub error_text: Option<String>,
    /// Its approval request, if it has one.
    pub approval: Option<ToolApproval>,
}

/// The approval of a tool call, as its part shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolApproval {
    /// The approval request's id.
    pub id: ApprovalId,
    /// The decision, once made.
    pub approved: Option<bool>,
    /// Why, if the person said.
    pub reason: Option<String>,
}

/// The AI SDK's tool part states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ToolPartState {
    /// The model is writing the input.
    InputStreaming,
    /// The input is whole; no output yet.
    InputAvailable,
    /// Waiting for a person's approval.
    ApprovalRequested,
    /// Decided, not yet run (or refused to run).
    ApprovalResponded,
    /// Ran and returned output.
    OutputAvailable,
    /// Ran and failed.
    OutputError,
    /// Not run: the person denied it.
    OutputDenied,
}

impl ToolPartState {
    /// Every state.
    pub const ALL: &'static [Self] = &[
        Self::InputStreaming,
        Self::InputAvailable,
        Self::ApprovalRequested,
        Self::ApprovalResponded,
        Self::OutputAvailable,
        Self::OutputError,
        Self::OutputDenied,
    ];

    /// The AI SDK's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InputStreaming => "input-streaming",
            Self::InputAvailable => "input-available",
            Self::ApprovalRequested => "approval-requested",
            Self::ApprovalResponded => "approval-responded",
            Self::OutputAvailable => "output-available",
            Self::OutputError => "output-error",
            Self::OutputDenied => "output-denied",
        }
    }
}

impl ToolPart {
    /// The part's `type`: `tool-<name>`, or `dynamic-tool`.
    pub fn part_type(&self) -> String {
        if self.dynamic {
            "dynamic-tool".into()
        } else {
            format!("tool-{}", self.tool_name)
        }
    }
}

impl PartView {
    /// The part's `type`, as the AI SDK names it.
    pub fn part_type(&self) -> String {
        match self {
            Self::Text(_) => "text".into(),
            Self::Reasoning(_) => "reasoning".into(),
            Self::Tool(tool) => tool.part_type(),
            Self::File { .. } => "file".into(),
            Self::SourceUrl { .. } => "source-url".into(),
            Self::SourceDocument { .. } => "source-document".into(),
            Self::Data { data_type, .. } => data_type.clone(),
            Self::StepStart => "step-start".into(),
        }
    }

    /// The part's fields beside `type`, in order, as JSON values: what both serializers write.
    pub(crate) fn fields(&self) -> Vec<(&'static str, FieldOut<'_>)> {
        use FieldOut as F;
        let mut out = Vec::new();
        fn opt<'a>(
            out: &mut Vec<(&'static str, FieldOut<'a>)>,
            key: &'static str,
            value: Option<&'a String>,
        ) {
            if let Some(v) = value {
                out.push((key, FieldOut::Str(v)));
            }
        }
        match self {
            Self::Text(t) | Self::Reasoning(t) => {
                if let Some(id) = &t.id {
                    out.push(("id", F::Str(id.as_str())));
                }
                out.push(("text", F::Str(&t.text)));
                out.push((
                    "state",
                    F::Str(if t.streaming { "streaming" } else { "done" }),
                ));
            }
            Self::Tool(tool) => {
                if tool.dynamic {
                    out.push(("toolName", F::Str(&tool.tool_name)));
                }
                out.push(("toolCallId", F::Str(tool.tool_call_id.as_str())));
                out.push(("state", F::Str(tool.state.as_str())));
                if let Some(input) = &tool.input {
                    out.push(("input", F::Json(input)));
                }
                if let Some(output) = &tool.output {
                    out.push(("output", F::Json(output)));
                }
                opt(&mut out, "errorText", tool.error_text.as_ref());
                if let Some(approval) = &tool.approval {
                    out.push(("approval", F::Approval(approval)));
                }
            }
            Self::File {
                url,
                reference,
                media_type,
                filename,
                size,
            } => {
                out.push(("mediaType", F::Str(media_type)));
                opt(&mut out, "url", url.as_ref());
                opt(&mut out, "reference", reference.as_ref());
                opt(&mut out, "filename", filename.as_ref());
                if let Some(size) = size {
                    out.push(("size", F::Uint(*size)));
                }
            }
            Self::SourceUrl {
                source_id,
                url,
                title,
            } => {
                out.push(("sourceId", F::Str(source_id)));
                out.push(("url", F::Str(url)));
                opt(&mut out, "title", title.as_ref());
            }
            Self::SourceDocument {
                source_id,
                media_type,
                title,
                filename,
            } => {
                out.push(("sourceId", F::Str(source_id)));
                out.push(("mediaType", F::Str(media_type)));
                out.push(("title", F::Str(title)));
                opt(&mut out, "filename", filename.as_ref());
            }
            Self::Data { id, data, .. } => {
                opt(&mut out, "id", id.as_ref());
                out.push(("data", F::Json(data)));
            }
            Self::StepStart => {}
        }
        out
    }
}

/// One field of a part, as written.
pub(crate) enum FieldOut<'a> {
    Str(&'a str),
    Uint(u64),
    Json(&'a Json),
    Approval(&'a ToolApproval),
}

impl Serialize for ToolApproval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", self.id.as_str())?;
        if let Some(approved) = self.approved {
            map.serialize_entry("approved", &approved)?;
        }
        if let Some(reason) = &self.reason {
            map.serialize_entry("reason", reason)?;
        }
        map.end()
    }
}

impl Serialize for PartView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &self.part_type())?;
        for (key, value) in self.fields() {
            match value {
                FieldOut::Str(s) => map.serialize_entry(key, s)?,
                FieldOut::Uint(n) => map.serialize_entry(key, &n)?,
                FieldOut::Json(j) => map.serialize_entry(key, j)?,
                FieldOut::Approval(a) => map.serialize_entry(key, a)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PartView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        part_from_value(&value).map_err(D::Error::custom)
    }
}

/// Reads a part back from its JSON (for native readers of serialized views).
fn part_from_value(v: &Value) -> Result<PartView, String> {
    let s = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let need = |key: &str| s(key).ok_or_else(|| format!("a part lacks `{key}`"));
    let json = |key: &str| v.get(key).cloned().map(Json::from);
    let ty = need("type")?;
    let text_part = || -> Result<TextPart, String> {
        Ok(TextPart {
            id: s("id")
                .map(PartId::new)
                .transpose()
                .map_err(|e| e.to_string())?,
            text: need("text")?,
            streaming: s("state").as_deref() == Some("streaming"),
        })
    };
    Ok(match ty.as_str() {
        "text" => PartView::Text(text_part()?),
        "reasoning" => PartView::Reasoning(text_part()?),
        "file" => PartView::File {
            url: s("url"),
            reference: s("reference"),
            media_type: need("mediaType")?,
            filename: s("filename"),
            size: v.get("size").and_then(Value::as_u64),
        },
        "source-url" => PartView::SourceUrl {
            source_id: need("sourceId")?,
            url: need("url")?,
            title: s("title"),
        },
        "source-document" => PartView::SourceDocument {
            source_id: need("sourceId")?,
            media_type: need("mediaType")?,
            title: need("title")?,
            filename: s("filename"),
        },
        "step-start" => PartView::StepStart,
        data if data.starts_with("data-") => PartView::Data {
            data_type: ty.clone(),
            id: s("id"),
            data: json("data").unwrap_or_default(),
        },
        tool if tool.starts_with("tool-") || tool == "dynamic-tool" => {
            let dynamic = tool == "dynamic-tool";
            let state = s("state").unwrap_or_default();
            let state = ToolPartState::ALL
                .iter()
                .copied()
                .find(|st| st.as_str() == state)
                .ok_or_else(|| format!("unknown tool part state {state:?}"))?;
            let approval = match v.get("approval") {
                Some(a) => Some(ToolApproval {
                    id: a
                        .get("id")
                        .and_then(Value::as_str)
                        .map(ApprovalId::new)
                        .transpose()
                        .map_err(|e| e.to_string())?
                        .ok_or("an approval lacks `id`")?,
                    approved: a.get("approved").and_then(Value::as_bool),
                    reason: a.get("reason").and_then(Value::as_str).map(str::to_owned),
                }),
                None => None,
            };
            PartView::Tool(ToolPart {
                tool_call_id: ToolCallId::new(need("toolCallId")?).map_err(|e| e.to_string())?,
                tool_name: if dynamic {
                    need("toolName")?
                } else {
                    tool["tool-".len()..].to_owned()
                },
                dynamic,
                state,
                input: json("input"),
                output: json("output"),
                error_text: s("errorText"),
                approval,
            })
        }
        other => return Err(format!("unknown part type {other:?}")),
    })
}
