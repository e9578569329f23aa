-- The dashboard's backend. A paused function (`paused_at`) starts no runs, and its calls wait: a held
-- call keeps its due time in `held_run_at` while `run_at` is moved out of every claim's reach, and gets
-- it back on resume. A removed app (`removed_at`) is hidden until it syncs again. The functions' 24 h
-- stats count runs by function and status from one covering index.
ALTER TABLE functions ADD COLUMN paused_at BIGINT;
ALTER TABLE queue ADD COLUMN held_run_at BIGINT;
ALTER TABLE apps ADD COLUMN removed_at BIGINT;
CREATE INDEX runs_function_status ON runs (function_slug, status, created_at);
