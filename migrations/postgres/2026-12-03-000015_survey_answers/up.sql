-- The survey's questionnaires, the answers given on cases and their review.

-- A campaign's questionnaire, one row per version (version 1 is the zone's default,
-- stored when the campaign is created; a draft campaign may save newer ones).
-- `fields` is the form engine's JSON list of field specs, `rules` the JSON list of
-- validation rules.
CREATE TABLE survey_questionnaires (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    version INTEGER NOT NULL,
    fields TEXT NOT NULL,
    rules TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, version)
);

-- Every submission of a case's answers is a new version, kept with the questionnaire
-- version it was given against. `answers` is JSON with mobile numbers sealed (and a
-- masked copy); `explanations` maps explain-tier rule ids to the surveyor's text;
-- `warnings` are the warning-tier findings. `client_id` is the device's: a retry with
-- the same one is the same submission; `digest` is a keyed hash of what was sent, to
-- tell a retry from a different submission under a reused id.
CREATE TABLE survey_answers (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES survey_cases(id),
    version INTEGER NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    answers TEXT NOT NULL,
    explanations TEXT NOT NULL,
    warnings TEXT NOT NULL,
    client_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    submitted_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, version),
    UNIQUE (case_id, client_id)
);

-- Review decisions on a case's answers (approve, return, reject, unapprove), oldest
-- first; `comments` maps field keys to the reviewer's comment (JSON object).
CREATE TABLE survey_reviews (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES survey_cases(id),
    answer_version INTEGER NOT NULL,
    decision TEXT NOT NULL,
    comments TEXT NOT NULL,
    note TEXT NOT NULL,
    reviewer_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX survey_reviews_case ON survey_reviews(case_id, created_at);

-- Where a case's answers stand in review: unsubmitted, received, returned, approved
-- or rejected.
ALTER TABLE survey_cases ADD COLUMN review TEXT NOT NULL DEFAULT 'unsubmitted';
CREATE INDEX survey_cases_campaign_review ON survey_cases(campaign_id, review);
