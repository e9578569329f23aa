"""Apps: registering the functions an app sends (`registration`) and syncing apps by URL (`syncer`).

May import: `execution`, `intake`, `runs`, `queue`, `functions`, `store`, `core`.
"""

from __future__ import annotations
