-- get_app --
SELECT id, name, url, sdk, framework, app_version, checksum, error, synced_at, created_at
FROM apps WHERE name = :name

-- upsert_app --
INSERT INTO apps (id, name, url, sdk, framework, app_version, checksum, error, synced_at, created_at)
VALUES (:id, :name, :url, :sdk, :framework, :app_version, :checksum, :error, :synced_at, :created_at)
ON CONFLICT (name) DO UPDATE SET
    url = excluded.url, sdk = excluded.sdk, framework = excluded.framework,
    app_version = excluded.app_version, checksum = excluded.checksum, error = excluded.error,
    synced_at = excluded.synced_at, removed_at = NULL

-- list_apps --
SELECT id, name, url, sdk, framework, app_version, checksum, error, synced_at, created_at
FROM apps WHERE removed_at IS NULL ORDER BY name

-- list_functions --
SELECT id, app_id, slug, name, config, version, archived_at, created_at, updated_at, paused_at
FROM functions WHERE archived_at IS NULL OR :include_archived ORDER BY slug

-- get_function --
SELECT id, app_id, slug, name, config, version, archived_at, created_at, updated_at, paused_at
FROM functions WHERE slug = :key OR id = :key

-- upsert_function --
INSERT INTO functions (id, app_id, slug, name, config, version, archived_at, created_at, updated_at,
    paused_at)
VALUES (:id, :app_id, :slug, :name, :config, :version, :archived_at, :created_at, :updated_at,
    :paused_at)
ON CONFLICT (id) DO UPDATE SET
    app_id = excluded.app_id, slug = excluded.slug, name = excluded.name, config = excluded.config,
    version = excluded.version, archived_at = excluded.archived_at, updated_at = excluded.updated_at

-- active_functions_of_app --
SELECT id, slug FROM functions WHERE app_id = :app_id AND archived_at IS NULL

-- archive_function --
UPDATE functions SET archived_at = :now, updated_at = :now WHERE id = :id

-- get_setting --
SELECT value FROM settings WHERE key = :key

-- set_setting --
INSERT INTO settings (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- insert_event --
INSERT INTO events (internal_id, name, user_id, payload, ts, received_at, source)
VALUES (:internal_id, :name, :user_id, :payload, :ts, :received_at, :source)
RETURNING seq

-- get_event --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source
FROM events WHERE internal_id = :internal_id ORDER BY seq LIMIT 1

-- get_event_by_seq --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source FROM events WHERE seq = :seq

-- event_names --
-- The names of a page's trigger events (`:ids` a JSON array of internal ids), one index seek each.
SELECT internal_id, name FROM events WHERE internal_id IN (SELECT value FROM json_each(:ids))

-- list_events --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source FROM events
WHERE (:name IS NULL OR name = :name) AND (:cursor IS NULL OR seq < :cursor)
ORDER BY seq DESC LIMIT :limit

-- events_after --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source FROM events
WHERE name = :name AND seq > :seq ORDER BY seq LIMIT :limit

-- last_event_seq --
SELECT coalesce(max(seq), 0) FROM events

-- claim_idempotency_key --
-- Take the key unless someone holds it unexpired: a row comes back only when this call took it.
INSERT INTO idempotency (scope, key, expires_at) VALUES (:scope, :key, :expires_at)
ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at WHERE idempotency.expires_at <= :now
RETURNING 1

-- insert_skip --
INSERT INTO skips (event_internal_id, function_id, function_slug, reason, at)
VALUES (:event_internal_id, :function_id, :function_slug, :reason, :at)

-- list_skips --
SELECT event_internal_id, function_id, function_slug, reason, at FROM skips
WHERE event_internal_id = :event_internal_id ORDER BY rowid

-- insert_run --
INSERT INTO runs (id, function_id, function_slug, function_version, app_version, event_id, status, reason,
    output, created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan,
    request_version, pending, constraints, change_seq)
VALUES (:id, :function_id, :function_slug, :function_version, :app_version, :event_id, :status, :reason,
    :output, :created_at, :started_at, :ended_at, :parent, :cron, :batch_id, :original_run_id, :force_plan,
    :request_version, :pending, :constraints, :change_seq)

-- insert_run_event --
INSERT INTO run_events (run_id, position, event_seq) VALUES (:run_id, :position, :event_seq)

-- lock_run --
-- The single writer already serializes transactions.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE id = :id

-- get_run --
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE id = :id

-- update_run --
UPDATE runs SET status = :status, reason = :reason, output = :output, started_at = :started_at,
    ended_at = :ended_at, force_plan = :force_plan, request_version = :request_version, pending = :pending,
    app_version = :app_version, change_seq = :change_seq
WHERE id = :id

-- list_runs --
-- Newest first; the cursor and the time filters are folded into the id range (run ids start with their time).
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs
WHERE (:status IS NULL OR status = :status) AND (:function_slug IS NULL OR function_slug = :function_slug)
    AND id >= :id_min AND id < :id_max
    AND created_at >= :created_after AND created_at < :created_before
    AND (:app_id IS NULL OR function_id IN (SELECT id FROM functions WHERE app_id = :app_id))
ORDER BY id DESC
LIMIT :limit

-- runs_for_event --
-- The runs an event started, batches it was part of included.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE id IN (
    SELECT id FROM runs WHERE event_id = :event_id
    UNION
    SELECT run_events.run_id FROM run_events JOIN events ON events.seq = run_events.event_seq
    WHERE events.internal_id = :event_id
) ORDER BY id

-- run_event_seqs --
SELECT event_seq FROM run_events WHERE run_id = :run_id ORDER BY position

-- save_step --
-- Insert a step, or give an existing one without an outcome its outcome: the first outcome wins.
INSERT INTO steps (run_id, hashed_id, user_id, idx, op, status, memo, size, finished_seq, started_at, ended_at,
    attempts, deadline, input, wait)
VALUES (:run_id, :hashed_id, :user_id, :idx, :op, :status, :memo, coalesce(length(CAST(:memo AS BLOB)), 0),
    CASE WHEN :memo IS NULL THEN NULL
         ELSE (SELECT coalesce(max(finished_seq), 0) + 1 FROM steps WHERE run_id = :run_id) END,
    :started_at, :ended_at, :attempts, :deadline, :input, :wait)
ON CONFLICT (run_id, hashed_id) DO UPDATE SET
    op = excluded.op, status = excluded.status, memo = excluded.memo, size = excluded.size,
    finished_seq = excluded.finished_seq,
    started_at = coalesce(steps.started_at, excluded.started_at), ended_at = excluded.ended_at,
    attempts = max(steps.attempts, excluded.attempts), deadline = coalesce(excluded.deadline, steps.deadline),
    input = coalesce(excluded.input, steps.input), wait = coalesce(excluded.wait, steps.wait)
WHERE steps.memo IS NULL

-- list_steps --
SELECT run_id, hashed_id, user_id, idx, op, status, memo, started_at, ended_at, attempts, seq, finished_seq,
    deadline, input, wait
FROM steps WHERE run_id = :run_id ORDER BY seq

-- get_step --
SELECT run_id, hashed_id, user_id, idx, op, status, memo, started_at, ended_at, attempts, seq, finished_seq,
    deadline, input, wait
FROM steps WHERE run_id = :run_id AND hashed_id = :hashed_id

-- run_step_stats --
SELECT count(*), coalesce(sum(size), 0) FROM steps WHERE run_id = :run_id

-- step_memos --
SELECT hashed_id, memo FROM steps WHERE run_id = :run_id AND memo IS NOT NULL ORDER BY finished_seq

-- step_history --
-- What a call sends (the memos) and what its answer is compared with (`runs.nondeterminism`), in one read.
SELECT hashed_id, memo, user_id, op, finished_seq FROM steps WHERE run_id = :run_id ORDER BY seq

-- insert_attempt --
INSERT INTO attempts (run_id, step_id, attempt, error, at, user_id)
VALUES (:run_id, :step_id, :attempt, :error, :at, :user_id)

-- list_attempts --
SELECT run_id, step_id, attempt, error, at, user_id FROM attempts WHERE run_id = :run_id ORDER BY id

-- pending_retries --
-- The run's calls waiting to try again after a failed attempt (counted, or an unreachable app), unleased.
SELECT attempt_step, attempt, coalesce(held_run_at, run_at) FROM queue
WHERE run_id = :run_id AND kind = 'call' AND lease_owner IS NULL AND (attempt > 0 OR payload <> '{}')

-- reruns_of --
SELECT id FROM runs WHERE original_run_id = :run_id ORDER BY id

-- put_step_input --
INSERT INTO step_inputs (run_id, hashed_id, input) VALUES (:run_id, :hashed_id, :input)
ON CONFLICT (run_id, hashed_id) DO UPDATE SET input = excluded.input

-- step_inputs --
SELECT hashed_id, input FROM step_inputs WHERE run_id = :run_id

-- insert_bulk_job --
INSERT INTO bulk_jobs (id, kind, app_id, function_id, function_slug, started_after, started_before, expression,
    statuses, cursor, matched, acted, created_at, done_at)
VALUES (:id, :kind, :app_id, :function_id, :function_slug, :started_after, :started_before, :expression,
    :statuses, :cursor, :matched, :acted, :created_at, :done_at)

-- get_bulk_job --
SELECT id, kind, app_id, function_id, function_slug, started_after, started_before, expression, statuses, cursor,
    matched, acted, created_at, done_at
FROM bulk_jobs WHERE id = :id

-- lock_bulk_job --
-- The single writer already serializes transactions: one engine works a job at a time.
SELECT id, kind, app_id, function_id, function_slug, started_after, started_before, expression, statuses, cursor,
    matched, acted, created_at, done_at
FROM bulk_jobs WHERE id = :id

-- update_bulk_job --
UPDATE bulk_jobs SET cursor = :cursor, matched = :matched, acted = :acted, done_at = :done_at WHERE id = :id

-- list_bulk_jobs --
SELECT id, kind, app_id, function_id, function_slug, started_after, started_before, expression, statuses, cursor,
    matched, acted, created_at, done_at
FROM bulk_jobs WHERE kind = :kind AND (:cursor IS NULL OR id < :cursor) ORDER BY id DESC LIMIT :limit

-- open_bulk_jobs --
SELECT id FROM bulk_jobs WHERE done_at IS NULL ORDER BY id LIMIT :limit

-- bulk_scan_runs --
-- A function's runs after the cursor, oldest first, up to the last id a job may reach (an index range scan).
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE function_slug = :function_slug AND id > :cursor AND id < :until ORDER BY id LIMIT :limit

-- claim_replay --
INSERT INTO replay_runs (replay_id, original_run_id, run_id) VALUES (:replay_id, :original_run_id, :run_id)
ON CONFLICT (replay_id, original_run_id) DO NOTHING

-- replay_of --
SELECT replay_id FROM replay_runs WHERE run_id = :run_id

-- insert_audit --
INSERT INTO audit_log (id, at, actor, action, target, status, result)
VALUES (:id, :at, :actor, :action, :target, :status, :result)

-- list_audit --
SELECT id, at, actor, action, target, status, result FROM audit_log
WHERE (:cursor IS NULL OR id < :cursor) ORDER BY id DESC LIMIT :limit

-- enqueue --
INSERT INTO queue (id, kind, run_id, function_id, target, payload, run_at, priority, constraints, attempt,
    attempt_step, generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1,
    ckey2, climit2)
VALUES (:id, :kind, :run_id, :function_id, :target, :payload, :run_at, :priority, :constraints, :attempt,
    :attempt_step, :generation, :lease_owner, :lease_expires_at, :job_key, :created_at,
    :partition, :score, :ckey1, :climit1, :ckey2, :climit2)
ON CONFLICT (job_key) DO NOTHING

-- lease_clock --
-- Lease times are read from the database's clock (with one SQLite file, the machine's).
SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)

-- notify_work --
-- SQLite has one engine process, woken in memory: nothing to notify.
SELECT 1

-- get_queue_item --
SELECT id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2
FROM queue WHERE id = :id

-- holds_lease --
SELECT 1 FROM queue WHERE id = :id AND generation = :generation

-- delete_queue_item --
DELETE FROM queue WHERE id = :id

-- delete_queue_item_by_key --
DELETE FROM queue WHERE job_key = :job_key

-- reschedule --
UPDATE queue SET score = :run_at - (run_at - score), run_at = :run_at, attempt = :attempt, attempt_step = :attempt_step, payload = :payload,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id

-- extend_lease --
UPDATE queue SET lease_expires_at = :lease_until WHERE id = :id AND lease_owner = :owner

-- release_leases --
UPDATE queue SET lease_owner = NULL, lease_expires_at = NULL
WHERE lease_owner IS NOT NULL AND (:owner IS NULL OR lease_owner = :owner)

-- release_item --
UPDATE queue SET lease_owner = NULL, lease_expires_at = NULL WHERE id = :id AND lease_owner = :owner

-- delete_run_items --
DELETE FROM queue WHERE run_id = :run_id

-- next_due_at --
SELECT min(run_at) FROM queue WHERE lease_owner IS NULL

-- count_queue_items --
SELECT count(*) FROM queue

-- delete_function_items --
DELETE FROM queue WHERE function_id = :function_id AND kind = :kind

-- lock_name_shared --
-- The single writer already serializes every transaction.
SELECT :key

-- try_lock_name --
SELECT 1

-- lock_name_exclusive --
SELECT :key

-- insert_pause --
INSERT INTO pauses (id, run_id, kind, step_id, event_name, expression, correlation_id, trigger_event, min_seq,
    expires_at, created_at)
VALUES (:id, :run_id, :kind, :step_id, :event_name, :expression, :correlation_id, :trigger_event, :min_seq,
    :expires_at, :created_at)

-- candidate_pauses --
SELECT id, run_id, kind, event_name, trigger_event, min_seq, expires_at, created_at, step_id, expression,
    correlation_id
FROM pauses WHERE event_name = :event_name AND expires_at > :now AND min_seq < :before_seq
ORDER BY created_at, id

-- delete_pause --
DELETE FROM pauses WHERE id = :id

-- get_pause --
SELECT id, run_id, kind, event_name, trigger_event, min_seq, expires_at, created_at, step_id, expression,
    correlation_id
FROM pauses WHERE id = :id

-- get_pause_by_correlation --
SELECT id, run_id, kind, event_name, trigger_event, min_seq, expires_at, created_at, step_id, expression,
    correlation_id
FROM pauses WHERE correlation_id = :correlation_id

-- delete_run_pauses --
DELETE FROM pauses WHERE run_id = :run_id

-- ended_runs_before --
SELECT id FROM runs WHERE ended_at IS NOT NULL AND ended_at < :before ORDER BY ended_at LIMIT :limit

-- delete_run_steps --
DELETE FROM steps WHERE run_id = :run_id

-- delete_run_attempts --
DELETE FROM attempts WHERE run_id = :run_id

-- delete_run_events --
DELETE FROM run_events WHERE run_id = :run_id

-- delete_run --
DELETE FROM runs WHERE id = :run_id

-- prune_events --
-- Old receipts no run still points at.
DELETE FROM events WHERE seq IN (
    SELECT seq FROM events AS e WHERE e.received_at < :before
        AND NOT EXISTS (SELECT 1 FROM run_events AS r WHERE r.event_seq = e.seq)
    LIMIT :limit
)

-- prune_skips --
DELETE FROM skips WHERE event_internal_id IN (
    SELECT event_internal_id FROM skips WHERE at < :before LIMIT :limit
)

-- prune_idempotency --
DELETE FROM idempotency WHERE (scope, key) IN (
    SELECT scope, key FROM idempotency WHERE expires_at < :now LIMIT :limit
)

-- release_expired --
-- Items whose holder's lease ran out (a dead or stuck engine) go back to the queue, to be claimed like
-- any other (a new claim increments the generation, which fences the old holder).
UPDATE queue SET lease_owner = NULL, lease_expires_at = NULL
WHERE id IN (
    SELECT id FROM queue WHERE lease_owner IS NOT NULL AND lease_expires_at <= :lease_now LIMIT :limit
)

-- claim_partition --
-- Lease the first due items of one partition, in score order (run_at moved by the run's priority).
UPDATE queue SET lease_owner = :owner, lease_expires_at = :lease_until, generation = generation + 1
WHERE id IN (
    SELECT id FROM queue
    WHERE partition = :partition AND lease_owner IS NULL AND run_at <= :now
    ORDER BY score, id LIMIT :limit
)
RETURNING id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2

-- partition_candidates --
SELECT id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2
FROM queue WHERE partition = :partition AND lease_owner IS NULL AND run_at <= :now
ORDER BY score, id LIMIT :limit

-- mark_held --
-- Calls a full concurrency key keeps waiting, marked the first time a claim finds them so (counted once).
UPDATE queue SET held_for = 'concurrency'
WHERE partition = :partition AND lease_owner IS NULL AND run_at <= :now AND held_for IS NULL
    AND (:item_id IS NULL OR id = :item_id)
RETURNING function_id

-- queue_gauges --
-- What the queue holds now, for the metrics' gauges: due unclaimed items (calls apart), and claimed calls,
-- by function: two index scans (queue_due, queue_leased).
SELECT function_id, CASE WHEN kind = 'call' THEN 1 ELSE 0 END, 0, count(*)
FROM queue WHERE lease_owner IS NULL AND run_at <= :now
GROUP BY function_id, CASE WHEN kind = 'call' THEN 1 ELSE 0 END
UNION ALL
SELECT function_id, 1, 1, count(*) FROM queue WHERE lease_owner IS NOT NULL AND kind = 'call' GROUP BY function_id

-- next_partition --
-- The next constrained partition (they sort between '' and '~timers') with unleased items: an index seek.
SELECT partition FROM queue
WHERE lease_owner IS NULL AND partition > :after AND partition < '~'
ORDER BY partition LIMIT 1

-- lease_item --
UPDATE queue SET lease_owner = :owner, lease_expires_at = :lease_until, generation = generation + 1
WHERE id = :id AND lease_owner IS NULL
RETURNING id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2

-- keys_in_use --
-- Calls in flight that hold a concurrency key (unexpired leases).
SELECT (SELECT count(*) FROM queue WHERE ckey1 = :key AND lease_owner IS NOT NULL
            AND lease_expires_at > :lease_now)
     + (SELECT count(*) FROM queue WHERE ckey2 = :key AND lease_owner IS NOT NULL
            AND lease_expires_at > :lease_now)

-- reschedule_item --
UPDATE queue SET score = :run_at - (run_at - score), run_at = :run_at WHERE id = :id

-- reschedule_by_key --
UPDATE queue SET score = :run_at - (run_at - score), run_at = :run_at WHERE job_key = :job_key

-- get_limiter --
SELECT tat FROM limiters WHERE key = :key AND expires_at > :now

-- put_limiter --
INSERT INTO limiters (key, tat, expires_at) VALUES (:key, :tat, :expires_at)
ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, expires_at = excluded.expires_at

-- lock_debounce --
SELECT function_id, key, event_seq, first_at, due_at FROM debounces
WHERE function_id = :function_id AND key = :key

-- put_debounce --
INSERT INTO debounces (function_id, key, event_seq, first_at, due_at)
VALUES (:function_id, :key, :event_seq, :first_at, :due_at)
ON CONFLICT (function_id, key) DO UPDATE SET event_seq = excluded.event_seq, due_at = excluded.due_at

-- delete_debounce --
DELETE FROM debounces WHERE function_id = :function_id AND key = :key

-- lock_open_batch --
SELECT id, function_id, key, first_at, size, bytes FROM batches
WHERE function_id = :function_id AND key = :key

-- get_batch --
SELECT id, function_id, key, first_at, size, bytes FROM batches WHERE id = :id

-- put_batch --
INSERT INTO batches (id, function_id, key, first_at, size, bytes)
VALUES (:id, :function_id, :key, :first_at, :size, :bytes)
ON CONFLICT (id) DO UPDATE SET size = excluded.size, bytes = excluded.bytes

-- add_batch_event --
INSERT INTO batch_events (batch_id, position, event_seq) VALUES (:batch_id, :position, :event_seq)

-- batch_event_seqs --
SELECT event_seq FROM batch_events WHERE batch_id = :batch_id ORDER BY position

-- delete_batch_events --
DELETE FROM batch_events WHERE batch_id = :batch_id

-- delete_batch --
DELETE FROM batches WHERE id = :batch_id

-- get_singleton --
SELECT run_id FROM singletons WHERE function_id = :function_id AND key = :key

-- put_singleton --
INSERT INTO singletons (function_id, key, run_id) VALUES (:function_id, :key, :run_id)
ON CONFLICT (function_id, key) DO UPDATE SET run_id = excluded.run_id

-- delete_run_singletons --
DELETE FROM singletons WHERE run_id = :run_id

-- prune_limiters --
DELETE FROM limiters WHERE key IN (SELECT key FROM limiters WHERE expires_at < :now LIMIT :limit)

-- event_holds --
SELECT f.slug, 'debounced', d.due_at FROM debounces d JOIN events e ON e.seq = d.event_seq
JOIN functions f ON f.id = d.function_id WHERE e.internal_id = :event_internal_id
UNION ALL
SELECT f.slug, 'batched', q.run_at FROM batch_events be JOIN events e ON e.seq = be.event_seq
JOIN batches b ON b.id = be.batch_id JOIN functions f ON f.id = b.function_id
LEFT JOIN queue q ON q.job_key = 'batch:' || b.id WHERE e.internal_id = :event_internal_id

-- peek_limiter --
SELECT tat FROM limiters WHERE key = :key AND expires_at > :now

-- list_run_changes --
-- The change feed: runs written after the cursor (change_seq, id), oldest change first. The single writer
-- stamps each transaction with a number above every earlier one and commits in that order, so nothing
-- can later appear behind a cursor a reader was given.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs
WHERE (change_seq, id) > (:seq, :id)
    AND (:status IS NULL OR status = :status) AND (:function_slug IS NULL OR function_slug = :function_slug)
ORDER BY change_seq, id
LIMIT :limit

-- run_changes_head --
-- The feed's end: the newest stamp (an index seek on runs_change_seq).
SELECT change_seq, id FROM runs ORDER BY change_seq DESC, id DESC LIMIT 1

-- touch_run --
-- A step was saved: the run changed (once per transaction).
UPDATE runs SET change_seq = :change_seq WHERE id = :run_id AND change_seq <> :change_seq

-- change_seq_high --
-- Where the writer's change counter resumes: above every stamp stored and every stamp of a pruned run.
SELECT max(coalesce((SELECT max(change_seq) FROM runs), 0),
    coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'change_seq_floor'), 0))

-- keep_change_floor --
-- Before a run is pruned, remember its stamp: the counter must never go back below a cursor handed out.
INSERT INTO settings (key, value)
SELECT 'change_seq_floor', CAST(change_seq AS TEXT) FROM runs WHERE id = :run_id
ON CONFLICT (key) DO UPDATE
SET value = CAST(max(CAST(settings.value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)

-- set_function_paused --
UPDATE functions SET paused_at = :paused_at WHERE id = :id

-- hold_function_calls --
-- A paused function's waiting calls keep their due time in `held_run_at` and move out of every claim's reach.
UPDATE queue SET held_run_at = run_at, score = :held - (run_at - score), run_at = :held
WHERE function_id = :function_id AND kind = 'call' AND lease_owner IS NULL AND held_run_at IS NULL

-- hold_item --
-- A call of a paused function that a claim (or a retry) let through: held, and its lease given up.
UPDATE queue SET held_run_at = run_at, score = :held - (run_at - score), run_at = :held,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND held_run_at IS NULL

-- release_function_calls --
-- A resumed function's held calls get their due time back (their priority offset kept).
UPDATE queue SET score = held_run_at - (run_at - score), run_at = held_run_at, held_run_at = NULL
WHERE function_id = :function_id AND held_run_at IS NOT NULL

-- remove_app --
-- Hidden until it syncs again; the checksum is forgotten so that the next sync registers it in full.
UPDATE apps SET removed_at = :now, checksum = NULL WHERE id = :id

-- run_counts --
-- Runs created since a time, by function and status: an index-only scan of `runs_function_status`.
SELECT function_slug, status, count(*) FROM runs WHERE created_at >= :since
GROUP BY function_slug, status

-- function_run_counts --
-- One function's runs created since a time, by status: a range of `runs_function_status` per status.
SELECT function_slug, status, count(*) FROM runs WHERE function_slug = :function_slug AND created_at >= :since
GROUP BY function_slug, status

-- search_runs --
-- `list_runs` with each run's trigger event (its first receipt), for filters over the event.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq,
    (SELECT payload FROM events WHERE events.internal_id = runs.event_id ORDER BY seq LIMIT 1)
FROM runs
WHERE (:status IS NULL OR status = :status) AND (:function_slug IS NULL OR function_slug = :function_slug)
    AND id >= :id_min AND id < :id_max
    AND created_at >= :created_after AND created_at < :created_before
    AND (:app_id IS NULL OR function_id IN (SELECT id FROM functions WHERE app_id = :app_id))
ORDER BY id DESC
LIMIT :limit

-- plan_for_values --
-- SQLite plans every statement with its values already.
SELECT 1

-- insert_run_warning --
-- A run-time non-determinism finding; one already recorded for the run (same code and steps) is kept as is.
INSERT INTO run_warnings (run_id, code, message, step_ids, at) VALUES (:run_id, :code, :message, :step_ids, :at)
ON CONFLICT (run_id, code, step_ids) DO NOTHING

-- run_warnings --
SELECT run_id, code, message, step_ids, at FROM run_warnings WHERE run_id = :run_id ORDER BY id

-- delete_run_warnings --
DELETE FROM run_warnings WHERE run_id = :run_id

-- stats_run_starts --
-- Runs that started in [:start, :end), by bucket of :size ms (integer division of the epoch millis), with how
-- long each waited from its creation to its first call (the queue latency): the count and the nearest-rank
-- p50 and p95. A run that started in the window ended in it or has not ended: the range scans
-- `runs_ended_at` (from :start, and its NULLs). A run cancelled before it started is not counted.
WITH started AS (
    SELECT (started_at - :start) / :size AS bucket, started_at - created_at AS latency
    FROM runs
    WHERE (ended_at >= :start OR ended_at IS NULL) AND started_at >= :start AND started_at < :end
        AND (:function_slug IS NULL OR function_slug = :function_slug)
        AND NOT (status = 'Cancelled' AND started_at = ended_at)
), ranked AS (
    SELECT bucket, latency, ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY latency) AS n,
        COUNT(*) OVER (PARTITION BY bucket) AS total
    FROM started
)
SELECT bucket, total, MAX(CASE WHEN n = (total * 50 + 99) / 100 THEN latency END),
    MAX(CASE WHEN n = (total * 95 + 99) / 100 THEN latency END)
FROM ranked GROUP BY bucket, total ORDER BY bucket

-- stats_run_ends --
-- Runs that ended Completed, Failed or Cancelled in [:start, :end), by bucket and status: a range of `runs_ended_at`
-- (`+status` keeps the planner from scanning every ended run by `runs_status` instead).
SELECT (ended_at - :start) / :size AS bucket, status, COUNT(*)
FROM runs
WHERE ended_at >= :start AND ended_at < :end AND +status IN ('Completed', 'Failed', 'Cancelled')
    AND (:function_slug IS NULL OR function_slug = :function_slug)
GROUP BY bucket, status ORDER BY bucket

-- stats_backlog --
-- The backlog's changes by bucket: +1 where a run was created, -1 where it started (or was cancelled before
-- it started); bucket -1 holds the runs waiting when the window opens. Only runs waiting at some time in the
-- window count, and each of them has not ended or ended in it: the same scan of `runs_ended_at`.
WITH waiting AS (
    SELECT created_at, started_at
    FROM runs
    WHERE (ended_at >= :start OR ended_at IS NULL) AND created_at < :end AND status <> 'Skipped'
        AND (started_at IS NULL OR started_at >= :start)
        AND (:function_slug IS NULL OR function_slug = :function_slug)
)
SELECT bucket, SUM(delta) FROM (
    SELECT CASE WHEN created_at < :start THEN -1 ELSE (created_at - :start) / :size END AS bucket, 1 AS delta
    FROM waiting
    UNION ALL
    SELECT (started_at - :start) / :size, -1 FROM waiting WHERE started_at IS NOT NULL AND started_at < :end
) GROUP BY bucket ORDER BY bucket

-- stats_step_durations --
-- step.run steps that finished in [:start, :end), by function: how many, and the nearest-rank p50 and p95 of
-- their durations, from when each was scheduled to when its result was stored (retries included), as the run
-- page's waterfall draws them: a step planned before it ran starts at its plan; one the SDK ran inline (stored
-- when its result came) at the end of the run's step before it, or the run's start. Its runs are those not
-- ended or ended in the window (`runs_ended_at`); their steps come by `steps`' (run_id, hashed_id) index.
WITH timed AS (
    SELECT r.function_slug, s.op, s.started_at, s.ended_at, r.started_at AS run_start,
        MAX(s.ended_at) OVER (
            PARTITION BY s.run_id ORDER BY s.ended_at RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS previous_end
    FROM runs r CROSS JOIN steps s ON s.run_id = r.id  -- CROSS JOIN: the runs drive the join
    WHERE (r.ended_at >= :start OR r.ended_at IS NULL) AND s.ended_at IS NOT NULL
        AND (:function_slug IS NULL OR r.function_slug = :function_slug)
), durations AS (
    SELECT function_slug, ended_at - CASE WHEN ended_at > started_at THEN started_at
        ELSE MIN(started_at, MAX(COALESCE(previous_end, run_start, started_at), COALESCE(run_start, started_at)))
        END AS duration
    FROM timed
    WHERE ended_at >= :start AND ended_at < :end AND op IN ('StepRun', 'StepFailed')
), ranked AS (
    SELECT function_slug, duration, ROW_NUMBER() OVER (PARTITION BY function_slug ORDER BY duration) AS n,
        COUNT(*) OVER (PARTITION BY function_slug) AS total
    FROM durations
)
SELECT function_slug, total, MAX(CASE WHEN n = (total * 50 + 99) / 100 THEN duration END),
    MAX(CASE WHEN n = (total * 95 + 99) / 100 THEN duration END)
FROM ranked GROUP BY function_slug, total ORDER BY function_slug
