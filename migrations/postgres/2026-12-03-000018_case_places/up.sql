-- A case keeps its enterprise's sector and park, so that the coverage ledger groups
-- and scopes cases without joining the roster. They follow the enterprise when the
-- roster moves it (survey::cases::Case::follow_enterprise).
ALTER TABLE survey_cases ADD COLUMN sector_id TEXT NOT NULL DEFAULT '';
ALTER TABLE survey_cases ADD COLUMN park_id TEXT NOT NULL DEFAULT '';
UPDATE survey_cases SET
    sector_id = (SELECT e.sector_id FROM enterprises e WHERE e.id = survey_cases.enterprise_id),
    park_id = (SELECT e.park_id FROM enterprises e WHERE e.id = survey_cases.enterprise_id);
-- The ledger reads only this index: one campaign's cases by place, state and review.
CREATE INDEX survey_cases_ledger ON survey_cases(campaign_id, sector_id, park_id, state, review);
