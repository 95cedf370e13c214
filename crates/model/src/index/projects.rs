//! The user's projects in their index. A deleted project keeps only a tombstone; the threads that
//! were in it read as in no project (their own `projectId` need not be rewritten, and a thread moved
//! into it concurrently with the deletion ends up in no project too).

use automerge::ReadDoc;

use super::Index;
use super::record::Record;
use crate::patch::{FieldValue, PROJECT_FIELDS, Patch, PatchTarget};
use crate::project::Project;
use crate::sorted::sorted;
use crate::{ModelError, ProjectId};

/// Projects' keys are `~project:<id>/<field>`.
const PREFIX: &str = "~project:";
/// Just after every project key (`;` follows `:`).
const END: &str = "~project;";
const TOMBSTONE: &str = "deleted";

fn prefix(id: &ProjectId) -> String {
    format!("{PREFIX}{id}")
}

fn not_found(id: &ProjectId) -> ModelError {
    ModelError::NotFound {
        kind: "project",
        id: id.to_string(),
    }
}

impl Index {
    /// Creates a project from a [`PatchTarget::Project`] patch, which must name it. Refused for an
    /// id in use, or of a deleted project (ids are never reused).
    pub fn create_project(
        &mut self,
        id: &ProjectId,
        fields: &Patch,
        now_ms: u64,
    ) -> Result<Project, ModelError> {
        if !matches!(fields.get("name"), Some(Some(_))) {
            return Err(ModelError::InvalidValue {
                field: "name",
                value: String::new(),
                expected: "a project name",
            });
        }
        if !Record::read(&self.doc, &prefix(id)).is_empty() {
            return Err(ModelError::AlreadyExists {
                kind: "project",
                id: id.to_string(),
            });
        }
        self.write_project(id, fields, Some(now_ms), now_ms)
    }

    /// Changes the fields a [`PatchTarget::Project`] patch names. Refused for an unknown or deleted
    /// project, and for clearing its name.
    pub fn update_project(
        &mut self,
        id: &ProjectId,
        fields: &Patch,
        now_ms: u64,
    ) -> Result<Project, ModelError> {
        if !self.has_project(id) {
            return Err(not_found(id));
        }
        if fields.get("name") == Some(&None) {
            return Err(ModelError::InvalidValue {
                field: "name",
                value: "null".into(),
                expected: "a project name",
            });
        }
        self.write_project(id, fields, None, now_ms)
    }

    /// Archives a project: hidden from [`Index::list_projects`] unless asked for; its threads stay.
    pub fn archive_project(&mut self, id: &ProjectId, now_ms: u64) -> Result<Project, ModelError> {
        let mut patch = Patch::new(PatchTarget::Project);
        patch.set("archived", Some(FieldValue::Bool(true)))?;
        self.update_project(id, &patch, now_ms)
    }

    /// Deletes a project for good, leaving a tombstone; its threads keep working, in no project.
    pub fn delete_project(&mut self, id: &ProjectId, now_ms: u64) -> Result<(), ModelError> {
        if !self.has_project(id) {
            return Err(not_found(id));
        }
        self.begin_write(now_ms)?;
        let prefix = prefix(id);
        self.erase_record(&prefix, TOMBSTONE)?;
        self.put(&format!("{prefix}/{TOMBSTONE}"), Some(true.into()))
    }

    fn write_project(
        &mut self,
        id: &ProjectId,
        fields: &Patch,
        created_at: Option<u64>,
        now_ms: u64,
    ) -> Result<Project, ModelError> {
        let prefix = prefix(id);
        self.write_patch(&prefix, PatchTarget::Project, fields, now_ms)?;
        if let Some(at) = created_at {
            self.put(&format!("{prefix}/createdAt"), Some(at.into()))?;
        }
        self.put(&format!("{prefix}/updatedAt"), Some(now_ms.into()))?;
        self.project(id).ok_or_else(|| not_found(id))
    }

    /// Whether the project exists (not deleted): cheaper than [`Index::project`], which counts its
    /// threads.
    pub fn has_project(&self, id: &ProjectId) -> bool {
        let r = Record::read(&self.doc, &prefix(id));
        r.bool(TOMBSTONE) != Some(true) && r.get("name").is_some()
    }

    /// A project that exists (not deleted), with its threads counted.
    pub fn project(&self, id: &ProjectId) -> Option<Project> {
        let record = Record::read(&self.doc, &prefix(id));
        let mut project = project_from(id.clone(), &record)?;
        self.count_threads(std::slice::from_mut(&mut project));
        Some(project)
    }

    /// The projects, archived ones only when asked for, by name (ties by id).
    pub fn list_projects(&self, include_archived: bool) -> Vec<Project> {
        let mut out = Vec::new();
        for (key, record) in Record::all_in(&self.doc, PREFIX.into(), END.into()) {
            if let Some(Ok(id)) = key.strip_prefix(PREFIX).map(ProjectId::new)
                && let Some(project) = project_from(id, &record)
                && (include_archived || !project.archived)
            {
                out.push(project);
            }
        }
        self.count_threads(&mut out);
        sorted(out, &|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)))
    }

    /// A thread's project as it should show: `None` when that project was deleted. For a
    /// [`ThreadView`](crate::ThreadView), whose thread document keeps the id.
    pub fn resolve_project_id(&self, project_id: Option<String>) -> Option<String> {
        project_id.filter(|p| !self.deleted_projects().contains(p))
    }

    /// The ids of deleted projects: threads in them read as in none.
    pub(super) fn deleted_projects(&self) -> Vec<String> {
        let mut out = Vec::new();
        for item in self
            .doc
            .map_range(automerge::ROOT, PREFIX.to_owned()..END.to_owned())
        {
            if let Some((id, TOMBSTONE)) = item.key[PREFIX.len()..].split_once('/') {
                out.push(id.to_owned());
            }
        }
        out
    }

    /// Fills in each project's thread count and last activity, from the threads out of the trash.
    fn count_threads(&self, projects: &mut [Project]) {
        if projects.is_empty() {
            return;
        }
        for thread in self.summaries() {
            if thread.trashed_at.is_some() {
                continue;
            }
            let Some(project) = projects
                .iter_mut()
                .find(|p| thread.project_id.as_deref() == Some(p.id.as_str()))
            else {
                continue;
            };
            project.thread_count += 1;
            let latest = project
                .last_activity_at
                .unwrap_or(0)
                .max(thread.last_activity_at);
            project.last_activity_at = Some(latest);
        }
    }
}

fn project_from(id: ProjectId, r: &Record) -> Option<Project> {
    if r.bool(TOMBSTONE) == Some(true) {
        return None;
    }
    let created_at = r.u64("createdAt").unwrap_or(0);
    Some(Project {
        name: r.str("name")?,
        fields: r.values(PROJECT_FIELDS, &["name", "archived"]),
        archived: r.bool("archived") == Some(true),
        created_at,
        updated_at: r.u64("updatedAt").unwrap_or(created_at),
        thread_count: 0,
        last_activity_at: None,
        id,
    })
}
