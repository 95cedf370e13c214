-- One row per document: who owns it and its compacted snapshot (empty until the first compaction).
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    snapshot BLOB NOT NULL,
    snapshot_bytes INTEGER NOT NULL,
    chunk_bytes INTEGER NOT NULL
);

-- Incremental changes appended since the snapshot, in order.
CREATE TABLE chunks (
    document_id TEXT NOT NULL REFERENCES documents(id),
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (document_id, seq)
);
