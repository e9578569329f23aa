-- What a wait, a signal wait or an invoke waits for, for the dashboard (a JSON object: `{"event", "if"}`,
-- `{"signal"}` or `{"function"}`), kept after the step ended so that a timed-out wait still says what it
-- waited for.
ALTER TABLE steps ADD COLUMN wait TEXT;
