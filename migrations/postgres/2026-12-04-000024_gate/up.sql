-- The gate (门岗): an enterprise's named gates, every scan of a pass at them, and
-- which trucks are inside now.

-- A gate of an enterprise (东门, 西门); an inactive one takes no scans.
CREATE TABLE gates (
    id TEXT PRIMARY KEY NOT NULL,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (enterprise_id, name)
);

-- Every scan, accepted or refused (the failed-scan log is the refused ones).
-- `nonce` is the scanning device's: a retry of the same scan is the same row.
-- `registration_id` is the pass the code named, when it named one of this
-- enterprise's; `raw_code` is what was read, cut to 200 characters. An exit keeps
-- how long the truck stayed (`dwell_seconds`); an annulled scan keeps its row. The
-- automatic check-out's exits are `automatic`, with nobody as `scanned_by`.
CREATE TABLE gate_scans (
    id TEXT PRIMARY KEY NOT NULL,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    gate_id TEXT NOT NULL REFERENCES gates(id),
    nonce TEXT NOT NULL,
    kind TEXT NOT NULL,
    raw_code TEXT NOT NULL,
    registration_id TEXT REFERENCES registrations(id),
    result TEXT NOT NULL,
    reason TEXT,
    dwell_seconds INTEGER,
    automatic BOOLEAN NOT NULL,
    scanned_by TEXT REFERENCES users(id),
    client_time TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    annulled_at TIMESTAMP,
    annulled_by TEXT REFERENCES users(id),
    UNIQUE (enterprise_id, nonce)
);
CREATE INDEX gate_scans_log ON gate_scans(enterprise_id, id);
CREATE INDEX gate_scans_pass ON gate_scans(registration_id, id);

-- The trucks inside now: one row per pass between its entry and its exit.
CREATE TABLE gate_presence (
    registration_id TEXT PRIMARY KEY NOT NULL REFERENCES registrations(id),
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    gate_id TEXT NOT NULL REFERENCES gates(id),
    entry_scan_id TEXT NOT NULL REFERENCES gate_scans(id),
    entered_at TIMESTAMP NOT NULL
);
CREATE INDEX gate_presence_enterprise ON gate_presence(enterprise_id, entered_at);

-- An enterprise's gate rules: the zone hour (0-23) at which trucks still inside are
-- checked out automatically, and the hours inside after which a truck overstays; NULL
-- for neither.
CREATE TABLE gate_settings (
    enterprise_id TEXT PRIMARY KEY NOT NULL REFERENCES enterprises(id),
    checkout_hour INTEGER,
    overstay_hours INTEGER,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX gate_settings_checkout ON gate_settings(checkout_hour);
