-- Scans a gate made while it had no network, uploaded afterwards: `offline` marks
-- them. An offline entry or exit already happened, so it is recorded as the gate
-- decided; where the server would have refused it (a double entry at two gates, an
-- exit without an entry, a pass revoked meanwhile) `conflict` names that reason, for
-- the contact to look at, instead of losing the scan.
ALTER TABLE gate_scans ADD COLUMN offline BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE gate_scans ADD COLUMN conflict TEXT;
CREATE INDEX gate_scans_conflicts ON gate_scans(enterprise_id, id) WHERE conflict IS NOT NULL;
