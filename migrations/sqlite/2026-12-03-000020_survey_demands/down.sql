DROP TABLE survey_demand_notes;
DROP TABLE survey_demands;
