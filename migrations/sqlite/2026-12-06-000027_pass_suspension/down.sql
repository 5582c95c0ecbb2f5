ALTER TABLE registrations DROP COLUMN suspend_reason;
ALTER TABLE registrations DROP COLUMN suspended_by;
ALTER TABLE registrations DROP COLUMN suspended_at;
