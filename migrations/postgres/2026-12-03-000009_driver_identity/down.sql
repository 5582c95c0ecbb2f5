ALTER TABLE registrations DROP COLUMN request_hash;
ALTER TABLE registrations DROP COLUMN driver_id;
ALTER TABLE driver_profiles DROP CONSTRAINT driver_profiles_key_hash_key;
ALTER TABLE driver_profiles DROP CONSTRAINT driver_profiles_pkey;
ALTER TABLE driver_profiles ADD PRIMARY KEY (key_hash);
ALTER TABLE driver_profiles DROP COLUMN id;
