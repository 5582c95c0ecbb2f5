-- Drivers' passes belong to the driver who made them (issue 9).
-- driver_profiles: a stable random id per driver; the key the browser holds (found
-- by its hash) rotates with every registration. Existing rows keep their key hash as
-- their id.
ALTER TABLE driver_profiles ADD COLUMN id TEXT;
UPDATE driver_profiles SET id = key_hash;
ALTER TABLE driver_profiles ALTER COLUMN id SET NOT NULL;
ALTER TABLE driver_profiles DROP CONSTRAINT driver_profiles_pkey;
ALTER TABLE driver_profiles ADD PRIMARY KEY (id);
ALTER TABLE driver_profiles ADD CONSTRAINT driver_profiles_key_hash_key UNIQUE (key_hash);
-- Which driver made a registration (only that driver's key cancels it), and a keyed
-- fingerprint of the request, so that a retry key sent with another body is refused.
ALTER TABLE registrations ADD COLUMN driver_id TEXT;
ALTER TABLE registrations ADD COLUMN request_hash TEXT;
