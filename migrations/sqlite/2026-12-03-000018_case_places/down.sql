DROP INDEX survey_cases_ledger;
ALTER TABLE survey_cases DROP COLUMN active;
ALTER TABLE survey_cases DROP COLUMN park_id;
ALTER TABLE survey_cases DROP COLUMN sector_id;
