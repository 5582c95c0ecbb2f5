-- Drivers' passes belong to the driver who made them (issue 9).
-- driver_profiles: a stable random id per driver; the key the browser holds (found
-- by its hash) rotates with every registration. Existing rows keep their key hash as
-- their id.
CREATE TABLE driver_profiles_new (
    id TEXT PRIMARY KEY NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    profile TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO driver_profiles_new (id, key_hash, profile, updated_at)
    SELECT key_hash, key_hash, profile, updated_at FROM driver_profiles;
DROP TABLE driver_profiles;
ALTER TABLE driver_profiles_new RENAME TO driver_profiles;
CREATE INDEX driver_profiles_updated ON driver_profiles(updated_at);
-- Which driver made a registration (only that driver's key cancels it), and a keyed
-- fingerprint of the request, so that a retry key sent with another body is refused.
ALTER TABLE registrations ADD COLUMN driver_id TEXT;
ALTER TABLE registrations ADD COLUMN request_hash TEXT;
