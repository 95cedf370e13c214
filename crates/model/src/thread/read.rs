//! Reading a thread into views.

use automerge::{ObjId, ObjType};

use super::Thread;
use super::branches::{Node, Tree};
use super::read_parts::ToolIndex;
use crate::access::Fields;
use crate::schema::key;
use crate::sorted::sorted;
use crate::title::{DEFAULT_TITLE, derive_title, preview};
use crate::view::{
    ApprovalView, ArtifactView, ContextEntryView, MessageView, PartView, ReadAt, SessionView,
    TextPart, ThreadSummary, ThreadView, ToolCallView,
};
use crate::{
    ApprovalId, ApprovalStatus, ArtifactId, Feedback, MessageId, MessageStatus, Role, TitleSource,
    ToolCallId, ToolCallStatus, Usage, access, json,
};

/// The thread metadata both views show.
#[derive(Default)]
struct Meta {
    project_id: Option<String>,
    summary: Option<String>,
    local_only: bool,
    created_at: u64,
    updated_at: u64,
    last_message_at: Option<u64>,
}

impl Thread {
    /// The whole thread as a UI renders it.
    pub fn view(&self, at: ReadAt) -> ThreadView {
        let messages = self.messages(at);
        let first_user = messages.iter().find(|m| m.role == Role::User);
        let (title, title_source) = self.title_from(first_user.map(|m| m.content.as_str()));
        let meta = self.meta();
        let totals = self.totals(at.now_ms);
        ThreadView {
            id: self.id.clone(),
            schema_version: self.schema_version(),
            read_only: self.read_only(),
            title,
            title_source,
            status: self.status(),
            project_id: meta.project_id,
            created_at: meta.created_at,
            updated_at: meta.updated_at,
            last_message_at: meta.last_message_at,
            settings: self.settings(),
            summary: meta.summary,
            total_input_tokens: totals.input_tokens,
            total_output_tokens: totals.output_tokens,
            local_only: meta.local_only,
            messages,
            artifacts: self.artifacts(),
            tool_calls: self.tool_calls(),
            pending_approvals: self
                .approvals()
                .into_iter()
                .filter(|a| a.status == ApprovalStatus::Pending)
                .collect(),
            session: self.session(),
            context: self.context(at.now_ms),
        }
    }

    /// What the thread list shows for this thread. Reads only the messages and metadata, not the
    /// artifacts, tool calls and the rest a full view needs. `trashed_at` is the index's to fill.
    pub fn summary(&self, at: ReadAt) -> ThreadSummary {
        let outline = self.outline();
        let (title, _) = self.title_from(outline.first_user_content.as_deref());
        let meta = self.meta();
        let totals = self.totals(at.now_ms);
        ThreadSummary {
            preview: outline
                .last_content
                .map(|content| preview(&content))
                .unwrap_or_default(),
            message_count: outline.count,
            last_activity_at: meta
                .last_message_at
                .unwrap_or(meta.created_at)
                .max(meta.updated_at),
            id: self.id.clone(),
            title,
            status: self.status(),
            created_at: meta.created_at,
            project_id: meta.project_id,
            summary: meta.summary,
            total_input_tokens: totals.input_tokens,
            total_output_tokens: totals.output_tokens,
            trashed_at: None,
            local_only: meta.local_only,
            activity: totals.activity,
        }
    }

    fn meta(&self) -> Meta {
        let Ok(obj) = self.container(key::META, ObjType::Map) else {
            return Meta::default();
        };
        let f = Fields::of(&self.doc, &obj);
        Meta {
            project_id: f.str("projectId"),
            summary: f.str("summary"),
            local_only: f.bool("localOnly") == Some(true),
            created_at: f.u64("createdAt").unwrap_or(0),
            updated_at: f.u64("updatedAt").unwrap_or(0),
            last_message_at: f.u64("lastMessageAt"),
        }
    }

    /// The messages on the active path, in order.
    pub fn messages(&self, at: ReadAt) -> Vec<MessageView> {
        let tree = self.tree();
        let tools = self.tool_index();
        tree.active_path()
            .into_iter()
            .filter_map(|node| self.message_view(node, &tree, &tools, at))
            .collect()
    }

    /// Every message, on the active path or not, in the tree's order: the whole tree, for an export.
    pub fn all_messages(&self, at: ReadAt) -> Vec<MessageView> {
        let tree = self.tree();
        let tools = self.tool_index();
        tree.nodes()
            .iter()
            .filter_map(|node| self.message_view(node, &tree, &tools, at))
            .collect()
    }

    /// The Automerge actor that created a message (its writer, for a streamed reply): lets a reader
    /// tell a stream written on this device from one that came from elsewhere. `None` for an
    /// unknown message.
    pub fn message_author(&self, id: &MessageId) -> Option<automerge::ActorId> {
        match self.entry(key::MESSAGES, "message", id.as_str()).ok()? {
            ObjId::Id(_, actor, _) => Some(actor),
            ObjId::Root => None,
        }
    }

    /// One message, on the active path or not.
    pub fn message(&self, id: &MessageId, at: ReadAt) -> Option<MessageView> {
        let tree = self.tree();
        self.message_view(tree.get(id)?, &tree, &self.tool_index(), at)
    }

    fn message_view(
        &self,
        node: &Node,
        tree: &Tree,
        tools: &ToolIndex,
        at: ReadAt,
    ) -> Option<MessageView> {
        let doc = &self.doc;
        let f = Fields::of(doc, &node.obj);
        let role: Role = f.str("role")?.parse().ok()?;
        let created_at = f.u64("createdAt").unwrap_or(0);
        let updated_at = self
            .touched
            .iter()
            .find(|(id, _)| *id == node.id)
            .map(|(_, at)| *at)
            .or_else(|| f.u64("updatedAt"))
            .unwrap_or(created_at);
        let mut status = f
            .str("status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(MessageStatus::Complete);
        if status.is_open() && at.now_ms.saturating_sub(updated_at) > at.stale_after_ms {
            status = MessageStatus::Interrupted;
        }
        let usage = match (f.u64("inputTokens"), f.u64("outputTokens")) {
            (None, None) => None,
            (input, output) => Some(Usage {
                input_tokens: input.unwrap_or(0),
                output_tokens: output.unwrap_or(0),
            }),
        };
        let feedback = f
            .u64("feedbackRating")
            .and_then(|r| u8::try_from(r).ok())
            .map(|rating| Feedback {
                rating,
                text: f.str("feedbackText"),
            });
        let siblings = tree.variants(&node.id);
        let (parts, content) = match self.read_parts(&f, status.is_open(), tools) {
            Some(read) => read,
            None => {
                // Stored before parts existed: the content is its one text part.
                let content = f.text("content").unwrap_or_default();
                let parts = if content.is_empty() {
                    Vec::new()
                } else {
                    vec![PartView::Text(TextPart {
                        id: None,
                        text: content.clone(),
                        streaming: status.is_open(),
                    })]
                };
                (parts, content)
            }
        };
        Some(MessageView {
            id: node.id.clone(),
            role,
            content,
            parts,
            status,
            finish_reason: f.str("finishReason"),
            error: f.str("error"),
            parent_id: node.parent.clone(),
            created_at,
            updated_at,
            provider: f.str("provider"),
            model: f.str("model"),
            usage,
            metadata: f.str("metadata").map(json::decode),
            feedback,
            sibling_index: siblings.iter().position(|s| *s == node.id).unwrap_or(0),
            siblings,
        })
    }

    /// The title to show: a person's, else derived from the first user message on the active path, else
    /// "New conversation".
    pub fn title(&self) -> (String, TitleSource) {
        self.title_from(self.outline().first_user_content.as_deref())
    }

    /// What a summary needs of the active path, without reading every message's content: a stream
    /// flushes a summary to the index every 250 ms, and a long thread's contents are most of its size.
    fn outline(&self) -> Outline {
        let mut outline = Outline::default();
        let tree = self.tree();
        let mut last = None;
        for node in tree.active_path() {
            let f = Fields::of(&self.doc, &node.obj);
            // The same messages `messages()` shows: those with a role this build knows.
            let Some(role) = f.str("role").and_then(|r| r.parse::<Role>().ok()) else {
                continue;
            };
            outline.count += 1;
            if role == Role::User && outline.first_user_content.is_none() {
                outline.first_user_content = Some(self.content_of(&f));
            }
            last = Some(&node.obj);
        }
        outline.last_content = last.map(|obj| self.content_of(&Fields::of(&self.doc, obj)));
        outline
    }

    fn title_from(&self, first_user_content: Option<&str>) -> (String, TitleSource) {
        let meta = self.container(key::META, ObjType::Map).ok();
        let person = meta.as_ref().and_then(|m| {
            let source = access::get_str(&self.doc, m, "titleSource")?;
            (source == TitleSource::Person.as_str())
                .then(|| access::get_str(&self.doc, m, "title"))?
        });
        if let Some(title) = person {
            return (title, TitleSource::Person);
        }
        first_user_content
            .and_then(derive_title)
            .map(|t| (t, TitleSource::Derived))
            .unwrap_or_else(|| (DEFAULT_TITLE.to_owned(), TitleSource::Default))
    }

    /// Every artifact, oldest first.
    pub fn artifacts(&self) -> Vec<ArtifactView> {
        let out: Vec<ArtifactView> = self
            .entries(key::ARTIFACTS)
            .into_iter()
            .filter_map(|(id, f)| {
                let created_at = f.u64("createdAt").unwrap_or(0);
                Some(ArtifactView {
                    id: ArtifactId::new(id).ok()?,
                    kind: f.str("kind").unwrap_or_default(),
                    title: f.str("title").unwrap_or_default(),
                    content: f.text("content").unwrap_or_default(),
                    status: f
                        .str("status")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(crate::ArtifactStatus::Draft),
                    version: f.u64("version").unwrap_or(1),
                    created_at,
                    updated_at: f.u64("updatedAt").unwrap_or(created_at),
                    message_id: f.str("messageId").and_then(|m| MessageId::new(m).ok()),
                })
            })
            .collect();
        sorted(out, &|a, b| {
            (a.created_at, &a.id).cmp(&(b.created_at, &b.id))
        })
    }

    /// Every tool call, oldest first.
    pub fn tool_calls(&self) -> Vec<ToolCallView> {
        let out: Vec<ToolCallView> = self
            .entries(key::TOOL_CALLS)
            .into_iter()
            .filter_map(|(id, f)| {
                Some(ToolCallView {
                    id: ToolCallId::new(id).ok()?,
                    message_id: MessageId::new(f.str("messageId")?).ok()?,
                    tool_name: f.str("toolName").unwrap_or_default(),
                    provider_call_id: f.str("providerCallId"),
                    input: f.str("input").map(json::decode).unwrap_or_default(),
                    output: f.str("output").map(json::decode),
                    status: f
                        .str("status")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(ToolCallStatus::Failed),
                    started_at: f.u64("startedAt").unwrap_or(0),
                    completed_at: f.u64("completedAt"),
                    duration_ms: f.u64("durationMs"),
                    error: f.str("error"),
                })
            })
            .collect();
        sorted(out, &|a, b| {
            (a.started_at, &a.id).cmp(&(b.started_at, &b.id))
        })
    }

    /// Every approval request, decided or not, oldest first.
    pub fn approvals(&self) -> Vec<ApprovalView> {
        let out: Vec<ApprovalView> = self
            .entries(key::APPROVALS)
            .into_iter()
            .filter_map(|(id, f)| {
                Some(ApprovalView {
                    id: ApprovalId::new(id).ok()?,
                    kind: f.str("kind").unwrap_or_default(),
                    subject: f.text("subject").unwrap_or_default(),
                    status: f
                        .str("status")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(ApprovalStatus::Pending),
                    message_id: f.str("messageId").and_then(|m| MessageId::new(m).ok()),
                    tool_call_id: f.str("toolCallId").and_then(|c| ToolCallId::new(c).ok()),
                    requested_at: f.u64("requestedAt").unwrap_or(0),
                    decided_by: f.str("decidedBy"),
                    decided_at: f.u64("decidedAt"),
                    reason: f.str("reason"),
                })
            })
            .collect();
        sorted(out, &|a, b| {
            (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id))
        })
    }

    /// The agent session state, if one was stored.
    pub fn session(&self) -> Option<SessionView> {
        let obj = self.container(key::SESSION, ObjType::Map).ok()?;
        let doc = &self.doc;
        Some(SessionView {
            external_id: access::get_str(doc, &obj, "externalId"),
            phase: access::get_str(doc, &obj, "phase")?,
            plan: access::get_str(doc, &obj, "plan"),
            updated_at: access::get_u64(doc, &obj, "updatedAt").unwrap_or(0),
        })
    }

    /// Context entries that have not expired at `now_ms`, highest priority first.
    pub fn context(&self, now_ms: u64) -> Vec<ContextEntryView> {
        let out: Vec<ContextEntryView> = self
            .entries(key::CONTEXT)
            .into_iter()
            .filter_map(|(_, f)| {
                let expires_at = f.u64("expiresAt");
                if expires_at.is_some_and(|e| e <= now_ms) {
                    return None;
                }
                Some(ContextEntryView {
                    entry_type: f.str("type")?,
                    key: f.str("key")?,
                    value: f.str("value").map(json::decode).unwrap_or_default(),
                    priority: f.i64("priority").unwrap_or(0),
                    expires_at,
                })
            })
            .collect();
        sorted(out, &|a, b| {
            (b.priority, &a.entry_type, &a.key).cmp(&(a.priority, &b.entry_type, &b.key))
        })
    }

    /// The entries of a top-level map container (artifacts, tool calls, …): key and fields.
    pub(super) fn entries(&self, container: &'static str) -> Vec<(String, Fields<'_>)> {
        let Ok(obj) = self.container(container, ObjType::Map) else {
            return Vec::new();
        };
        Fields::of(&self.doc, &obj)
            .objects(ObjType::Map)
            .map(|(key, entry)| (key.to_owned(), Fields::of(&self.doc, entry)))
            .collect()
    }
}

/// The active path as a summary sees it.
#[derive(Default)]
struct Outline {
    count: u64,
    first_user_content: Option<String>,
    last_content: Option<String>,
}
