DROP TABLE survey_scores;
DROP TABLE survey_scoring_rules;
