-- Where a visit took place, as the surveyor's phone located it (optional).
ALTER TABLE survey_visits ADD COLUMN longitude REAL;
ALTER TABLE survey_visits ADD COLUMN latitude REAL;
