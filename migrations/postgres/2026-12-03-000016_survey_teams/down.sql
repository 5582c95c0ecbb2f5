ALTER TABLE enterprises DROP COLUMN contact_phone_masked;
ALTER TABLE enterprises DROP COLUMN contact_phone_index;
ALTER TABLE enterprises DROP COLUMN contact_phone_sealed;
ALTER TABLE enterprises DROP COLUMN contact_person;
