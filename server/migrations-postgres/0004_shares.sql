-- Sharing: the owner of a document grants another user read or write access to it. One row per
-- (document, grantee); a grant again replaces the access. The relay checks this table on every path
-- (sync, HTTP API) for anyone but the owner; a purged document's grants count for nothing.
CREATE TABLE shares (
    document_id TEXT NOT NULL,
    grantee TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('read', 'write')),
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (document_id, grantee)
);

-- The threads shared with a user (their list).
CREATE INDEX shares_grantee ON shares (grantee);

-- Read-only share links: a capability token names one of these rows, so a link can be revoked (and
-- expires) whatever its signature says.
CREATE TABLE share_links (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
