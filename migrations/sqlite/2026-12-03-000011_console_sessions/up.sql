-- The console's sign-ins (issue 12): one row per browser session, found by the hash of
-- the random token in its cookie. The user's token_version at sign-in ends it with the
-- API's tokens (password change, disabling, admin reset); the CSRF token is checked on
-- every form post; last_seen_at and created_at drive the idle and absolute timeouts.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_version BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
