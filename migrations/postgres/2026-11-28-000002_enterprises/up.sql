-- The enterprise roster, one code per enterprise (一企一码), daily scan counts, and
-- enterprise contacts' scope.
CREATE TABLE enterprises (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    sector_id TEXT NOT NULL REFERENCES org_units(id),
    park_id TEXT NOT NULL REFERENCES org_units(id),
    address TEXT NOT NULL,
    key_enterprise BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    longitude DOUBLE PRECISION,
    latitude DOUBLE PRECISION,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX enterprises_sector ON enterprises(sector_id);
CREATE INDEX enterprises_park ON enterprises(park_id);
CREATE INDEX enterprises_name ON enterprises(name);

-- Every code an enterprise ever had; exactly one is not retired. Rotating retires the
-- current one (its poster then answers 410) and issues a new token.
CREATE TABLE enterprise_codes (
    id TEXT PRIMARY KEY NOT NULL,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    token TEXT NOT NULL UNIQUE,
    suspended BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
CREATE INDEX enterprise_codes_enterprise ON enterprise_codes(enterprise_id);

-- Page opens per code per day (UTC+8 calendar day), without personal data.
CREATE TABLE code_scans (
    code_id TEXT NOT NULL REFERENCES enterprise_codes(id),
    day TEXT NOT NULL,
    scans BIGINT NOT NULL,
    PRIMARY KEY (code_id, day)
);

ALTER TABLE users ADD COLUMN enterprise_id TEXT REFERENCES enterprises(id);
CREATE INDEX users_enterprise ON users(enterprise_id);
