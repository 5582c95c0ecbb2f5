DROP TABLE rate_counters;
DROP TABLE enterprise_settings;
