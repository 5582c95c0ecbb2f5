DROP TABLE driver_profiles;
