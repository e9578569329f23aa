"""The queue and the executor: claiming items under concurrency and throttle limits, handing the next call to
the worker that made it, running each item's transaction scripts, calling apps, and pruning old data.

May import: `intake`, `runs`, `functions`, `store`, `core`.
"""

from __future__ import annotations
