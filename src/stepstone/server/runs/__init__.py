"""Runs and their steps, as transaction scripts: creating and ending runs (`lifecycle`), what an app's answer
or a timer does to a run (`transitions`, `outcomes`), waits and invokes (`pauses`), what a call to the app
carries (`calls`), and the context every script runs in (`work`).

May import: `functions`, `store`, `core`. Events a script emits go to its `Work`'s outbox, never into `intake`.
"""

from __future__ import annotations
