-- A call that a full concurrency key kept waiting is marked once (`queue.queueing`), so that
-- `stepstone_flow_held_total{reason="concurrency"}` counts each held call once, whichever engine saw it.
ALTER TABLE queue ADD COLUMN held_for TEXT;
