-- The newest change of a campaign's cases in one index probe: the coverage ledger
-- reuses its counts while this stays the same (survey::coverage::LedgerCache).
CREATE INDEX survey_cases_changed ON survey_cases (campaign_id, updated_at);
