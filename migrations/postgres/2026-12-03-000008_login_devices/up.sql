-- Browsers that signed in to an account before: a sign-in presenting one's token (a
-- cookie) is throttled per device, not by the account-wide limits an attacker can
-- run up. Tokens are stored hashed.
CREATE TABLE login_devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX login_devices_user ON login_devices(user_id);

-- A sign-in records its failure before the password is checked; until the check is
-- done the row is pending, so that a limit reached only by attempts in flight asks
-- for a moment's wait rather than the whole window.
ALTER TABLE login_failures ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;
