DROP TABLE survey_visits;
DROP TABLE survey_cases;
DROP TABLE survey_campaign_scope;
DROP TABLE survey_campaigns;
