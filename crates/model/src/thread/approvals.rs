//! Approval requests: a person decides, once, whether the agent may go on.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::Thread;
use crate::schema::key;
use crate::{ApprovalId, ApprovalStatus, MessageId, ModelError, ToolCallId, access};

/// Something the agent wants a person to approve.
#[derive(Clone, Debug)]
pub struct ApprovalRequest {
    /// Its id, new in this thread.
    pub id: ApprovalId,
    /// What kind of thing it is ("plan", "tool_call", …).
    pub kind: String,
    /// What is to be approved, as the person will read it (e.g. a plan's content).
    pub subject: String,
    /// The message that asked.
    pub message_id: Option<MessageId>,
}

/// A person's decision.
#[derive(Clone, Debug)]
pub struct ApprovalDecision {
    /// Approve (`true`) or reject.
    pub approve: bool,
    /// Who decided (a user id).
    pub decided_by: String,
    /// Why, if they said.
    pub reason: Option<String>,
}

impl Thread {
    /// Opens a pending approval request.
    pub fn request_approval(
        &mut self,
        req: ApprovalRequest,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.request_approval_for(req, None, now_ms)
    }

    /// [`Thread::request_approval`] of a tool call (the AI SDK's `tool-approval-request`): the
    /// call's part shows the approval (`approval-requested`, then `approval-responded` or
    /// `output-denied`).
    pub fn request_approval_for(
        &mut self,
        req: ApprovalRequest,
        tool_call: Option<&ToolCallId>,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if let Some(call) = tool_call {
            self.entry(key::TOOL_CALLS, "tool call", call.as_str())?;
        }
        self.limits.short("approval kind", &req.kind)?;
        self.limits.content("approval subject", req.subject.len())?;
        if let Some(message) = &req.message_id {
            self.entry(key::MESSAGES, "message", message.as_str())?;
        }
        let approvals = self.container(key::APPROVALS, ObjType::Map)?;
        if access::get_obj(&self.doc, &approvals, req.id.as_str(), ObjType::Map).is_some() {
            return Err(ModelError::AlreadyExists {
                kind: "approval",
                id: req.id.to_string(),
            });
        }
        self.touch(now_ms)?;
        let obj = self
            .doc
            .put_object(&approvals, req.id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "kind", req.kind)?;
        access::put_text(&mut self.doc, &obj, "subject", &req.subject)?;
        self.doc
            .put(&obj, "status", ApprovalStatus::Pending.as_str())?;
        self.doc.put(&obj, "requestedAt", now_ms)?;
        access::put_opt(
            &mut self.doc,
            &obj,
            "messageId",
            req.message_id.map(String::from),
        )?;
        access::put_opt(
            &mut self.doc,
            &obj,
            "toolCallId",
            tool_call.map(|c| c.as_str()),
        )?;
        Ok(())
    }

    /// Decides a pending request. A decided request cannot be decided again.
    pub fn decide_approval(
        &mut self,
        id: &ApprovalId,
        decision: ApprovalDecision,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        self.limits.short("decided by", &decision.decided_by)?;
        if let Some(reason) = &decision.reason {
            self.limits.short("reason", reason)?;
        }
        let obj = self.entry(key::APPROVALS, "approval", id.as_str())?;
        let status = self.approval_status(&obj);
        if status != ApprovalStatus::Pending {
            return Err(ModelError::InvalidTransition {
                kind: "approval",
                id: id.to_string(),
                state: status.to_string(),
                action: "decide",
            });
        }
        let status = if decision.approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        };
        self.touch(now_ms)?;
        self.doc.put(&obj, "status", status.as_str())?;
        self.doc.put(&obj, "decidedBy", decision.decided_by)?;
        self.doc.put(&obj, "decidedAt", now_ms)?;
        access::put_opt(&mut self.doc, &obj, "reason", decision.reason)?;
        Ok(())
    }

    pub(super) fn approval_status(&self, obj: &automerge::ObjId) -> ApprovalStatus {
        access::get_str(&self.doc, obj, "status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(ApprovalStatus::Pending)
    }
}
