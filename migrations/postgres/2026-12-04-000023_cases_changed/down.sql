DROP INDEX survey_cases_changed;
