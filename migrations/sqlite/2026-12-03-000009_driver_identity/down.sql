ALTER TABLE registrations DROP COLUMN request_hash;
ALTER TABLE registrations DROP COLUMN driver_id;
CREATE TABLE driver_profiles_old (
    key_hash TEXT PRIMARY KEY NOT NULL,
    profile TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO driver_profiles_old (key_hash, profile, updated_at)
    SELECT key_hash, profile, updated_at FROM driver_profiles;
DROP TABLE driver_profiles;
ALTER TABLE driver_profiles_old RENAME TO driver_profiles;
CREATE INDEX driver_profiles_updated ON driver_profiles(updated_at);
