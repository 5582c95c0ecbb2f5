ALTER TABLE rate_counters SET LOGGED;
