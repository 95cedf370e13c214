//! Projects: a user's folders of threads, kept in their [`Index`](crate::Index) (see
//! [`Index::create_project`](crate::Index::create_project)). They change through a
//! [`Patch`](crate::Patch) of [`PROJECT_FIELDS`](crate::PROJECT_FIELDS).

use serde::Serialize;

use crate::{FieldValues, ProjectId};

/// A project as a UI shows it, with its threads counted from the index. JSON: `id`, `name`, the
/// other [`PROJECT_FIELDS`](crate::PROJECT_FIELDS) that are set (`description`, `path`, `type`,
/// `framework`, `language`, `status`, `lastOpened`, `settings`, `metadata`), `archived`, `createdAt`,
/// `updatedAt`, `threadCount` and `lastActivityAt` when it has threads.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// Its id.
    pub id: ProjectId,
    /// Its name.
    pub name: String,
    /// The other fields of [`PROJECT_FIELDS`](crate::PROJECT_FIELDS) that are set, but `archived`.
    #[serde(flatten)]
    pub fields: FieldValues,
    /// Hidden from [`Index::list_projects`](crate::Index::list_projects) unless asked for.
    pub archived: bool,
    /// Creation time, ms.
    pub created_at: u64,
    /// Latest change, ms.
    pub updated_at: u64,
    /// Threads in the project, out of the trash (archived ones included).
    pub thread_count: u64,
    /// The latest activity of those threads, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<u64>,
}
