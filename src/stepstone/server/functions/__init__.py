"""Registered functions: parsing and validating the configs apps send at sync, and the cached catalog that
matches events to functions.

May import: `core`, `store`.
"""

from __future__ import annotations
