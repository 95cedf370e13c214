//! Reading a message's parts into [`PartView`]s, tool parts resolved against the thread's tool
//! calls and approvals.

use std::collections::HashMap;

use automerge::{ObjType, ReadDoc};

use super::Thread;
use super::parts::part_key as k;
use crate::access::Fields;
use crate::schema::key;
use crate::view::{PartView, TextPart, ToolApproval, ToolPart, ToolPartState};
use crate::{ApprovalId, ApprovalStatus, Json, PartId, ToolCallId, ToolCallStatus, json};

/// What tool parts show of the thread's tool calls and approvals, read once per view.
#[derive(Default)]
pub(super) struct ToolIndex {
    calls: HashMap<String, StoredCall>,
    /// Per tool call, its latest approval request: (requested at, id, status, reason).
    approvals: HashMap<String, (u64, ApprovalId, ApprovalStatus, Option<String>)>,
}

struct StoredCall {
    tool_name: String,
    status: ToolCallStatus,
    input: Json,
    output: Option<Json>,
    error: Option<String>,
    dynamic: bool,
    input_streaming: bool,
}

impl Thread {
    /// The tool calls and tool approvals, as parts show them.
    pub(super) fn tool_index(&self) -> ToolIndex {
        let mut index = ToolIndex::default();
        for (id, f) in self.entries(key::TOOL_CALLS) {
            index.calls.insert(
                id,
                StoredCall {
                    tool_name: f.str("toolName").unwrap_or_default(),
                    status: f
                        .str("status")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(ToolCallStatus::Failed),
                    input: f.str("input").map(json::decode).unwrap_or_default(),
                    output: f.str("output").map(json::decode),
                    error: f.str("error"),
                    dynamic: f.bool("dynamic") == Some(true),
                    input_streaming: f.bool("inputStreaming") == Some(true),
                },
            );
        }
        for (id, f) in self.entries(key::APPROVALS) {
            let (Some(call), Ok(id)) = (f.str("toolCallId"), ApprovalId::new(id)) else {
                continue;
            };
            let at = f.u64("requestedAt").unwrap_or(0);
            let status = f
                .str("status")
                .and_then(|s| s.parse().ok())
                .unwrap_or(ApprovalStatus::Pending);
            let entry = (at, id, status, f.str("reason"));
            match index.approvals.get(&call) {
                Some(existing) if (existing.0, &existing.1) >= (entry.0, &entry.1) => {}
                _ => {
                    index.approvals.insert(call, entry);
                }
            }
        }
        index
    }

    /// A message's parts and its content (the text parts joined); `None` for a message stored
    /// without parts. `open`: whether the message is still streaming.
    pub(super) fn read_parts(
        &self,
        message: &Fields<'_>,
        open: bool,
        tools: &ToolIndex,
    ) -> Option<(Vec<PartView>, String)> {
        let list = message.obj(k::PARTS, ObjType::List)?;
        let mut parts = Vec::new();
        let mut content = String::new();
        for (value, obj) in self.doc.values(list) {
            if !matches!(value, automerge::Value::Object(ObjType::Map)) {
                continue;
            }
            let f = Fields::of(&self.doc, &obj);
            let Some(part) = part_view(&f, open, tools) else {
                // A part of a type this build does not know (a newer writer's) is left out.
                continue;
            };
            if let PartView::Text(text) = &part {
                content.push_str(&text.text);
            }
            parts.push(part);
        }
        Some((parts, content))
    }
}

/// One stored part as shown; `None` for a type this build does not know.
fn part_view(f: &Fields<'_>, open: bool, tools: &ToolIndex) -> Option<PartView> {
    let ty = f.str(k::TYPE)?;
    Some(match ty.as_str() {
        k::TYPE_TEXT | k::TYPE_REASONING => {
            let text = TextPart {
                id: f.str(k::ID).and_then(|id| PartId::new(id).ok()),
                text: f.text(k::TEXT).unwrap_or_default(),
                streaming: open,
            };
            if ty == k::TYPE_TEXT {
                PartView::Text(text)
            } else {
                PartView::Reasoning(text)
            }
        }
        k::TYPE_TOOL => PartView::Tool(tool_part(f.str(k::TOOL_CALL_ID)?, tools)?),
        k::TYPE_FILE => PartView::File {
            url: f.str("url"),
            reference: f.str("reference"),
            media_type: f.str("mediaType").unwrap_or_default(),
            filename: f.str("filename"),
            size: f.u64("size"),
        },
        k::TYPE_SOURCE_URL => PartView::SourceUrl {
            source_id: f.str("sourceId").unwrap_or_default(),
            url: f.str("url").unwrap_or_default(),
            title: f.str("title"),
        },
        k::TYPE_SOURCE_DOCUMENT => PartView::SourceDocument {
            source_id: f.str("sourceId").unwrap_or_default(),
            media_type: f.str("mediaType").unwrap_or_default(),
            title: f.str("title").unwrap_or_default(),
            filename: f.str("filename"),
        },
        k::TYPE_STEP_START => PartView::StepStart,
        data if data.starts_with(k::DATA_PREFIX) => PartView::Data {
            data_type: ty.clone(),
            id: f.str(k::ID),
            data: f.str(k::DATA).map(json::decode).unwrap_or_default(),
        },
        _ => return None,
    })
}

impl Thread {
    /// The text of a message: its text parts joined, or the `content` of one stored without parts.
    /// Reads no more than the text.
    pub(super) fn content_of(&self, message: &Fields<'_>) -> String {
        let Some(list) = message.obj(k::PARTS, ObjType::List) else {
            return message.text("content").unwrap_or_default();
        };
        let mut content = String::new();
        for (_, obj) in self.doc.values(list) {
            let f = Fields::of(&self.doc, &obj);
            if f.str(k::TYPE).as_deref() == Some(k::TYPE_TEXT)
                && let Some(text) = f.text(k::TEXT)
            {
                content.push_str(&text);
            }
        }
        content
    }
}

/// A tool part: the call's state in the AI SDK's terms, from its status, its input and its
/// approval. A part whose call is unknown (not synced yet) is left out.
fn tool_part(call_id: String, tools: &ToolIndex) -> Option<ToolPart> {
    let call = tools.calls.get(&call_id)?;
    let approval = tools.approvals.get(&call_id);
    let decided = approval.and_then(|(_, _, status, _)| match status {
        ApprovalStatus::Approved => Some(true),
        ApprovalStatus::Rejected => Some(false),
        _ => None,
    });
    let state = match call.status {
        ToolCallStatus::Completed => ToolPartState::OutputAvailable,
        ToolCallStatus::Failed if decided == Some(false) => ToolPartState::OutputDenied,
        ToolCallStatus::Failed => ToolPartState::OutputError,
        _ if call.input_streaming => ToolPartState::InputStreaming,
        _ => match (approval, decided) {
            (Some(_), None) => ToolPartState::ApprovalRequested,
            (Some(_), Some(_)) => ToolPartState::ApprovalResponded,
            (None, _) => ToolPartState::InputAvailable,
        },
    };
    Some(ToolPart {
        tool_call_id: ToolCallId::new(call_id).ok()?,
        tool_name: call.tool_name.clone(),
        dynamic: call.dynamic,
        state,
        input: (state != ToolPartState::InputStreaming).then(|| call.input.clone()),
        output: (state == ToolPartState::OutputAvailable)
            .then(|| call.output.clone().unwrap_or_default()),
        error_text: (state == ToolPartState::OutputError).then(|| {
            call.error
                .clone()
                .unwrap_or_else(|| "the tool call failed".into())
        }),
        approval: approval.map(|(_, id, _, reason)| ToolApproval {
            id: id.clone(),
            approved: decided,
            reason: reason.clone(),
        }),
    })
}
