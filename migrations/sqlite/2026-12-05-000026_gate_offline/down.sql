DROP INDEX gate_scans_conflicts;
ALTER TABLE gate_scans DROP COLUMN conflict;
ALTER TABLE gate_scans DROP COLUMN offline;
