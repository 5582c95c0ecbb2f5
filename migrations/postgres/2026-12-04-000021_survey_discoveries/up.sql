-- Field discoveries (摸排新发现): an enterprise a surveyor found in the field that is
-- not on the roster. At submission it is matched against the roster (the same credit
-- code; a close name or address); `candidates` keeps the matches found, as JSON
-- `[{"enterprise_id", "reason", "similarity"}]`. Without one (and with a credit
-- code) it is added to the roster at once (`added`, no `resolved_by`); otherwise it
-- waits (`pending_review`) until an official merges it into an existing enterprise
-- (`merged`) or adds it (`added`). `enterprise_id` and `case_id` are the enterprise
-- it became or was merged into and its case in the campaign.
--
-- `client_id` is the reporting device's: a retry with the same one is the same
-- discovery. The contact phone is sealed as the roster's is (ciphertext, blind index,
-- masked form; all empty when none was given).
CREATE TABLE survey_discoveries (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    reported_by TEXT NOT NULL REFERENCES users(id),
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    credit_code TEXT,
    address TEXT NOT NULL,
    sector_id TEXT NOT NULL REFERENCES org_units(id),
    park_id TEXT NOT NULL REFERENCES org_units(id),
    contact_person TEXT NOT NULL,
    contact_phone_sealed TEXT NOT NULL,
    contact_phone_index TEXT NOT NULL,
    contact_phone_masked TEXT NOT NULL,
    notes TEXT NOT NULL,
    state TEXT NOT NULL,
    candidates TEXT NOT NULL,
    enterprise_id TEXT REFERENCES enterprises(id),
    case_id TEXT REFERENCES survey_cases(id),
    resolved_by TEXT REFERENCES users(id),
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (reported_by, client_id)
);
CREATE INDEX survey_discoveries_campaign ON survey_discoveries(campaign_id, state, id);
CREATE INDEX survey_discoveries_reporter ON survey_discoveries(reported_by, campaign_id);
