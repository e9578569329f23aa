-- Flow control: queue partitions with concurrency keys and priority scores, limiter state, debounce,
-- batch and singleton bookkeeping.

ALTER TABLE runs ADD COLUMN constraints TEXT NOT NULL DEFAULT '{}';

ALTER TABLE queue ADD COLUMN partition TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN score BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN ckey1 TEXT;
ALTER TABLE queue ADD COLUMN climit1 INTEGER;
ALTER TABLE queue ADD COLUMN ckey2 TEXT;
ALTER TABLE queue ADD COLUMN climit2 INTEGER;
UPDATE queue SET score = run_at, partition = CASE WHEN kind = 'call' THEN '' ELSE '~timers' END;
CREATE INDEX queue_partition ON queue (partition, score) WHERE lease_owner IS NULL;
CREATE INDEX queue_ckey1 ON queue (ckey1) WHERE lease_owner IS NOT NULL;
CREATE INDEX queue_ckey2 ON queue (ckey2) WHERE lease_owner IS NOT NULL;

CREATE TABLE limiters (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE debounces (
    function_id TEXT NOT NULL,
    key TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    PRIMARY KEY (function_id, key)
);

CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    function_id TEXT NOT NULL,
    key TEXT NOT NULL,
    first_at BIGINT NOT NULL,
    size INTEGER NOT NULL,
    bytes BIGINT NOT NULL,
    UNIQUE (function_id, key)
);

CREATE TABLE batch_events (
    batch_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event_seq BIGINT NOT NULL,
    PRIMARY KEY (batch_id, position)
);

CREATE TABLE singletons (
    function_id TEXT NOT NULL,
    key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (function_id, key)
);
CREATE INDEX singletons_run ON singletons (run_id);
