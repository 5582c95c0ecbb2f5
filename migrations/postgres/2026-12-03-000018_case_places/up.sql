-- A case keeps its enterprise's sector and park, so that the coverage ledger groups
-- and scopes cases without joining the roster. They follow the enterprise when the
-- roster moves it (survey::cases::Case::follow_enterprise).
ALTER TABLE survey_cases ADD COLUMN sector_id TEXT NOT NULL DEFAULT '';
ALTER TABLE survey_cases ADD COLUMN park_id TEXT NOT NULL DEFAULT '';
-- `active`: the enterprise has truck traffic, an approved filing, so it is operating
-- whatever the survey has found so far (survey::cases::Case::note_traffic).
ALTER TABLE survey_cases ADD COLUMN active BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE survey_cases SET
    sector_id = (SELECT e.sector_id FROM enterprises e WHERE e.id = survey_cases.enterprise_id),
    park_id = (SELECT e.park_id FROM enterprises e WHERE e.id = survey_cases.enterprise_id),
    active = EXISTS (SELECT 1 FROM registrations r
                     WHERE r.enterprise_id = survey_cases.enterprise_id AND r.status = 'approved');
-- The ledger reads only this index: one campaign's cases by place, state, review and
-- activity.
CREATE INDEX survey_cases_ledger ON survey_cases(campaign_id, sector_id, park_id, state, review, active);
