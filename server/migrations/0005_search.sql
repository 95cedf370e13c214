-- Full-text search of each user's threads (the HTTP API's `threads:search`): one row per title and
-- per message on a thread's active path, replaced whole when the thread changes. The terms are
-- folded by the relay (accents stripped, case folded, CJK as bigrams), so FTS5 only splits them.

-- The threads indexed, with what filters look at.
CREATE TABLE search_threads (
    owner TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    title TEXT NOT NULL,
    project_id TEXT,
    archived INTEGER NOT NULL,
    PRIMARY KEY (owner, thread_id)
);

-- The rows: `message_id` and `role` are NULL for the title.
CREATE TABLE search_entries (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    message_id TEXT,
    role TEXT,
    created_at INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX search_entries_thread ON search_entries (owner, thread_id);

-- The terms of each row, under the row's id.
CREATE VIRTUAL TABLE search_terms USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');
