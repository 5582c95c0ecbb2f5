DROP TABLE gate_settings;
DROP TABLE gate_presence;
DROP TABLE gate_scans;
DROP TABLE gates;
