-- What the dashboard shows of a step beyond its outcome: when a sleep wakes, or a wait or invoke times out
-- at the latest (`deadline`), and the arguments a step was called with where the wire carries them (`input`,
-- a JSON array: the TypeScript SDK's `step.run(id, fn, ...args)` sends them as `opts.input`).
ALTER TABLE steps ADD COLUMN deadline INTEGER;
ALTER TABLE steps ADD COLUMN input TEXT;
