DROP TABLE survey_discoveries;
