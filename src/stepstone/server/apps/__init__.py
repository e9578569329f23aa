"""Apps: registering the functions an app sends (`registration`) and syncing apps by URL (`syncer`).

May import: `queue`, `intake`, `runs`, `functions`, `store`, `core`.
"""

from __future__ import annotations
