ALTER TABLE login_failures DROP COLUMN pending;
DROP TABLE login_devices;
