-- The same schema ideas as SQLite's (../migrations): a snapshot plus chunks appended after it, the
-- owner, and relay-wide settings. Several relays write one database, so a document also records
-- which relay wrote its last chunk (its heads are exact only while one relay writes it) and how many
-- compactions replaced its snapshot (two relays compacting at once: the second one re-checks).

-- One row per document.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    -- The compacted document (empty until the first compaction) and its heads.
    snapshot BYTEA NOT NULL,
    snapshot_heads BYTEA NOT NULL DEFAULT ''::bytea,
    snapshot_bytes BIGINT NOT NULL,
    chunk_bytes BIGINT NOT NULL,
    -- Heads of snapshot + chunks (32-byte hashes, concatenated) when known exactly; empty otherwise.
    heads BYTEA NOT NULL DEFAULT ''::bytea,
    -- The relay process (its random id) that wrote the last chunk or compaction.
    writer TEXT NOT NULL DEFAULT '',
    -- The sequence number the next chunk gets.
    next_seq BIGINT NOT NULL DEFAULT 1,
    -- Bumped by every compaction: a compaction commits only over the snapshot it checked against.
    compactions BIGINT NOT NULL DEFAULT 0
);

-- Incremental changes appended since the snapshot, in order, each with the heads its writer had
-- after it (every change in the chunk is one of them or their ancestor): a compaction deletes a chunk
-- only once the new snapshot holds those heads.
CREATE TABLE chunks (
    document_id TEXT NOT NULL REFERENCES documents(id),
    seq BIGINT NOT NULL,
    heads BYTEA NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (document_id, seq)
);

-- Relay-wide values made once and shared by every relay on this database (storage id, index secret).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
