-- Nothing on SQLite: its change feed stamps come from a counter under its single writer (0004). PostgreSQL's
-- migration of this number makes the feed's horizon a view.
SELECT 1;
