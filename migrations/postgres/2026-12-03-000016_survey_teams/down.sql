DROP INDEX users_phone_index;
ALTER TABLE users DROP COLUMN phone_masked;
ALTER TABLE users DROP COLUMN phone_index;
ALTER TABLE users DROP COLUMN phone_sealed;
ALTER TABLE enterprises DROP COLUMN contact_phone_masked;
ALTER TABLE enterprises DROP COLUMN contact_phone_index;
ALTER TABLE enterprises DROP COLUMN contact_phone_sealed;
ALTER TABLE enterprises DROP COLUMN contact_person;
