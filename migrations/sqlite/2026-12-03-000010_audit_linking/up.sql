-- The audit chain out of the writes' transactions (issue 10). An entry is written with
-- its change, numbered by its rowid (id), and linked into the hash chain (seq,
-- prev_hash, hash) shortly after by one linker at a time, which alone updates
-- audit_head. Until then seq, prev_hash and hash are NULL.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT UNIQUE,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    actor_role TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    ip TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT
);
INSERT INTO audit_log_new (id, seq, at, actor_id, actor_name, actor_role, action,
                           object_type, object_id, ip, outcome, details, prev_hash, hash)
    SELECT seq, seq, at, actor_id, actor_name, actor_role, action,
           object_type, object_id, ip, outcome, details, prev_hash, hash
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_action ON audit_log(action);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log(actor_id);
CREATE INDEX audit_log_pending ON audit_log (id) WHERE seq IS NULL;
