"""The PostgreSQL store: several engine processes on several machines share one database."""

from __future__ import annotations
