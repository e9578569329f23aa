-- The initial schema. Times are unix milliseconds (bigint); JSON columns hold JSON text.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    sdk TEXT NOT NULL DEFAULT '',
    framework TEXT,
    app_version TEXT,
    checksum TEXT,
    error TEXT,
    synced_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE functions (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps (id),
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    version INTEGER NOT NULL,
    archived_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    internal_id TEXT NOT NULL,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    ts BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    source TEXT NOT NULL DEFAULT 'api'
);
CREATE INDEX events_internal_id ON events (internal_id);
CREATE INDEX events_name_seq ON events (name, seq);
CREATE INDEX events_received_at ON events (received_at);

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE skips (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_internal_id TEXT NOT NULL,
    function_id TEXT NOT NULL,
    function_slug TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX skips_event ON skips (event_internal_id);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    function_id TEXT NOT NULL,
    function_slug TEXT NOT NULL,
    function_version INTEGER NOT NULL,
    app_version TEXT,
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    output TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    parent TEXT,
    cron TEXT,
    batch_id TEXT,
    original_run_id TEXT,
    force_plan BOOLEAN NOT NULL DEFAULT FALSE,
    request_version INTEGER NOT NULL DEFAULT -1,
    pending TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_function ON runs (function_slug, id);
CREATE INDEX runs_event ON runs (event_id);
CREATE INDEX runs_ended_at ON runs (ended_at);

CREATE TABLE run_events (
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event_seq BIGINT NOT NULL,
    PRIMARY KEY (run_id, position)
);

CREATE TABLE steps (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL,
    hashed_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    idx INTEGER NOT NULL DEFAULT 0,
    op TEXT NOT NULL,
    status TEXT NOT NULL,
    memo TEXT,
    size BIGINT NOT NULL DEFAULT 0,
    finished_seq INTEGER,
    started_at BIGINT,
    ended_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 1,
    UNIQUE (run_id, hashed_id)
);

CREATE TABLE attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    error TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX attempts_run ON attempts (run_id);

CREATE TABLE queue (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    run_id TEXT,
    function_id TEXT,
    target TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '{}',
    run_at BIGINT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    constraints TEXT NOT NULL DEFAULT '[]',
    attempt INTEGER NOT NULL DEFAULT 0,
    attempt_step TEXT NOT NULL DEFAULT '',
    generation INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    job_key TEXT UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX queue_due ON queue (run_at) WHERE lease_owner IS NULL;
CREATE INDEX queue_leased ON queue (lease_expires_at) WHERE lease_owner IS NOT NULL;
CREATE INDEX queue_run ON queue (run_id);
CREATE INDEX queue_function ON queue (function_id, kind);

CREATE TABLE pauses (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    step_id TEXT NOT NULL DEFAULT '',
    event_name TEXT NOT NULL,
    expression TEXT,
    correlation_id TEXT,
    trigger_event TEXT NOT NULL,
    min_seq BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX pauses_event ON pauses (event_name, expires_at);
CREATE INDEX pauses_run ON pauses (run_id);
CREATE INDEX pauses_correlation ON pauses (correlation_id) WHERE correlation_id IS NOT NULL;
