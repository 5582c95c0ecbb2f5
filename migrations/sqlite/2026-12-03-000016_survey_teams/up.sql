-- The roster's contact person (in clear) and phone (personal data: sealed with the
-- vault under "enterprises.contact_phone", a blind index for exact matches, and the
-- masked form lists and exports show). Empty text when the roster gave none.
ALTER TABLE enterprises ADD COLUMN contact_person TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_index TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_masked TEXT NOT NULL DEFAULT '';

-- A staff member's mobile (surveyors arrive with one from their team's sheet), sealed
-- under "users.phone" like the roster's: the blind index finds an account that
-- already has a number (one account per number: two imports racing with the same
-- number cannot both write), the mask is what lists show. Empty text when none.
ALTER TABLE users ADD COLUMN phone_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN phone_index TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN phone_masked TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_phone_index ON users(phone_index) WHERE phone_index <> '';
