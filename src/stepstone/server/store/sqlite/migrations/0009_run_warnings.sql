-- Non-determinism found at run time (`server.runs.nondeterminism`): one row per finding and run, kept once
-- (a call that repeats a finding adds nothing: UNIQUE), shown on the run in the API and the dashboard.
CREATE TABLE run_warnings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    step_ids TEXT NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (run_id, code, step_ids)
);
