-- The roster's contact person (in clear) and phone (personal data: sealed with the
-- vault under "enterprises.contact_phone", a blind index for exact matches, and the
-- masked form lists and exports show). Empty text when the roster gave none.
ALTER TABLE enterprises ADD COLUMN contact_person TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_index TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_masked TEXT NOT NULL DEFAULT '';
