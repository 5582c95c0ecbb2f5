-- The blacklist (黑名单): plates and drivers that an enterprise's gates, or every
-- gate of the zone (`enterprise_id` NULL), refuse. A driver is held by the blind
-- index of their document (the same index as `registrations.document_index`) and a
-- masked copy for display, never the number in clear. Lifting an entry keeps its row.
CREATE TABLE blacklist (
    id TEXT PRIMARY KEY NOT NULL,
    enterprise_id TEXT REFERENCES enterprises(id),
    kind TEXT NOT NULL,
    plate TEXT,
    document_type TEXT,
    document_index TEXT,
    document_masked TEXT,
    reason TEXT NOT NULL,
    expires_at TIMESTAMP,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    lifted_at TIMESTAMP,
    lifted_by TEXT REFERENCES users(id)
);
CREATE INDEX blacklist_plate ON blacklist(plate);
CREATE INDEX blacklist_document ON blacklist(document_index);
CREATE INDEX blacklist_scope ON blacklist(enterprise_id, id);
