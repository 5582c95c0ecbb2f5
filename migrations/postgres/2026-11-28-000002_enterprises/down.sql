DROP INDEX users_enterprise;
ALTER TABLE users DROP COLUMN enterprise_id;
DROP TABLE code_scans;
DROP TABLE enterprise_codes;
DROP TABLE enterprises;
