//! Projects: a user's folders of threads, kept in their [`Index`](crate::Index) (see
//! [`Index::create_project`](crate::Index::create_project)). They change through a
//! [`Patch`](crate::Patch) of [`PROJECT_FIELDS`](crate::PROJECT_FIELDS).

use serde::{Deserialize, Serialize};

use crate::{Json, ProjectId};

/// A project as a UI shows it, with its threads counted from the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // the fields of `PROJECT_FIELDS`, and the names say the rest
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
