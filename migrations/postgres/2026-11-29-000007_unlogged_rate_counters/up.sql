-- Rate-limit counters need no durability: a crash that empties them only restarts
-- the current minute's count. Unlogged, their updates write no WAL, so a rate-limit
-- check commits without waiting for a WAL flush; every public submission makes two.
ALTER TABLE rate_counters SET UNLOGGED;
