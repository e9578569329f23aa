-- Indexes the retention sweep needs: events still referenced by a run, and expired idempotency keys.
CREATE INDEX run_events_event ON run_events (event_seq);
CREATE INDEX idempotency_expires_at ON idempotency (expires_at);
