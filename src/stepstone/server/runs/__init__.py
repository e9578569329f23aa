"""Runs and their steps, as transaction scripts: creating and ending runs (`lifecycle`), what an app's answer
or a timer does to a run (`transitions`, reading answers with `outcomes`), waits and invokes (`pauses`).

May import: `queue`, `functions`, `store`, `core`. Events a script emits go to its `Work`'s outbox, never into
`intake`.
"""

from __future__ import annotations
