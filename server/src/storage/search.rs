//! What the search table holds and how it is asked, for both storages: one row per thread title
//! and per message, each with its terms (computed by the relay, see `search::terms`), scoped to the
//! thread's owner. SQLite matches with FTS5, PostgreSQL with a `tsvector` behind a GIN index.

/// What a thread's search rows are: replaced whole each time the thread changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchThread {
    /// The thread's id (its document id).
    pub thread_id: String,
    /// Its title.
    pub title: String,
    /// Its project, if any.
    pub project_id: Option<String>,
    /// Archived threads are found only when asked for.
    pub archived: bool,
    /// Creation time, ms (the title row's `createdAt`).
    pub created_at: u64,
    /// The rows: its title and each message on its active path. None for a thread in the trash.
    pub entries: Vec<SearchEntry>,
}

/// One row: a title or a message.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchEntry {
    /// The message, or `None` for the title.
    pub message_id: Option<String>,
    /// The message's role (`None` for the title).
    pub role: Option<String>,
    /// Creation time, ms.
    pub created_at: u64,
    /// The text as written (snippets are cut from it).
    pub text: String,
    /// Its search terms, space-separated.
    pub terms: String,
}

/// A search, as storage runs it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchQuery {
    /// Folded query terms; every one must prefix a term of the row.
    pub terms: Vec<String>,
    /// Only threads of this project.
    pub project_id: Option<String>,
    /// Only messages of this role (titles have none).
    pub role: Option<String>,
    /// Only rows created at or after this time, ms.
    pub from: Option<u64>,
    /// Only rows created at or before this time, ms.
    pub to: Option<u64>,
    /// Archived threads too.
    pub include_archived: bool,
    /// Threads left out (those in the trash, which only the user's index knows).
    pub exclude_threads: Vec<String>,
    /// At most this many rows.
    pub limit: u32,
}

/// A row that matched, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchMatch {
    /// The thread.
    pub thread_id: String,
    /// The message, or `None` for the title.
    pub message_id: Option<String>,
    /// The message's role.
    pub role: Option<String>,
    /// The thread's title.
    pub title: String,
    /// Creation time, ms.
    pub created_at: u64,
    /// The text that matched.
    pub text: String,
    /// Relevance, higher is better (FTS5's BM25 negated; PostgreSQL's `ts_rank`).
    pub score: f64,
}

/// Time as the databases store it.
pub(crate) fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored time back.
pub(crate) fn unms(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
