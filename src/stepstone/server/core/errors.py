"""The root of the engine's errors, and the tree under it.

Every error the engine raises on purpose derives from `EngineError`; each class lives with the code
that raises it (module in the right column, under `stepstone.server`). A class that callers also
catch by a builtin base keeps it as a second base (shown in brackets), so `except ValueError` around
a schedule or a config still catches it::

    EngineError                              core/errors.py
    ├── StoreError                           store/errors.py        the database failed an operation
    │   ├── StoreUnavailable                 store/errors.py        closed, unreachable, locked, disk I/O,
    │   │                                                           connection lost: try again later
    │   ├── Conflict                         store/errors.py        a write broke a constraint (unique,
    │   │                                                           foreign key, check, not null)
    │   ├── SchemaError                      store/errors.py        a table or column is missing (`stepstone
    │   │                                                           db upgrade`), or the schema is newer
    │   └── UnstorableValueError             store/errors.py        a value the database cannot hold (NUL in
    │                                                               PostgreSQL text, an int beyond 64 bits)
    ├── TransportError                       core/transport.py      an app did not answer usably (connect,
    │                                                               timeout, too large, protocol)
    ├── CronError [ValueError]               core/cron.py           a cron schedule or jitter that is not valid
    ├── ExpressionError [ValueError]         core/expressions.py    CEL that does not compile, or fails
    ├── ConfigError [ValueError]             functions/registry.py  a function config broke a rule
    ├── RunNotFoundError [LookupError]       engine.py              no run with this id (or its function left)
    ├── RunEndedError [RuntimeError]         engine.py              the run already ended
    ├── FunctionNotFoundError [LookupError]  engine.py              no active function with this id
    ├── AppNotFoundError [LookupError]       engine.py              no listed app with this id or name
    ├── RunGoneError [LookupError]           execution/reruns.py    the run to rerun, or its function, is gone
    ├── RerunError [ValueError]              execution/reruns.py    a rerun from a step that cannot be made
    ├── BulkTargetError [LookupError]        execution/bulk.py      a bulk job's app or function is unknown
    ├── GatewayError                         execution/gateway.py   a request made for `step.ai.infer` or
    │                                                               `step.fetch` failed (the step fails)
    ├── ReplayTwiceError [RuntimeError]      execution/bulk.py      a replay would start two runs from one
    └── SyncError [RuntimeError]             engine.py              an app did not sync, and why

The HTTP API's `APIError` (`api/errors.py`) stays outside the tree: it is an answer, not an engine
failure; the API maps the engine's errors to statuses in one table there.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the Stepstone engine raises on purpose."""
