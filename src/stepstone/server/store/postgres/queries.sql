-- get_app --
SELECT id, name, url, sdk, framework, app_version, checksum, error, synced_at, created_at
FROM apps WHERE name = %(name)s

-- upsert_app --
INSERT INTO apps (id, name, url, sdk, framework, app_version, checksum, error, synced_at, created_at)
VALUES (%(id)s, %(name)s, %(url)s, %(sdk)s, %(framework)s, %(app_version)s, %(checksum)s, %(error)s, %(synced_at)s, %(created_at)s)
ON CONFLICT (name) DO UPDATE SET
    url = excluded.url, sdk = excluded.sdk, framework = excluded.framework,
    app_version = excluded.app_version, checksum = excluded.checksum, error = excluded.error,
    synced_at = excluded.synced_at, removed_at = NULL

-- list_apps --
SELECT id, name, url, sdk, framework, app_version, checksum, error, synced_at, created_at
FROM apps WHERE removed_at IS NULL ORDER BY name

-- list_functions --
SELECT id, app_id, slug, name, config, version, archived_at, created_at, updated_at, paused_at
FROM functions WHERE archived_at IS NULL OR %(include_archived)s::boolean ORDER BY slug

-- get_function --
SELECT id, app_id, slug, name, config, version, archived_at, created_at, updated_at, paused_at
FROM functions WHERE slug = %(key)s OR id = %(key)s

-- upsert_function --
INSERT INTO functions (id, app_id, slug, name, config, version, archived_at, created_at, updated_at,
    paused_at)
VALUES (%(id)s, %(app_id)s, %(slug)s, %(name)s, %(config)s, %(version)s, %(archived_at)s, %(created_at)s, %(updated_at)s,
    %(paused_at)s)
ON CONFLICT (id) DO UPDATE SET
    app_id = excluded.app_id, slug = excluded.slug, name = excluded.name, config = excluded.config,
    version = excluded.version, archived_at = excluded.archived_at, updated_at = excluded.updated_at

-- active_functions_of_app --
SELECT id, slug FROM functions WHERE app_id = %(app_id)s AND archived_at IS NULL

-- archive_function --
UPDATE functions SET archived_at = %(now)s, updated_at = %(now)s WHERE id = %(id)s

-- get_setting --
SELECT value FROM settings WHERE key = %(key)s

-- set_setting --
INSERT INTO settings (key, value) VALUES (%(key)s, %(value)s)
ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- insert_event --
INSERT INTO events (internal_id, name, user_id, payload, ts, received_at, source)
VALUES (%(internal_id)s, %(name)s, %(user_id)s, %(payload)s, %(ts)s, %(received_at)s, %(source)s)
RETURNING seq

-- get_event --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source
FROM events WHERE internal_id = %(internal_id)s ORDER BY seq LIMIT 1

-- get_event_by_seq --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source FROM events WHERE seq = %(seq)s

-- event_names --
-- The names of a page's trigger events (`ids` a JSON array of internal ids), one index seek each.
SELECT internal_id, name FROM events WHERE internal_id IN (SELECT jsonb_array_elements_text(%(ids)s::jsonb))

-- list_events --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source FROM events
WHERE (%(name)s::text IS NULL OR name = %(name)s::text) AND (%(cursor)s::bigint IS NULL OR seq < %(cursor)s::bigint)
ORDER BY seq DESC LIMIT %(limit)s

-- events_after --
SELECT seq, internal_id, name, user_id, payload, ts, received_at, source FROM events
WHERE name = %(name)s AND seq > %(seq)s ORDER BY seq LIMIT %(limit)s

-- last_event_seq --
SELECT coalesce(max(seq), 0) FROM events

-- claim_idempotency_key --
-- Take the key unless someone holds it unexpired: a row comes back only when this call took it.
INSERT INTO idempotency (scope, key, expires_at) VALUES (%(scope)s, %(key)s, %(expires_at)s)
ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at WHERE idempotency.expires_at <= %(now)s
RETURNING 1

-- insert_skip --
INSERT INTO skips (event_internal_id, function_id, function_slug, reason, at)
VALUES (%(event_internal_id)s, %(function_id)s, %(function_slug)s, %(reason)s, %(at)s)

-- list_skips --
SELECT event_internal_id, function_id, function_slug, reason, at FROM skips
WHERE event_internal_id = %(event_internal_id)s ORDER BY id

-- insert_run --
INSERT INTO runs (id, function_id, function_slug, function_version, app_version, event_id, status, reason,
    output, created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan,
    request_version, pending, constraints, change_seq)
VALUES (%(id)s, %(function_id)s, %(function_slug)s, %(function_version)s, %(app_version)s, %(event_id)s, %(status)s, %(reason)s,
    %(output)s, %(created_at)s, %(started_at)s, %(ended_at)s, %(parent)s, %(cron)s, %(batch_id)s, %(original_run_id)s, %(force_plan)s,
    %(request_version)s, %(pending)s, %(constraints)s, pg_current_xact_id()::text::bigint)

-- insert_run_event --
INSERT INTO run_events (run_id, position, event_seq) VALUES (%(run_id)s, %(position)s, %(event_seq)s)

-- lock_run --
-- Changes to a run are serialized by its row lock, held until the transaction ends.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE id = %(id)s FOR UPDATE

-- get_run --
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE id = %(id)s

-- update_run --
UPDATE runs SET status = %(status)s, reason = %(reason)s, output = %(output)s, started_at = %(started_at)s,
    ended_at = %(ended_at)s, force_plan = %(force_plan)s, request_version = %(request_version)s, pending = %(pending)s,
    app_version = %(app_version)s, change_seq = pg_current_xact_id()::text::bigint
WHERE id = %(id)s

-- list_runs --
-- Newest first; the cursor and the time filters are folded into the id range (run ids start with their time).
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs
WHERE (%(status)s::text IS NULL OR status = %(status)s::text)
    AND (%(function_slug)s::text IS NULL OR function_slug = %(function_slug)s::text)
    AND id >= %(id_min)s::text AND id < %(id_max)s::text
    AND created_at >= %(created_after)s::bigint AND created_at < %(created_before)s::bigint
    AND (%(app_id)s::text IS NULL OR function_id IN (SELECT id FROM functions WHERE app_id = %(app_id)s::text))
ORDER BY id DESC
LIMIT %(limit)s

-- runs_for_event --
-- The runs an event started, batches it was part of included.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE id IN (
    SELECT id FROM runs WHERE event_id = %(event_id)s
    UNION
    SELECT run_events.run_id FROM run_events JOIN events ON events.seq = run_events.event_seq
    WHERE events.internal_id = %(event_id)s
) ORDER BY id

-- run_event_seqs --
SELECT event_seq FROM run_events WHERE run_id = %(run_id)s ORDER BY position

-- save_step --
-- Insert a step, or give an existing one without an outcome its outcome: the first outcome wins.
INSERT INTO steps (run_id, hashed_id, user_id, idx, op, status, memo, size, finished_seq, started_at, ended_at,
    attempts, deadline, input, wait)
VALUES (%(run_id)s, %(hashed_id)s, %(user_id)s, %(idx)s, %(op)s, %(status)s, %(memo)s::text,
    coalesce(octet_length(%(memo)s::text), 0),
    CASE WHEN %(memo)s::text IS NULL THEN NULL
         ELSE (SELECT coalesce(max(finished_seq), 0) + 1 FROM steps WHERE run_id = %(run_id)s) END,
    %(started_at)s, %(ended_at)s, %(attempts)s, %(deadline)s, %(input)s, %(wait)s)
ON CONFLICT (run_id, hashed_id) DO UPDATE SET
    op = excluded.op, status = excluded.status, memo = excluded.memo, size = excluded.size,
    finished_seq = excluded.finished_seq,
    started_at = coalesce(steps.started_at, excluded.started_at), ended_at = excluded.ended_at,
    attempts = greatest(steps.attempts, excluded.attempts), deadline = coalesce(excluded.deadline, steps.deadline),
    input = coalesce(excluded.input, steps.input), wait = coalesce(excluded.wait, steps.wait)
WHERE steps.memo IS NULL

-- list_steps --
SELECT run_id, hashed_id, user_id, idx, op, status, memo, started_at, ended_at, attempts, seq, finished_seq,
    deadline, input, wait
FROM steps WHERE run_id = %(run_id)s ORDER BY seq

-- get_step --
SELECT run_id, hashed_id, user_id, idx, op, status, memo, started_at, ended_at, attempts, seq, finished_seq,
    deadline, input, wait
FROM steps WHERE run_id = %(run_id)s AND hashed_id = %(hashed_id)s

-- run_step_stats --
SELECT count(*), coalesce(sum(size), 0) FROM steps WHERE run_id = %(run_id)s

-- step_memos --
SELECT hashed_id, memo FROM steps WHERE run_id = %(run_id)s AND memo IS NOT NULL ORDER BY finished_seq

-- step_history --
-- What a call sends (the memos) and what its answer is compared with (`runs.nondeterminism`), in one read.
SELECT hashed_id, memo, user_id, op, finished_seq FROM steps WHERE run_id = %(run_id)s ORDER BY seq

-- insert_attempt --
INSERT INTO attempts (run_id, step_id, attempt, error, at, user_id)
VALUES (%(run_id)s, %(step_id)s, %(attempt)s, %(error)s, %(at)s, %(user_id)s)

-- list_attempts --
SELECT run_id, step_id, attempt, error, at, user_id FROM attempts WHERE run_id = %(run_id)s ORDER BY id

-- pending_retries --
-- The run's calls waiting to try again after a failed attempt (counted, or an unreachable app), unleased.
SELECT attempt_step, attempt, coalesce(held_run_at, run_at) FROM queue
WHERE run_id = %(run_id)s AND kind = 'call' AND lease_owner IS NULL AND (attempt > 0 OR payload <> '{}')

-- reruns_of --
SELECT id FROM runs WHERE original_run_id = %(run_id)s ORDER BY id

-- put_step_input --
INSERT INTO step_inputs (run_id, hashed_id, input) VALUES (%(run_id)s, %(hashed_id)s, %(input)s)
ON CONFLICT (run_id, hashed_id) DO UPDATE SET input = excluded.input

-- step_inputs --
SELECT hashed_id, input FROM step_inputs WHERE run_id = %(run_id)s

-- insert_bulk_job --
INSERT INTO bulk_jobs (id, kind, app_id, function_id, function_slug, started_after, started_before, expression,
    statuses, cursor, matched, acted, created_at, done_at)
VALUES (%(id)s, %(kind)s, %(app_id)s, %(function_id)s, %(function_slug)s, %(started_after)s, %(started_before)s, %(expression)s,
    %(statuses)s, %(cursor)s, %(matched)s, %(acted)s, %(created_at)s, %(done_at)s)

-- get_bulk_job --
SELECT id, kind, app_id, function_id, function_slug, started_after, started_before, expression, statuses, cursor,
    matched, acted, created_at, done_at
FROM bulk_jobs WHERE id = %(id)s

-- lock_bulk_job --
-- One engine works a job at a time: another engine's batch skips a job locked by this one.
SELECT id, kind, app_id, function_id, function_slug, started_after, started_before, expression, statuses, cursor,
    matched, acted, created_at, done_at
FROM bulk_jobs WHERE id = %(id)s FOR UPDATE SKIP LOCKED

-- update_bulk_job --
UPDATE bulk_jobs SET cursor = %(cursor)s, matched = %(matched)s, acted = %(acted)s, done_at = %(done_at)s WHERE id = %(id)s

-- list_bulk_jobs --
SELECT id, kind, app_id, function_id, function_slug, started_after, started_before, expression, statuses, cursor,
    matched, acted, created_at, done_at
FROM bulk_jobs WHERE kind = %(kind)s AND (%(cursor)s::text IS NULL OR id < %(cursor)s::text) ORDER BY id DESC LIMIT %(limit)s

-- open_bulk_jobs --
SELECT id FROM bulk_jobs WHERE done_at IS NULL ORDER BY id LIMIT %(limit)s

-- bulk_scan_runs --
-- A function's runs after the cursor, oldest first, up to the last id a job may reach (an index range scan).
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs WHERE function_slug = %(function_slug)s AND id > %(cursor)s AND id < %(until)s ORDER BY id LIMIT %(limit)s

-- claim_replay --
INSERT INTO replay_runs (replay_id, original_run_id, run_id) VALUES (%(replay_id)s, %(original_run_id)s, %(run_id)s)
ON CONFLICT (replay_id, original_run_id) DO NOTHING

-- replay_of --
SELECT replay_id FROM replay_runs WHERE run_id = %(run_id)s

-- insert_audit --
INSERT INTO audit_log (id, at, actor, action, target, status, result)
VALUES (%(id)s, %(at)s, %(actor)s, %(action)s, %(target)s, %(status)s, %(result)s)

-- list_audit --
SELECT id, at, actor, action, target, status, result FROM audit_log
WHERE (%(cursor)s::text IS NULL OR id < %(cursor)s::text) ORDER BY id DESC LIMIT %(limit)s

-- enqueue --
INSERT INTO queue (id, kind, run_id, function_id, target, payload, run_at, priority, constraints, attempt,
    attempt_step, generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1,
    ckey2, climit2)
VALUES (%(id)s, %(kind)s, %(run_id)s, %(function_id)s, %(target)s, %(payload)s, %(run_at)s, %(priority)s, %(constraints)s, %(attempt)s,
    %(attempt_step)s, %(generation)s, %(lease_owner)s, %(lease_expires_at)s, %(job_key)s, %(created_at)s,
    %(partition)s, %(score)s, %(ckey1)s, %(climit1)s, %(ckey2)s, %(climit2)s)
ON CONFLICT (job_key) DO NOTHING

-- lease_clock --
-- Lease times are read from the database's clock: every engine machine reads the same one.
SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint

-- notify_work --
-- Wake idle engine processes (LISTEN stepstone_queue); delivered when the transaction commits.
NOTIFY stepstone_queue

-- get_queue_item --
SELECT id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2
FROM queue WHERE id = %(id)s

-- holds_lease --
-- Locks the item: no other engine can claim it again until this transaction ends.
SELECT 1 FROM queue WHERE id = %(id)s AND generation = %(generation)s FOR UPDATE

-- delete_queue_item --
DELETE FROM queue WHERE id = %(id)s

-- delete_queue_item_by_key --
DELETE FROM queue WHERE job_key = %(job_key)s

-- reschedule --
UPDATE queue SET score = %(run_at)s - (run_at - score), run_at = %(run_at)s, attempt = %(attempt)s, attempt_step = %(attempt_step)s, payload = %(payload)s,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = %(id)s

-- extend_lease --
UPDATE queue SET lease_expires_at = %(lease_until)s WHERE id = %(id)s AND lease_owner = %(owner)s

-- release_leases --
UPDATE queue SET lease_owner = NULL, lease_expires_at = NULL
WHERE lease_owner IS NOT NULL AND (%(owner)s::text IS NULL OR lease_owner = %(owner)s::text)

-- release_item --
UPDATE queue SET lease_owner = NULL, lease_expires_at = NULL WHERE id = %(id)s AND lease_owner = %(owner)s

-- delete_run_items --
DELETE FROM queue WHERE run_id = %(run_id)s

-- next_due_at --
SELECT min(run_at) FROM queue WHERE lease_owner IS NULL

-- count_queue_items --
SELECT count(*) FROM queue

-- delete_function_items --
DELETE FROM queue WHERE function_id = %(function_id)s AND kind = %(kind)s

-- lock_name_shared --
-- Shared holders do not wait for each other; an exclusive holder waits for them all, and they for it.
SELECT pg_advisory_xact_lock_shared(%(key)s)

-- try_lock_name --
SELECT pg_try_advisory_xact_lock(%(key)s)

-- lock_name_exclusive --
SELECT pg_advisory_xact_lock(%(key)s)

-- insert_pause --
INSERT INTO pauses (id, run_id, kind, step_id, event_name, expression, correlation_id, trigger_event, min_seq,
    expires_at, created_at)
VALUES (%(id)s, %(run_id)s, %(kind)s, %(step_id)s, %(event_name)s, %(expression)s, %(correlation_id)s, %(trigger_event)s, %(min_seq)s,
    %(expires_at)s, %(created_at)s)

-- candidate_pauses --
SELECT id, run_id, kind, event_name, trigger_event, min_seq, expires_at, created_at, step_id, expression,
    correlation_id
FROM pauses WHERE event_name = %(event_name)s AND expires_at > %(now)s AND min_seq < %(before_seq)s
ORDER BY created_at, id

-- delete_pause --
DELETE FROM pauses WHERE id = %(id)s

-- get_pause --
SELECT id, run_id, kind, event_name, trigger_event, min_seq, expires_at, created_at, step_id, expression,
    correlation_id
FROM pauses WHERE id = %(id)s

-- get_pause_by_correlation --
SELECT id, run_id, kind, event_name, trigger_event, min_seq, expires_at, created_at, step_id, expression,
    correlation_id
FROM pauses WHERE correlation_id = %(correlation_id)s

-- delete_run_pauses --
DELETE FROM pauses WHERE run_id = %(run_id)s

-- ended_runs_before --
SELECT id FROM runs WHERE ended_at IS NOT NULL AND ended_at < %(before)s ORDER BY ended_at LIMIT %(limit)s

-- delete_run_steps --
DELETE FROM steps WHERE run_id = %(run_id)s

-- delete_run_attempts --
DELETE FROM attempts WHERE run_id = %(run_id)s

-- delete_run_events --
DELETE FROM run_events WHERE run_id = %(run_id)s

-- delete_run --
DELETE FROM runs WHERE id = %(run_id)s

-- prune_events --
-- Old receipts no run still points at.
DELETE FROM events WHERE seq IN (
    SELECT seq FROM events AS e WHERE e.received_at < %(before)s
        AND NOT EXISTS (SELECT 1 FROM run_events AS r WHERE r.event_seq = e.seq)
    LIMIT %(limit)s
)

-- prune_skips --
DELETE FROM skips WHERE event_internal_id IN (
    SELECT event_internal_id FROM skips WHERE at < %(before)s LIMIT %(limit)s
)

-- prune_idempotency --
DELETE FROM idempotency WHERE (scope, key) IN (
    SELECT scope, key FROM idempotency WHERE expires_at < %(now)s LIMIT %(limit)s
)

-- release_expired --
-- Items whose holder's lease ran out (a dead or stuck engine) go back to the queue, to be claimed like
-- any other (a new claim increments the generation, which fences the old holder).
UPDATE queue SET lease_owner = NULL, lease_expires_at = NULL
WHERE id IN (
    SELECT id FROM queue WHERE lease_owner IS NOT NULL AND lease_expires_at <= %(lease_now)s LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)

-- claim_partition --
-- Lease the first due items of one partition, in score order (run_at moved by the run's priority).
UPDATE queue SET lease_owner = %(owner)s, lease_expires_at = %(lease_until)s, generation = generation + 1
WHERE id IN (
    SELECT id FROM queue
    WHERE partition = %(partition)s AND lease_owner IS NULL AND run_at <= %(now)s
    ORDER BY score, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2

-- partition_candidates --
SELECT id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2
FROM queue WHERE partition = %(partition)s AND lease_owner IS NULL AND run_at <= %(now)s
ORDER BY score, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED

-- mark_held --
-- Calls a full concurrency key keeps waiting, marked the first time a claim finds them so (counted once).
UPDATE queue SET held_for = 'concurrency'
WHERE id IN (
    SELECT id FROM queue
    WHERE partition = %(partition)s AND lease_owner IS NULL AND run_at <= %(now)s AND held_for IS NULL
        AND (%(item_id)s::text IS NULL OR id = %(item_id)s::text)
    FOR UPDATE SKIP LOCKED
)
RETURNING function_id

-- queue_gauges --
-- What the queue holds now, for the metrics' gauges: due unclaimed items (calls apart), and claimed calls,
-- by function: two index scans (queue_due, queue_leased).
SELECT function_id, CASE WHEN kind = 'call' THEN 1 ELSE 0 END, 0, count(*)
FROM queue WHERE lease_owner IS NULL AND run_at <= %(now)s
GROUP BY function_id, CASE WHEN kind = 'call' THEN 1 ELSE 0 END
UNION ALL
SELECT function_id, 1, 1, count(*) FROM queue WHERE lease_owner IS NOT NULL AND kind = 'call' GROUP BY function_id

-- next_partition --
-- The next constrained partition (they sort between '' and '~timers') with unleased items: an index seek.
SELECT partition FROM queue
WHERE lease_owner IS NULL AND partition > %(after)s AND partition < '~'
ORDER BY partition LIMIT 1

-- lease_item --
UPDATE queue SET lease_owner = %(owner)s, lease_expires_at = %(lease_until)s, generation = generation + 1
WHERE id = %(id)s AND lease_owner IS NULL
RETURNING id, kind, run_at, run_id, function_id, target, payload, priority, constraints, attempt, attempt_step,
    generation, lease_owner, lease_expires_at, job_key, created_at, partition, score, ckey1, climit1, ckey2,
    climit2

-- keys_in_use --
-- Calls in flight that hold a concurrency key (unexpired leases).
SELECT (SELECT count(*) FROM queue WHERE ckey1 = %(key)s AND lease_owner IS NOT NULL
            AND lease_expires_at > %(lease_now)s)
     + (SELECT count(*) FROM queue WHERE ckey2 = %(key)s AND lease_owner IS NOT NULL
            AND lease_expires_at > %(lease_now)s)

-- reschedule_item --
UPDATE queue SET score = %(run_at)s - (run_at - score), run_at = %(run_at)s WHERE id = %(id)s

-- reschedule_by_key --
UPDATE queue SET score = %(run_at)s - (run_at - score), run_at = %(run_at)s WHERE job_key = %(job_key)s

-- get_limiter --
SELECT tat FROM limiters WHERE key = %(key)s AND expires_at > %(now)s FOR UPDATE

-- put_limiter --
INSERT INTO limiters (key, tat, expires_at) VALUES (%(key)s, %(tat)s, %(expires_at)s)
ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, expires_at = excluded.expires_at

-- lock_debounce --
SELECT function_id, key, event_seq, first_at, due_at FROM debounces
WHERE function_id = %(function_id)s AND key = %(key)s FOR UPDATE

-- put_debounce --
INSERT INTO debounces (function_id, key, event_seq, first_at, due_at)
VALUES (%(function_id)s, %(key)s, %(event_seq)s, %(first_at)s, %(due_at)s)
ON CONFLICT (function_id, key) DO UPDATE SET event_seq = excluded.event_seq, due_at = excluded.due_at

-- delete_debounce --
DELETE FROM debounces WHERE function_id = %(function_id)s AND key = %(key)s

-- lock_open_batch --
SELECT id, function_id, key, first_at, size, bytes FROM batches
WHERE function_id = %(function_id)s AND key = %(key)s FOR UPDATE

-- get_batch --
SELECT id, function_id, key, first_at, size, bytes FROM batches WHERE id = %(id)s FOR UPDATE

-- put_batch --
INSERT INTO batches (id, function_id, key, first_at, size, bytes)
VALUES (%(id)s, %(function_id)s, %(key)s, %(first_at)s, %(size)s, %(bytes)s)
ON CONFLICT (id) DO UPDATE SET size = excluded.size, bytes = excluded.bytes

-- add_batch_event --
INSERT INTO batch_events (batch_id, position, event_seq) VALUES (%(batch_id)s, %(position)s, %(event_seq)s)

-- batch_event_seqs --
SELECT event_seq FROM batch_events WHERE batch_id = %(batch_id)s ORDER BY position

-- delete_batch_events --
DELETE FROM batch_events WHERE batch_id = %(batch_id)s

-- delete_batch --
DELETE FROM batches WHERE id = %(batch_id)s

-- get_singleton --
SELECT run_id FROM singletons WHERE function_id = %(function_id)s AND key = %(key)s FOR UPDATE

-- put_singleton --
INSERT INTO singletons (function_id, key, run_id) VALUES (%(function_id)s, %(key)s, %(run_id)s)
ON CONFLICT (function_id, key) DO UPDATE SET run_id = excluded.run_id

-- delete_run_singletons --
DELETE FROM singletons WHERE run_id = %(run_id)s

-- prune_limiters --
DELETE FROM limiters WHERE key IN (SELECT key FROM limiters WHERE expires_at < %(now)s LIMIT %(limit)s)

-- event_holds --
SELECT f.slug, 'debounced', d.due_at FROM debounces d JOIN events e ON e.seq = d.event_seq
JOIN functions f ON f.id = d.function_id WHERE e.internal_id = %(event_internal_id)s
UNION ALL
SELECT f.slug, 'batched', q.run_at FROM batch_events be JOIN events e ON e.seq = be.event_seq
JOIN batches b ON b.id = be.batch_id JOIN functions f ON f.id = b.function_id
LEFT JOIN queue q ON q.job_key = 'batch:' || b.id WHERE e.internal_id = %(event_internal_id)s

-- peek_limiter --
SELECT tat FROM limiters WHERE key = %(key)s AND expires_at > %(now)s

-- list_run_changes --
-- The change feed: runs written after the cursor (change_seq, id), oldest change first. A run's stamp is
-- the id of the transaction that wrote it, and transactions commit out of id order, so only stamps below
-- the horizon (the view `change_feed_horizon`, migration 0011): every transaction below it has ended, and
-- none can later commit a row behind a cursor a reader was given.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq
FROM runs
WHERE (change_seq, id) > (%(seq)s::bigint, %(id)s::text)
    AND change_seq < (SELECT seq FROM change_feed_horizon)
    AND (%(status)s::text IS NULL OR status = %(status)s::text)
    AND (%(function_slug)s::text IS NULL OR function_slug = %(function_slug)s::text)
ORDER BY change_seq, id
LIMIT %(limit)s

-- run_changes_head --
-- The feed's end as `list_run_changes` reads it: the newest stamp below its horizon (an index seek).
SELECT change_seq, id FROM runs WHERE change_seq < (SELECT seq FROM change_feed_horizon)
ORDER BY change_seq DESC, id DESC LIMIT 1

-- touch_run --
-- A step was saved: the run changed (once per transaction).
UPDATE runs SET change_seq = pg_current_xact_id()::text::bigint
WHERE id = %(run_id)s AND change_seq <> pg_current_xact_id()::text::bigint

-- change_seq_high --
-- The highest stamp stored (transaction ids only grow: PostgreSQL keeps no counter of its own).
SELECT coalesce(max(change_seq), 0) FROM runs

-- keep_change_floor --
-- Transaction ids only grow: a pruned run's stamp needs no keeping.
SELECT %(run_id)s::text

-- set_function_paused --
UPDATE functions SET paused_at = %(paused_at)s WHERE id = %(id)s

-- hold_function_calls --
-- A paused function's waiting calls keep their due time in `held_run_at` and move out of every claim's reach.
UPDATE queue SET held_run_at = run_at, score = %(held)s - (run_at - score), run_at = %(held)s
WHERE function_id = %(function_id)s AND kind = 'call' AND lease_owner IS NULL AND held_run_at IS NULL

-- hold_item --
-- A call of a paused function that a claim (or a retry) let through: held, and its lease given up.
UPDATE queue SET held_run_at = run_at, score = %(held)s - (run_at - score), run_at = %(held)s,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = %(id)s AND held_run_at IS NULL

-- release_function_calls --
-- A resumed function's held calls get their due time back (their priority offset kept).
UPDATE queue SET score = held_run_at - (run_at - score), run_at = held_run_at, held_run_at = NULL
WHERE function_id = %(function_id)s AND held_run_at IS NOT NULL

-- remove_app --
-- Hidden until it syncs again; the checksum is forgotten so that the next sync registers it in full.
UPDATE apps SET removed_at = %(now)s, checksum = NULL WHERE id = %(id)s

-- run_counts --
-- Runs created since a time, by function and status: an index-only scan of `runs_function_status`.
SELECT function_slug, status, count(*) FROM runs WHERE created_at >= %(since)s
GROUP BY function_slug, status

-- function_run_counts --
-- One function's runs created since a time, by status: a range of `runs_function_status` per status.
SELECT function_slug, status, count(*) FROM runs WHERE function_slug = %(function_slug)s AND created_at >= %(since)s
GROUP BY function_slug, status

-- search_runs --
-- `list_runs` with each run's trigger event (its first receipt), for filters over the event.
SELECT id, function_id, function_slug, function_version, app_version, event_id, status, reason, output,
    created_at, started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version,
    pending, constraints, change_seq,
    (SELECT payload FROM events WHERE events.internal_id = runs.event_id ORDER BY seq LIMIT 1)
FROM runs
WHERE (%(status)s::text IS NULL OR status = %(status)s::text)
    AND (%(function_slug)s::text IS NULL OR function_slug = %(function_slug)s::text)
    AND id >= %(id_min)s::text AND id < %(id_max)s::text
    AND created_at >= %(created_after)s::bigint AND created_at < %(created_before)s::bigint
    AND (%(app_id)s::text IS NULL OR function_id IN (SELECT id FROM functions WHERE app_id = %(app_id)s::text))
ORDER BY id DESC
LIMIT %(limit)s

-- plan_for_values --
-- Plan the next queries of this transaction for their values: a generic plan of a listing with optional
-- filters sorts every run instead of reading the newest few by id.
SET LOCAL plan_cache_mode = force_custom_plan

-- insert_run_warning --
-- A run-time non-determinism finding; one already recorded for the run (same code and steps) is kept as is.
INSERT INTO run_warnings (run_id, code, message, step_ids, at)
VALUES (%(run_id)s, %(code)s, %(message)s, %(step_ids)s, %(at)s)
ON CONFLICT (run_id, code, step_ids) DO NOTHING

-- run_warnings --
SELECT run_id, code, message, step_ids, at FROM run_warnings WHERE run_id = %(run_id)s ORDER BY id

-- delete_run_warnings --
DELETE FROM run_warnings WHERE run_id = %(run_id)s

-- stats_run_starts --
-- Runs that started in [start, end), by bucket of `size` ms (integer division of the epoch millis), with how
-- long each waited from its creation to its first call (the queue latency): the count and the nearest-rank
-- p50 and p95. A run that started in the window ended in it or has not ended: the range scans
-- `runs_ended_at` (from start, and its NULLs). A run cancelled before it started is not counted.
WITH started AS (
    SELECT (started_at - %(start)s::bigint) / %(size)s::bigint AS bucket, started_at - created_at AS latency
    FROM runs
    WHERE (ended_at >= %(start)s::bigint OR ended_at IS NULL) AND started_at >= %(start)s::bigint AND started_at < %(end)s::bigint
        AND (%(function_slug)s::text IS NULL OR function_slug = %(function_slug)s)
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
-- Runs that ended Completed, Failed or Cancelled in [start, end), by bucket and status: a range of `runs_ended_at`.
SELECT (ended_at - %(start)s::bigint) / %(size)s::bigint AS bucket, status, COUNT(*)
FROM runs
WHERE ended_at >= %(start)s::bigint AND ended_at < %(end)s::bigint AND status IN ('Completed', 'Failed', 'Cancelled')
    AND (%(function_slug)s::text IS NULL OR function_slug = %(function_slug)s)
GROUP BY bucket, status ORDER BY bucket

-- stats_backlog --
-- The backlog's changes by bucket: +1 where a run was created, -1 where it started (or was cancelled before
-- it started); bucket -1 holds the runs waiting when the window opens. Only runs waiting at some time in the
-- window count, and each of them has not ended or ended in it: the same scan of `runs_ended_at`.
WITH waiting AS (
    SELECT created_at, started_at
    FROM runs
    WHERE (ended_at >= %(start)s::bigint OR ended_at IS NULL) AND created_at < %(end)s::bigint AND status <> 'Skipped'
        AND (started_at IS NULL OR started_at >= %(start)s::bigint)
        AND (%(function_slug)s::text IS NULL OR function_slug = %(function_slug)s)
)
SELECT bucket, SUM(delta) FROM (
    SELECT CASE WHEN created_at < %(start)s::bigint THEN -1 ELSE (created_at - %(start)s::bigint) / %(size)s::bigint END AS bucket, 1 AS delta
    FROM waiting
    UNION ALL
    SELECT (started_at - %(start)s::bigint) / %(size)s::bigint, -1 FROM waiting WHERE started_at IS NOT NULL AND started_at < %(end)s::bigint
) AS deltas GROUP BY bucket ORDER BY bucket

-- stats_step_durations --
-- step.run steps that finished in [start, end), by function: how many, and the nearest-rank p50 and p95 of
-- their durations, from when each was scheduled to when its result was stored (retries included), as the run
-- page's waterfall draws them: a step planned before it ran starts at its plan; one the SDK ran inline (stored
-- when its result came) at the end of the run's step before it, or the run's start. Its runs are those not
-- ended or ended in the window (`runs_ended_at`); their steps come by `steps`' (run_id, hashed_id) index.
-- (LATERAL: each run's steps by that index, never a scan of every step.)
WITH timed AS (
    SELECT r.function_slug, s.op, s.started_at, s.ended_at, r.started_at AS run_start, s.previous_end
    FROM runs r CROSS JOIN LATERAL (
        SELECT op, started_at, ended_at,
            MAX(ended_at) OVER (ORDER BY ended_at RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
        FROM steps WHERE steps.run_id = r.id AND steps.ended_at IS NOT NULL
    ) s
    WHERE (r.ended_at >= %(start)s::bigint OR r.ended_at IS NULL)
        AND (%(function_slug)s::text IS NULL OR r.function_slug = %(function_slug)s)
), durations AS (
    SELECT function_slug, ended_at - CASE WHEN ended_at > started_at THEN started_at
        ELSE LEAST(started_at, GREATEST(previous_end, run_start))
        END AS duration
    FROM timed
    WHERE ended_at >= %(start)s::bigint AND ended_at < %(end)s::bigint AND op IN ('StepRun', 'StepFailed')
), ranked AS (
    SELECT function_slug, duration, ROW_NUMBER() OVER (PARTITION BY function_slug ORDER BY duration) AS n,
        COUNT(*) OVER (PARTITION BY function_slug) AS total
    FROM durations
)
SELECT function_slug, total, MAX(CASE WHEN n = (total * 50 + 99) / 100 THEN duration END),
    MAX(CASE WHEN n = (total * 95 + 99) / 100 THEN duration END)
FROM ranked GROUP BY function_slug, total ORDER BY function_slug
