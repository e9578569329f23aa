"""Shared tools of the engine, with no state of their own: the clock, ids, settings, retry backoff, GCRA, CEL
expressions, cron schedules and the HTTP transport to apps.

May import: `stepstone.protocol` and other `core` modules. Imported by every other room of the engine.
"""

from __future__ import annotations
