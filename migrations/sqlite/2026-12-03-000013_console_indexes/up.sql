-- The console's filings lists and counts (deploy/bench/console.sh), without reading
-- the filings of other days, plates or enterprises: a zone's newest first (by id)
-- within one day of arrival or one plate; an enterprise's by status and day of
-- arrival, counted from the index alone; the zone's by day of arrival and status,
-- counted from the index alone (the home page's counts of filings arriving from today). No index on status alone: its few values
-- make it a poor choice, and SQLite without statistics (the service never runs
-- ANALYZE) takes it for an enterprise's lists, reading every filing of that status.
CREATE INDEX registrations_arrival_day ON registrations(arrival_day, id);
CREATE INDEX registrations_plate ON registrations(plate);
CREATE INDEX registrations_enterprise_status ON registrations(enterprise_id, status, arrival_day, id);
CREATE INDEX registrations_arrival_status ON registrations(arrival_day, status);
