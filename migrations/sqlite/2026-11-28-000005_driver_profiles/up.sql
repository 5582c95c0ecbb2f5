-- Fill once (一次填报): the driver's last personal and vehicle details, sealed, found
-- only by the hash of the random driver key their browser keeps.
CREATE TABLE driver_profiles (
    key_hash TEXT PRIMARY KEY NOT NULL,
    profile TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX driver_profiles_updated ON driver_profiles(updated_at);
