-- Failed attempts keep the step id the user wrote, so a step still being retried (it has no
-- step row yet) is shown by that id. Rows written before this migration keep NULL.
ALTER TABLE attempts ADD COLUMN user_id TEXT;
