-- Full-text search of each user's threads (the HTTP API's `threads:search`): one row per title and
-- per message on a thread's active path, replaced whole when the thread changes. The terms are
-- folded by the relay (accents stripped, case folded, CJK as bigrams) and stored as the lexemes of
-- a `tsvector` as they are (`array_to_tsvector`), so no text search configuration or `unaccent`
-- extension is needed, and SQLite and PostgreSQL find the same rows.

-- The threads indexed, with what filters look at.
CREATE TABLE search_threads (
    owner TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    title TEXT NOT NULL,
    project_id TEXT,
    archived BOOLEAN NOT NULL,
    PRIMARY KEY (owner, thread_id)
);

-- The rows: `message_id` and `role` are NULL for the title.
CREATE TABLE search_entries (
    id BIGSERIAL PRIMARY KEY,
    owner TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    message_id TEXT,
    role TEXT,
    created_at BIGINT NOT NULL,
    text TEXT NOT NULL,
    terms TSVECTOR NOT NULL
);
CREATE INDEX search_entries_thread ON search_entries (owner, thread_id);
CREATE INDEX search_entries_terms ON search_entries USING GIN (terms);
