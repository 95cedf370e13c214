-- The heads of what is stored (32-byte hashes, concatenated), so a peer that has nothing can be sent
-- the stored bytes without loading the document first. Empty for rows written before this column.
ALTER TABLE documents ADD COLUMN heads BLOB NOT NULL DEFAULT x'';
