-- The change feed's horizon (`list_run_changes`): the oldest transaction still running in this database,
-- else the next transaction id to be given out. Every transaction below it has ended, so no row stamped
-- below it can still commit. The snapshot's xmin (what 0004 used) counts the whole server's transactions:
-- one left open in another database held the feed back. So the ids running on sessions of other databases
-- are left out (`pg_stat_activity.backend_xid` is shown to every role; an id no session shows, such as a
-- prepared transaction's, still counts, which is safe). `backend_xid` is the 32-bit form of the 64-bit id,
-- hence the modulo.
CREATE VIEW change_feed_horizon AS
WITH snapshot AS (SELECT pg_current_snapshot() AS s),
elsewhere AS (
    SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
)
SELECT coalesce(
    (SELECT min(x::text::bigint) FROM snapshot, pg_snapshot_xip(snapshot.s) AS x
     WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid FROM elsewhere)),
    (SELECT pg_snapshot_xmax(s)::text::bigint FROM snapshot)
) AS seq;
