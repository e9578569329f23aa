"""The Stepstone engine."""

from __future__ import annotations
