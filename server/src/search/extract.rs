//! A thread's search rows, through the model: its title and each message on its active path (the
//! text parts; a reply being streamed has what has arrived so far), as the browser indexes them.

use chatsync_model::{ReadAt, Thread, ThreadStatus};

use super::terms::terms;
use crate::storage::{SearchEntry, SearchThread};

/// Characters of one message indexed at most: a pasted book is found by its first pages, and one
/// row stays a bounded amount of work for the database.
const MAX_TEXT_CHARS: usize = 100_000;

/// The rows of `thread` at `now`. A deleted thread has none (the trash itself is the index's, and
/// the search leaves out what the index has in the trash).
pub(crate) fn search_rows(thread: &Thread, now: u64) -> SearchThread {
    let view = thread.view(ReadAt::new(now));
    let mut rows = SearchThread {
        thread_id: view.id.to_string(),
        title: clean(&view.title),
        project_id: view.project_id.clone(),
        archived: view.status == ThreadStatus::Archived,
        created_at: view.created_at,
        entries: Vec::new(),
    };
    if view.status == ThreadStatus::Deleted {
        return rows;
    }
    rows.entries
        .push(entry(None, None, view.created_at, &rows.title));
    for message in &view.messages {
        rows.entries.push(entry(
            Some(message.id.to_string()),
            Some(message.role.as_str().to_owned()),
            message.created_at,
            &clean(&message.content),
        ));
    }
    rows.entries.retain(|e| !e.terms.is_empty());
    rows
}

fn entry(message_id: Option<String>, role: Option<String>, at: u64, text: &str) -> SearchEntry {
    let words = terms(text, false);
    SearchEntry {
        message_id,
        role,
        created_at: at,
        text: text.to_owned(),
        terms: words.join(" "),
    }
}

/// The text as stored for search: bounded, and without NUL (PostgreSQL's `text` refuses it).
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '\0')
        .take(MAX_TEXT_CHARS)
        .collect()
}
