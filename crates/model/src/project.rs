//! Projects: a user's folders of threads, kept in their [`Index`](crate::Index) (see
//! [`Index::create_project`](crate::Index::create_project)).

use serde::{Deserialize, Serialize};

use crate::preferences::present;
use crate::{Json, Limits, ModelError, ProjectId};

/// A new project. Only the name is required.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectInit {
    /// Its id, chosen by the caller, new in this index.
    pub id: ProjectId,
    /// Its name (non-blank).
    pub name: String,
    /// What it is about.
    #[serde(default)]
    pub description: Option<String>,
    /// Where it lives (a folder, a repository).
    #[serde(default)]
    pub path: Option<String>,
    /// What kind of project it is (JSON `type`).
    #[serde(default, rename = "type")]
    pub project_type: Option<String>,
    /// Its framework.
    #[serde(default)]
    pub framework: Option<String>,
    /// Its language.
    #[serde(default)]
    pub language: Option<String>,
    /// The app's status for it ("active", "paused", …; free-form).
    #[serde(default)]
    pub status: Option<String>,
    /// When it was last opened, ms.
    #[serde(default)]
    pub last_opened: Option<u64>,
    /// Its settings: a JSON object.
    #[serde(default)]
    pub settings: Option<Json>,
    /// Application data: a JSON object.
    #[serde(default)]
    pub metadata: Option<Json>,
}

impl ProjectInit {
    /// A project with only a name.
    pub fn new(id: ProjectId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            description: None,
            path: None,
            project_type: None,
            framework: None,
            language: None,
            status: None,
            last_opened: None,
            settings: None,
            metadata: None,
        }
    }

    /// The same fields as a patch, to write through one path.
    pub(crate) fn as_patch(&self) -> ProjectPatch {
        ProjectPatch {
            name: Some(self.name.clone()),
            description: self.description.clone().map(Some),
            path: self.path.clone().map(Some),
            project_type: self.project_type.clone().map(Some),
            framework: self.framework.clone().map(Some),
            language: self.language.clone().map(Some),
            status: self.status.clone().map(Some),
            last_opened: self.last_opened.map(Some),
            settings: self.settings.clone().map(Some),
            metadata: self.metadata.clone().map(Some),
            archived: None,
        }
    }
}

/// A change to a project: `None` leaves a field, `Some(None)` (JSON `null`) clears it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)] // each field is the `Project` field of the same name
pub struct ProjectPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub path: Option<Option<String>>,
    #[serde(default, rename = "type", deserialize_with = "present")]
    pub project_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub framework: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub language: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub status: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub last_opened: Option<Option<u64>>,
    #[serde(default, deserialize_with = "present")]
    pub settings: Option<Option<Json>>,
    #[serde(default, deserialize_with = "present")]
    pub metadata: Option<Option<Json>>,
    #[serde(default)]
    pub archived: Option<bool>,
}

impl ProjectPatch {
    pub(crate) fn validate(&self, limits: &Limits) -> Result<(), ModelError> {
        if let Some(name) = &self.name
            && name.trim().is_empty()
        {
            return Err(ModelError::InvalidValue {
                field: "project name",
                value: name.clone(),
                expected: "a non-blank name",
            });
        }
        let texts = [
            ("project name", self.name.as_ref()),
            (
                "project description",
                self.description.as_ref().and_then(|d| d.as_ref()),
            ),
            ("project path", self.path.as_ref().and_then(|d| d.as_ref())),
            (
                "project type",
                self.project_type.as_ref().and_then(|d| d.as_ref()),
            ),
            (
                "project framework",
                self.framework.as_ref().and_then(|d| d.as_ref()),
            ),
            (
                "project language",
                self.language.as_ref().and_then(|d| d.as_ref()),
            ),
            (
                "project status",
                self.status.as_ref().and_then(|d| d.as_ref()),
            ),
        ];
        for (field, text) in texts {
            if let Some(text) = text {
                limits.short(field, text)?;
            }
        }
        if let Some(Some(json)) = &self.settings {
            crate::json::encode_object("project settings", json, limits)?;
        }
        if let Some(Some(json)) = &self.metadata {
            crate::json::encode_object("project metadata", json, limits)?;
        }
        Ok(())
    }
}

/// A project as a UI shows it, with its threads counted from the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // the fields of `ProjectInit`, and the names say the rest
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub project_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_opened: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Json>,
    /// Hidden from [`Index::list_projects`](crate::Index::list_projects) unless asked for.
    pub archived: bool,
    pub created_at: u64,
    pub updated_at: u64,
    /// Threads in the project, out of the trash (archived ones included).
    pub thread_count: u64,
    /// The latest activity of those threads, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<u64>,
}
