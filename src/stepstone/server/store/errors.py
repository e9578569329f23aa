"""The store's one error language: every backend turns its driver's errors into these.

A transaction script (or read) that fails in the database raises one of the classes below, the same
on SQLite and PostgreSQL, with the driver's error as its `__cause__`; the transaction is then rolled
back, nothing of it remains. An exception the script raises itself (not the driver's) passes through
unchanged, and rolls the transaction back too::

    StoreError                 anything else the database refused (a query the backend got wrong)
    ├── StoreUnavailable       the store cannot serve now: closed, unreachable, locked or busy, disk I/O or
    │                          disk full, connection lost, no pooled connection in time, a transaction aborted
    │                          again and again: try again later (the worker backs off and claims again)
    ├── Conflict               a write broke a constraint: unique, foreign key, check, not null
    ├── SchemaError            a table or column is missing (the database needs `stepstone db upgrade`), or
    │                          the database is newer than this build
    └── UnstorableValueError   a value the database cannot hold: a NUL character in PostgreSQL text, an
                               integer beyond 64 bits, a lone surrogate, a number out of a column's range

`StoreError` is an `EngineError` (`core/errors.py` draws the engine's whole tree). After a store error
inside a script the transaction is unusable (PostgreSQL aborts it): let the error propagate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepstone.server.core.errors import EngineError


class StoreError(EngineError):
    """Root of the store's errors; driver errors are turned into these at the backend boundary."""


class StoreUnavailable(StoreError):
    """The store cannot serve now (closed, unreachable, locked, I/O error, connection lost): try again later."""


class Conflict(StoreError):
    """A write broke a constraint (unique, foreign key, check, not null)."""


class SchemaError(StoreError):
    """The database's schema does not fit this build: a table or column is missing, or it is newer."""


class UnstorableValueError(StoreError):
    """A value the database cannot hold (a NUL character in PostgreSQL text, an integer beyond 64 bits):
    bad input, not a broken store."""


UPGRADE_HINT = "the database's schema is older than this build: run `stepstone db upgrade`"


def checked_binding(execute: Callable[..., Any]) -> Callable[..., Any]:
    """`execute(sql, params)` whose refusals to bind a value become `UnstorableValueError`.

    Drivers raise plain Python errors for these (an int beyond 64 bits: `OverflowError` from sqlite3;
    a lone surrogate: `UnicodeEncodeError` from both), which a script could raise for its own reasons:
    only here, at the query, are they known to be the database's.
    """

    def bound(query: str, params: Any = ()) -> Any:
        try:
            return execute(query, params)
        except (OverflowError, UnicodeEncodeError) as err:
            raise UnstorableValueError(f"a value cannot be stored: {err}") from err

    return bound
