-- Where a visit took place, as the surveyor's phone located it (optional).
ALTER TABLE survey_visits ADD COLUMN longitude DOUBLE PRECISION;
ALTER TABLE survey_visits ADD COLUMN latitude DOUBLE PRECISION;
