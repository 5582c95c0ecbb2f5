-- The issue ledger (诉求台账): each demand or problem an enterprise raised in its
-- approved survey answers (the questionnaire's `demands` rows), handed to a unit (a
-- sector authority or a park) with a deadline, followed up with progress notes and
-- closed (销号).

-- One row per demand. `row_digest` (SHA-256 of the row's category and description)
-- keys it within its case, so that approving the case again after a return adds only
-- rows not seen before. `sector_id` and `park_id` are the enterprise's when the demand
-- was taken; `unit_id` is the unit it is assigned to and `due_on` its deadline (a zone
-- day, `YYYY-MM-DD`, so that "overdue" is `due_on < today` on both backends).
CREATE TABLE survey_demands (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    case_id TEXT NOT NULL REFERENCES survey_cases(id),
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    sector_id TEXT NOT NULL REFERENCES org_units(id),
    park_id TEXT NOT NULL REFERENCES org_units(id),
    row_digest TEXT NOT NULL,
    answer_version INTEGER NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    unit_id TEXT REFERENCES org_units(id),
    due_on TEXT,
    assigned_by TEXT REFERENCES users(id),
    assigned_at TIMESTAMP,
    resolution TEXT,
    closed_by TEXT REFERENCES users(id),
    closed_at TIMESTAMP,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, row_digest)
);
CREATE INDEX survey_demands_campaign ON survey_demands(campaign_id, sector_id, park_id);
CREATE INDEX survey_demands_unit ON survey_demands(unit_id, state, due_on);

-- Progress notes on a demand, oldest first. `client_id` is the device's: a retry with
-- the same one is the same note.
CREATE TABLE survey_demand_notes (
    id TEXT PRIMARY KEY NOT NULL,
    demand_id TEXT NOT NULL REFERENCES survey_demands(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    text TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (demand_id, client_id)
);
