"""Durable state: one interface (`base.py`), one implementation per database."""

from __future__ import annotations
