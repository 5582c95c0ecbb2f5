-- Survey photos: re-encoded on the server as JPEG (EXIF stripped), one row each, the
-- picture itself in the database so that a backup holds it. A device's retry carries
-- the same client id and the same upload (by its digest).
CREATE TABLE survey_photos (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES survey_cases(id),
    visit_id TEXT REFERENCES survey_visits(id),
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    client_id TEXT NOT NULL,
    upload_sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    byte_size INTEGER NOT NULL,
    content BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, client_id)
);
