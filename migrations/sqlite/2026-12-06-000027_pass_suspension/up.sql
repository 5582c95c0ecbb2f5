-- A pass held back (暂停) by its enterprise without ending it, pretix's `blocked`: the
-- gate refuses its entry ("code suspended"), the offline revocation list names it,
-- and resuming gives it back as it was. Who held it, when and why stay with it until
-- it is resumed; the audit log keeps every suspension and resumption.
ALTER TABLE registrations ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE registrations ADD COLUMN suspended_by TEXT REFERENCES users(id);
ALTER TABLE registrations ADD COLUMN suspend_reason TEXT;
