"""Stepstone's benchmark suite: `python -m bench.run [--quick]`; see `bench/README.md`."""

from __future__ import annotations
