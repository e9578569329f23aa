"""Events in: storing events, matching them to functions and pauses, and flow control at schedule time
(rate limits, debounce, batches, singletons, cron ticks) before a run is created; `ingest.drain` records the
events scripts emitted.

May import: `runs`, `queue`, `functions`, `store`, `core`.
"""

from __future__ import annotations
