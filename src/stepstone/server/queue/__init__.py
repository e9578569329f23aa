"""The queue: the context every transaction script runs in (`work`: the transaction, "now", the outbox of
emitted events, the notes for the log) and the one module that puts items in, hands them off, claims them
under flow control, renews their leases and releases them (`queueing`).

May import: `functions`, `store`, `core`.
"""

from __future__ import annotations
