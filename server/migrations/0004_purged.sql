-- A purged document keeps only this row, emptied (no snapshot, no chunks, no heads), as a tombstone:
-- appends to it are refused, so a device still holding the document cannot bring it back, and its
-- owner stays recorded, so nobody else can claim the id.
ALTER TABLE documents ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;

-- The retention sweep walks the users who own documents, a page at a time.
CREATE INDEX documents_owner ON documents (owner);
