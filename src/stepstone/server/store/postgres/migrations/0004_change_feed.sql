-- The runs change feed (`GET /v1/runs?updated_after=`): every write of a run row (and every step it
-- saves) stamps `change_seq` with the writing transaction's id; the feed reads only rows stamped by
-- transactions that have all ended (below the snapshot's xmin), so a commit that comes late is never
-- behind a reader's cursor. Runs written before this migration keep 0 and come first.
ALTER TABLE runs ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX runs_change_seq ON runs (change_seq, id);
