-- Registration forms are data: the zone's extra fields (scope 'zone') and each
-- enterprise's extra fields (scope = enterprise id), one row per version. Every
-- registration keeps the versions it was filled against.
CREATE TABLE form_templates (
    id TEXT PRIMARY KEY NOT NULL,
    scope TEXT NOT NULL,
    version INTEGER NOT NULL,
    fields TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT REFERENCES users(id),
    UNIQUE (scope, version)
);
