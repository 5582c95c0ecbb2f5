-- Drivers' registrations (登记). Document numbers and phones are sealed (AES-256-GCM)
-- with blind indexes for exact search; masked copies serve lists. Consent is given
-- at creation (created_at) under consent_version.
CREATE TABLE registrations (
    id TEXT PRIMARY KEY NOT NULL,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    pass_token TEXT NOT NULL UNIQUE,
    idempotency_key TEXT,
    status TEXT NOT NULL,
    driver_name TEXT NOT NULL,
    document_type TEXT NOT NULL,
    document_sealed TEXT NOT NULL,
    document_index TEXT NOT NULL,
    document_masked TEXT NOT NULL,
    phone_sealed TEXT NOT NULL,
    phone_index TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    plate TEXT NOT NULL,
    trailer_plate TEXT,
    vehicle_type TEXT NOT NULL,
    origin_region TEXT NOT NULL,
    cargo TEXT NOT NULL,
    purpose TEXT NOT NULL,
    expected_arrival TIMESTAMP NOT NULL,
    arrival_day TEXT NOT NULL,
    people_in_cab INTEGER NOT NULL,
    answers TEXT NOT NULL,
    zone_form_version INTEGER NOT NULL,
    enterprise_form_version INTEGER NOT NULL,
    consent_version TEXT NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_until TIMESTAMP NOT NULL,
    reject_reason TEXT,
    decided_at TIMESTAMP,
    decided_by TEXT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (enterprise_id, idempotency_key)
);
CREATE INDEX registrations_enterprise ON registrations(enterprise_id, created_at);
CREATE INDEX registrations_plate_day ON registrations(enterprise_id, plate, arrival_day);
CREATE INDEX registrations_document_index ON registrations(document_index);
CREATE INDEX registrations_phone_index ON registrations(phone_index);
