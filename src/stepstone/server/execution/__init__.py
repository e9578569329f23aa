"""Execution: workers claim queue items and run them; the executor runs each transaction script (draining its
outbox before the commit), calls apps (`calls` builds the request), makes the requests of `step.ai.infer` and
`step.fetch` for them (`gateway`) and writes the notes to the log after the commit; `retention` prunes old data;
`reruns` starts a run again (from its start or from a step); `bulk` works bulk cancellations and replays in
batches in the background.

May import: `intake`, `runs`, `queue`, `functions`, `store`, `core`.
"""

from __future__ import annotations
