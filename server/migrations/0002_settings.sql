-- Relay-wide values made once and shared by every relay on this database (storage id, index secret).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
