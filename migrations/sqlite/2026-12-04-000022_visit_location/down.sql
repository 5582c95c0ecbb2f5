ALTER TABLE survey_visits DROP COLUMN latitude;
ALTER TABLE survey_visits DROP COLUMN longitude;
