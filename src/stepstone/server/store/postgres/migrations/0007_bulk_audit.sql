-- Bulk actions, reruns from a step and the audit log.
-- `bulk_jobs`: a bulk cancellation or replay, worked in batches by the engines (`cursor`: the last run id
-- looked at, so a job resumes where it stopped after a crash). `replay_runs`: one row per run a replay
-- started, its primary key making sure a replay never starts two runs from one original run.
-- `step_inputs`: the input a rerun from a step gives that step instead of the original one.
-- `audit_log`: every action taken through the REST API, newest last (ids are ULIDs on the engine clock).
CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    app_id TEXT NOT NULL,
    function_id TEXT NOT NULL,
    function_slug TEXT NOT NULL,
    started_after BIGINT,
    started_before BIGINT NOT NULL,
    expression TEXT,
    statuses TEXT NOT NULL DEFAULT '[]',
    cursor TEXT NOT NULL DEFAULT '',
    matched BIGINT NOT NULL DEFAULT 0,
    acted BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX bulk_jobs_open ON bulk_jobs (done_at, id);

CREATE TABLE replay_runs (
    replay_id TEXT NOT NULL,
    original_run_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (replay_id, original_run_id)
);
CREATE INDEX replay_runs_run ON replay_runs (run_id);

CREATE TABLE step_inputs (
    run_id TEXT NOT NULL,
    hashed_id TEXT NOT NULL,
    input TEXT NOT NULL,
    PRIMARY KEY (run_id, hashed_id)
);

CREATE INDEX runs_original ON runs (original_run_id) WHERE original_run_id IS NOT NULL;

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER NOT NULL,
    result TEXT NOT NULL
);
