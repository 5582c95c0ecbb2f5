-- Per-enterprise registration settings: auto-approval of new registrations.
CREATE TABLE enterprise_settings (
    enterprise_id TEXT PRIMARY KEY NOT NULL REFERENCES enterprises(id),
    auto_approve BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL
);

-- Public rate limits in fixed one-minute windows, shared by every replica on
-- PostgreSQL (a single SQLite node counts in memory and leaves this table empty).
CREATE TABLE rate_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
