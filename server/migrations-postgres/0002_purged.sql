-- A purged document keeps only this row, emptied (no snapshot, no chunks, no heads), as a tombstone:
-- appends to it are refused (by the same statement that would store them, so a purge committed first
-- wins over any relay's append), and its owner stays recorded, so nobody else can claim the id.
ALTER TABLE documents ADD COLUMN purged BOOLEAN NOT NULL DEFAULT FALSE;

-- The retention sweep walks the users who own documents, a page at a time.
CREATE INDEX documents_owner ON documents (owner);
