DROP INDEX survey_cases_campaign_review;
ALTER TABLE survey_cases DROP COLUMN review;
DROP TABLE survey_reviews;
DROP TABLE survey_answers;
DROP TABLE survey_questionnaires;
