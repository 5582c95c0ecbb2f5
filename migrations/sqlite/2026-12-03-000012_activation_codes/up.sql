-- One-time activation codes: an account created in bulk (or given a fresh code) has
-- no usable password until its owner sets one with the code. One code per account (a
-- new one replaces the old), stored only as a hash, deleted when used.
CREATE TABLE activation_codes (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
