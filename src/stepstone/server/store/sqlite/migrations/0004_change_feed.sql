-- The runs change feed (`GET /v1/runs?updated_after=`): every write of a run row (and every step it
-- saves) stamps `change_seq` with a number above every earlier one, so a reader that remembers the last
-- (change_seq, id) it saw misses nothing. Runs written before this migration keep 0 and come first.
ALTER TABLE runs ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_change_seq ON runs (change_seq, id);
