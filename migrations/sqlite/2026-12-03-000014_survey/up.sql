-- The enterprise survey (企业摸排): campaigns over a scope of sectors and parks, one
-- case per in-scope roster enterprise, and the visits (attempts) made on each case.

-- A campaign's days are zone days (YYYY-MM-DD, like registrations.arrival_day);
-- status is draft, running or closed.
CREATE TABLE survey_campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The sectors and parks a campaign covers: an enterprise is in scope when its sector
-- is listed (or no sector is) and its park is listed (or no park is). No rows at all:
-- the whole zone.
CREATE TABLE survey_campaign_scope (
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    org_unit_id TEXT NOT NULL REFERENCES org_units(id),
    PRIMARY KEY (campaign_id, org_unit_id)
);
CREATE INDEX survey_campaign_scope_unit ON survey_campaign_scope(org_unit_id);

-- One case per campaign and enterprise. `urgency` orders a surveyor's list by what
-- needs doing (0 first); `version` grows with every change, for optimistic
-- concurrency.
CREATE TABLE survey_cases (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    assignee_id TEXT REFERENCES users(id),
    state TEXT NOT NULL,
    next_method TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_method TEXT,
    last_outcome TEXT,
    last_visit_at TIMESTAMP,
    urgency INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, enterprise_id)
);
CREATE INDEX survey_cases_assignee ON survey_cases(assignee_id, urgency, id);
CREATE INDEX survey_cases_campaign_state ON survey_cases(campaign_id, state);
CREATE INDEX survey_cases_enterprise ON survey_cases(enterprise_id);

-- Every attempt on a case. `client_id` is chosen by the surveyor's device: a retry
-- with the same one is the same visit.
CREATE TABLE survey_visits (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES survey_cases(id),
    surveyor_id TEXT NOT NULL REFERENCES users(id),
    method TEXT NOT NULL,
    outcome TEXT NOT NULL,
    notes TEXT NOT NULL,
    visited_at TIMESTAMP NOT NULL,
    client_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, client_id)
);
CREATE INDEX survey_visits_surveyor ON survey_visits(surveyor_id, visited_at);
