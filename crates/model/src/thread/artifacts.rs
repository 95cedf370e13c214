//! Artifacts: plans, reports, code — documents the assistant produces and updates over time.

use automerge::transaction::Transactable;
use automerge::{ObjType, ScalarValue};

use super::Thread;
use crate::schema::key;
use crate::{ArtifactId, ArtifactStatus, MessageId, ModelError, access};

/// The full state of an artifact to create or update.
#[derive(Clone, Debug)]
pub struct ArtifactUpsert {
    /// Its id; a new id creates the artifact.
    pub id: ArtifactId,
    /// What it is ("plan", "report", "code", …).
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its whole content. An update is stored as a diff of the old content, so concurrent edits merge.
    pub content: String,
    /// Draft or final.
    pub status: ArtifactStatus,
    /// The message that produced this version.
    pub message_id: Option<MessageId>,
}

impl Thread {
    /// Creates the artifact at version 1, or updates it and increases its version by one. Updating with
    /// exactly the stored state changes nothing.
    pub fn upsert_artifact(&mut self, a: ArtifactUpsert, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        self.limits.short("artifact kind", &a.kind)?;
        self.limits.short("artifact title", &a.title)?;
        self.limits.content("artifact content", a.content.len())?;
        if let Some(message) = &a.message_id {
            self.entry(key::MESSAGES, "message", message.as_str())?;
        }
        let artifacts = self.container(key::ARTIFACTS, ObjType::Map)?;
        match access::get_obj(&self.doc, &artifacts, a.id.as_str(), ObjType::Map) {
            None => {
                self.touch(now_ms)?;
                let obj = self
                    .doc
                    .put_object(&artifacts, a.id.as_str(), ObjType::Map)?;
                self.doc.put(&obj, "kind", a.kind)?;
                self.doc.put(&obj, "title", a.title)?;
                access::put_text(&mut self.doc, &obj, "content", &a.content)?;
                self.doc.put(&obj, "status", a.status.as_str())?;
                // A counter, so two devices updating at once both count.
                self.doc.put(&obj, "version", ScalarValue::counter(1))?;
                self.doc.put(&obj, "createdAt", now_ms)?;
                self.doc.put(&obj, "updatedAt", now_ms)?;
                access::put_opt(
                    &mut self.doc,
                    &obj,
                    "messageId",
                    a.message_id.map(String::from),
                )?;
            }
            Some(obj) => {
                let unchanged = access::get_str(&self.doc, &obj, "kind").as_deref()
                    == Some(&a.kind)
                    && access::get_str(&self.doc, &obj, "title").as_deref() == Some(&a.title)
                    && access::get_text(&self.doc, &obj, "content").as_deref() == Some(&a.content)
                    && access::get_str(&self.doc, &obj, "status").as_deref()
                        == Some(a.status.as_str())
                    && access::get_str(&self.doc, &obj, "messageId").as_deref()
                        == a.message_id.as_ref().map(|m| m.as_str());
                if unchanged {
                    return Ok(());
                }
                self.touch(now_ms)?;
                access::put_if_changed(&mut self.doc, &obj, "kind", a.kind)?;
                access::put_if_changed(&mut self.doc, &obj, "title", a.title)?;
                match access::get_obj(&self.doc, &obj, "content", ObjType::Text) {
                    Some(text) => access::replace_text(&mut self.doc, &text, &a.content)?,
                    None => {
                        access::put_text(&mut self.doc, &obj, "content", &a.content)?;
                    }
                }
                access::put_if_changed(&mut self.doc, &obj, "status", a.status.as_str())?;
                if access::get_i64(&self.doc, &obj, "version").is_some() {
                    self.doc.increment(&obj, "version", 1)?;
                } else {
                    self.doc.put(&obj, "version", ScalarValue::counter(1))?;
                }
                self.doc.put(&obj, "updatedAt", now_ms)?;
                access::put_opt(
                    &mut self.doc,
                    &obj,
                    "messageId",
                    a.message_id.map(String::from),
                )?;
            }
        }
        Ok(())
    }
}
