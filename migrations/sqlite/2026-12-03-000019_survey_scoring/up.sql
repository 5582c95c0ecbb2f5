-- Potential-enterprise scoring (挖掘潜力企业): versioned rule sets per campaign, and the
-- scores of each run, kept per rule version.

-- A campaign's scoring rules, one row per version (version 1 is the zone's default,
-- stored when the campaign is created; every save adds the next). `rules` is the JSON
-- list of weighted indicators with their bands.
CREATE TABLE survey_scoring_rules (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    version INTEGER NOT NULL,
    rules TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, version)
);

-- The scores of a campaign's approved cases under one rule version: a re-run of that
-- version replaces its rows, other versions' stay. `score` is in hundredths of a point;
-- `sector_id` and `park_id` are the enterprise's place when scored (the ranks within
-- sector and park are over them); `grade` is the class A to D by percentile;
-- `explanation` the JSON list of each indicator's value and points.
CREATE TABLE survey_scores (
    campaign_id TEXT NOT NULL REFERENCES survey_campaigns(id),
    version INTEGER NOT NULL,
    case_id TEXT NOT NULL REFERENCES survey_cases(id),
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    sector_id TEXT NOT NULL,
    park_id TEXT NOT NULL,
    answer_version INTEGER NOT NULL,
    score INTEGER NOT NULL,
    grade TEXT NOT NULL,
    rank INTEGER NOT NULL,
    sector_rank INTEGER NOT NULL,
    park_rank INTEGER NOT NULL,
    explanation TEXT NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, version, case_id)
);
CREATE INDEX survey_scores_ranked ON survey_scores(campaign_id, version, rank, case_id);
