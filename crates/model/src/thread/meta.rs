//! Thread metadata: title, status, project, settings.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::{Thread, ThreadInit};
use crate::schema::key;
use crate::{Index, ModelError, ProjectId, ThreadSettings, ThreadStatus, TitleSource, access};

impl Thread {
    pub(super) fn write_genesis_meta(&mut self, init: &ThreadInit) -> Result<(), ModelError> {
        let now_ms = init.now_ms;
        let title = init
            .title
            .clone()
            .map(|t| self.checked_title(t))
            .transpose()?;
        let settings = &init.settings;
        settings.validate(&self.limits)?;
        if let Some(project) = &init.project_id {
            self.limits.short("project id", project)?;
        }
        let meta = self.container(key::META, ObjType::Map)?;
        self.doc.put(&meta, "createdAt", now_ms)?;
        self.doc
            .put(&meta, "status", ThreadStatus::Active.as_str())?;
        access::put_opt(
            &mut self.doc,
            &meta,
            "projectId",
            init.project_id.as_deref(),
        )?;
        if init.local_only {
            self.doc.put(&meta, "localOnly", true)?;
        }
        if let Some(title) = title {
            self.doc.put(&meta, "title", title)?;
            self.doc
                .put(&meta, "titleSource", TitleSource::Person.as_str())?;
        }
        self.touch(now_ms)?;
        self.write_settings(settings)
    }

    fn checked_title(&self, title: String) -> Result<String, ModelError> {
        let title = title.trim().to_owned();
        if title.is_empty() {
            return Err(ModelError::InvalidValue {
                field: "title",
                value: title,
                expected: "a non-blank title",
            });
        }
        self.limits.short("title", &title)?;
        Ok(title)
    }

    /// Sets the title as a person's choice: it is never replaced by a derived one.
    pub fn set_title(&mut self, title: impl Into<String>, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let title = self.checked_title(title.into())?;
        let meta = self.container(key::META, ObjType::Map)?;
        self.touch(now_ms)?;
        access::put_if_changed(&mut self.doc, &meta, "title", title)?;
        access::put_if_changed(
            &mut self.doc,
            &meta,
            "titleSource",
            TitleSource::Person.as_str(),
        )
    }

    /// Forgets a person's title: the title is derived from the first user message again.
    pub fn clear_title(&mut self, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let meta = self.container(key::META, ObjType::Map)?;
        self.touch(now_ms)?;
        access::put_opt::<String>(&mut self.doc, &meta, "title", None)?;
        access::put_opt::<String>(&mut self.doc, &meta, "titleSource", None)
    }

    /// Archives, restores or deletes the thread. Deleting is final: a deleted thread cannot change status.
    pub fn set_status(&mut self, status: ThreadStatus, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        let current = self.status();
        if current == ThreadStatus::Deleted && status != ThreadStatus::Deleted {
            return Err(ModelError::InvalidTransition {
                kind: "thread",
                id: self.id.to_string(),
                state: current.to_string(),
                action: "change the status of",
            });
        }
        let meta = self.container(key::META, ObjType::Map)?;
        self.touch(now_ms)?;
        access::put_if_changed(&mut self.doc, &meta, "status", status.as_str())
    }

    /// Sets the brief summary shown for quick reference, or clears it with `None`.
    pub fn set_summary(&mut self, summary: Option<String>, now_ms: u64) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if let Some(text) = &summary {
            self.limits.short("summary", text)?;
        }
        let meta = self.container(key::META, ObjType::Map)?;
        self.touch(now_ms)?;
        access::put_opt(&mut self.doc, &meta, "summary", summary)
    }

    /// Whether the thread is local-only: never synced.
    pub fn local_only(&self) -> bool {
        self.container(key::META, ObjType::Map)
            .ok()
            .and_then(|meta| access::get_bool(&self.doc, &meta, "localOnly"))
            == Some(true)
    }

    /// Moves the thread into a project, or out of any with `None`. Concurrent moves settle on one
    /// project everywhere (the field is last-writer-wins).
    pub fn set_project(
        &mut self,
        project_id: Option<String>,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        if let Some(project) = &project_id {
            self.limits.short("project id", project)?;
        }
        let meta = self.container(key::META, ObjType::Map)?;
        self.touch(now_ms)?;
        access::put_opt(&mut self.doc, &meta, "projectId", project_id)
    }

    /// Moves the thread into a project of `index` (the user's), or out of any with `None`: refused
    /// for a project the index does not have (or deleted), and for a purged thread. The caller then
    /// upserts the thread's summary into the index, as after any write.
    pub fn move_to_project(
        &mut self,
        index: &Index,
        project: Option<&ProjectId>,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        if index.is_purged(&self.id) {
            return Err(ModelError::Purged {
                id: self.id.to_string(),
            });
        }
        if let Some(id) = project
            && !index.has_project(id)
        {
            return Err(ModelError::NotFound {
                kind: "project",
                id: id.to_string(),
            });
        }
        self.set_project(project.map(|p| p.to_string()), now_ms)
    }

    /// Sets the settings that are `Some` in `update`; leaves the others.
    pub fn update_settings(
        &mut self,
        update: &ThreadSettings,
        now_ms: u64,
    ) -> Result<(), ModelError> {
        self.ensure_writable()?;
        update.validate(&self.limits)?;
        self.touch(now_ms)?;
        self.write_settings(update)
    }

    fn write_settings(&mut self, s: &ThreadSettings) -> Result<(), ModelError> {
        let obj = self.container(key::SETTINGS, ObjType::Map)?;
        let doc = &mut self.doc;
        if let Some(v) = &s.provider {
            access::put_if_changed(doc, &obj, "provider", v.as_str())?;
        }
        if let Some(v) = &s.model {
            access::put_if_changed(doc, &obj, "model", v.as_str())?;
        }
        if let Some(v) = &s.system_prompt {
            access::put_if_changed(doc, &obj, "systemPrompt", v.as_str())?;
        }
        if let Some(v) = s.temperature {
            access::put_if_changed(doc, &obj, "temperature", v)?;
        }
        if let Some(v) = s.context_window {
            access::put_if_changed(doc, &obj, "contextWindow", v)?;
        }
        Ok(())
    }

    /// The thread's stored status (`active` when missing or unreadable).
    pub fn status(&self) -> ThreadStatus {
        self.container(key::META, ObjType::Map)
            .ok()
            .and_then(|meta| access::get_str(&self.doc, &meta, "status"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(ThreadStatus::Active)
    }

    /// The current settings.
    pub fn settings(&self) -> ThreadSettings {
        let Ok(obj) = self.container(key::SETTINGS, ObjType::Map) else {
            return ThreadSettings::default();
        };
        let f = access::Fields::of(&self.doc, &obj);
        ThreadSettings {
            provider: f.str("provider"),
            model: f.str("model"),
            system_prompt: f.str("systemPrompt"),
            temperature: f.f64("temperature"),
            context_window: f.u64("contextWindow"),
        }
    }
}
