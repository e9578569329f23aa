"""The PostgreSQL store: sync psycopg connections from a bounded pool, run on a thread pool.

Every transaction script runs in its own database transaction (READ COMMITTED). What must not run
twice is serialized by the database: queue items are claimed with `FOR UPDATE SKIP LOCKED`, a run's
changes take its row lock, idempotency keys and job keys are unique, a pause is consumed by the one
`DELETE` that finds it, and storing events and creating waits of one event name take an advisory lock.
Idle engines are woken by `LISTEN stepstone_queue` (polling stays as the fallback).

Driver errors leave as the store's own (`store/errors.py`, see `store_error`): a script that fails in
the database raises the same class as on SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar, cast

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from stepstone.server.store import migrations, sql
from stepstone.server.store.base import Tx
from stepstone.server.store.errors import (
    UPGRADE_HINT,
    Conflict,
    SchemaError,
    StoreError,
    StoreUnavailable,
    UnstorableValueError,
    checked_binding,
)
from stepstone.server.store.sqltx import SqlTx

T = TypeVar("T")
log = logging.getLogger("stepstone.store")
_ROLLBACK_ATTEMPTS = 5
_ROLLBACK_CLASS = "40"  # SQLSTATE class 40, transaction rollback: 40001, 40P01
_ROLLED_BACK = {"action": "store.retried"}

QUERIES = sql.load_queries(Path(__file__).with_name("queries.sql"))
MIGRATIONS = Path(__file__).with_name("migrations")
CHANNEL = "stepstone_queue"
_MIGRATION_LOCK = 0x5354_4550_5354_4F4E  # "STEPSTON": one migrator at a time across processes
_CONSTRAINT_CLASS = "23"  # integrity constraint violation: unique, foreign key, check, not null, exclusion
_DATA_CLASS = "22"  # data exception: a value out of range, not valid for its type, untranslatable
# Undefined table, column, object, function: the schema lacks what this build's queries use.
_MISSING = frozenset({"42P01", "42703", "42704", "42883"})
# The server cannot serve now: connection exception, insufficient resources, lock not available, operator
# intervention (admin shutdown, cannot connect now), system error (I/O), transaction rollback (after retries).
_UNAVAILABLE_CLASSES = ("08", "53", "55", "57", "58", _ROLLBACK_CLASS)


def describe_dsn(dsn: str) -> str:
    """host:port/dbname of a DSN, never its password."""
    parts = conninfo.conninfo_to_dict(dsn)
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


class PostgresStore:
    """A `Store` on PostgreSQL, shared by any number of engine processes."""

    def __init__(self, dsn: str, *, pool_size: int = 10, connect_timeout: float = 10.0, migrate: bool = True) -> None:
        self.dsn = dsn
        self._where = describe_dsn(dsn)
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            open=False,
            check=_check_connection,
            name="stepstone",
            kwargs={"autocommit": False, "connect_timeout": max(1, int(connect_timeout))},
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close()
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {self._where} within {connect_timeout:g} s"
            ) from None
        try:
            self.applied_migrations = self.migrate() if migrate else []
        except psycopg.Error as err:
            self._pool.close()
            raise store_error(err, self._where) from err
        self._threads = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="stepstone-pg")
        self._listener: asyncio.Task[None] | None = None
        self._closed = False

    def describe(self) -> str:
        return f"PostgreSQL {self._where}"

    # schema
    def schema_version(self) -> int:
        try:
            with self._pool.connection() as conn:
                return _version(conn)
        except psycopg.Error as err:
            raise store_error(err, self._where) from err
        except (PoolTimeout, PoolClosed) as err:
            raise self._no_connection(err) from err

    def schema_status(self) -> migrations.SchemaStatus:
        return migrations.status(self.schema_version(), MIGRATIONS)

    def upgrade(self) -> list[int]:
        try:
            return self.migrate()
        except psycopg.Error as err:
            raise store_error(err, self._where) from err
        except (PoolTimeout, PoolClosed) as err:
            raise self._no_connection(err) from err

    def migrate(self) -> list[int]:
        """Apply missing migrations, one process at a time (an advisory lock), each in a transaction."""
        applied = []
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                current = _version(conn)
                files = sql.migration_files(MIGRATIONS)
                if current > len(files):
                    raise SchemaError(migrations.too_new(current, len(files), f"the database {self._where}"))
                for version, name, path in files[current:]:
                    with conn.transaction():
                        conn.execute(path.read_text(encoding="utf-8").encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                            (version, name, int(time.time() * 1000)),
                        )
                    applied.append(version)
                conn.commit()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
                conn.commit()
        return applied

    # transactions
    async def transact(self, script: Callable[[Tx], T]) -> T:
        return await self._run(script, read_only=False)

    async def read(self, script: Callable[[Tx], T]) -> T:
        return await self._run(script, read_only=True)

    async def _run(self, script: Callable[[Tx], T], *, read_only: bool) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._in_transaction, script, read_only)

    def _in_transaction(self, script: Callable[[Tx], T], read_only: bool) -> T:
        """Run `script` in one transaction; again, from the start, when PostgreSQL aborted it as a deadlock
        victim or a serialization failure (SQLSTATE class 40; scripts are plain functions of the
        transaction, safe to repeat). Driver errors become store errors."""
        for attempt in range(1, _ROLLBACK_ATTEMPTS + 1):
            try:
                with self._pool.connection() as conn, conn.transaction():
                    cursor = conn.cursor()
                    if read_only:
                        cursor.execute("SET TRANSACTION READ ONLY")
                    return script(cast(Tx, SqlTx(checked_binding(cursor.execute), QUERIES)))
            except psycopg.Error as err:
                rolled_back = err.sqlstate is not None and err.sqlstate.startswith(_ROLLBACK_CLASS)
                if not rolled_back or attempt == _ROLLBACK_ATTEMPTS:
                    raise store_error(err, self._where) from err
                log.debug("transaction rolled back (%s); running it again", err.sqlstate, extra=_ROLLED_BACK)
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # two victims of one conflict do not meet again
            except (PoolTimeout, PoolClosed) as err:
                raise self._no_connection(err) from err
        raise AssertionError("unreachable")

    def _no_connection(self, err: Exception) -> StoreUnavailable:
        if isinstance(err, PoolClosed):
            return StoreUnavailable("the store is closed")
        return StoreUnavailable(f"no PostgreSQL connection free (pool of {self._pool.max_size}) in time")

    def set_quiet_check(self, quiet: Callable[[], bool]) -> None:
        """Nothing to tune: transactions run on pooled connections, without a writer thread."""

    # notifications
    async def listen(self, on_work: Callable[[], None]) -> None:
        """Call `on_work` whenever an engine commits work that is due; reconnect when the connection drops."""
        delay = 0.5
        while not self._closed:
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if delay > 0.5:
                        log.info("listening to %s again", self._where, extra={"action": "store.listen_restored"})
                    delay = 0.5
                    on_work()  # whatever was notified while not listening
                    async for _ in conn.notifies():
                        on_work()
            except psycopg.Error as err:
                log.warning(
                    "lost the notification connection to PostgreSQL at %s (%s); reconnecting in %.1f s",
                    self._where,
                    type(err).__name__,
                    delay,
                    extra={"action": "store.listen_lost"},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._threads.shutdown, wait=True)
        await asyncio.to_thread(self._pool.close)


def store_error(err: psycopg.Error, where: str) -> StoreError:
    """The store's error for a driver error (raise it `from err`); `where` names the server, for messages."""
    state = err.sqlstate or ""
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if state.startswith(_CONSTRAINT_CLASS):
        return Conflict(f"database error: {first_line}")
    if state.startswith(_DATA_CLASS) or isinstance(err, psycopg.DataError):
        # Also the driver's own refusal, before sending (no SQLSTATE): a NUL character in text.
        return UnstorableValueError(f"a value cannot be stored: {first_line}")
    if state in _MISSING:
        return SchemaError(f"{UPGRADE_HINT} ({first_line})")
    if state.startswith(_ROLLBACK_CLASS):
        return StoreUnavailable(f"PostgreSQL at {where} aborted the transaction again and again ({first_line})")
    if state.startswith(_UNAVAILABLE_CLASSES) or isinstance(err, psycopg.OperationalError | psycopg.InterfaceError):
        log.warning(
            "PostgreSQL at %s cannot serve or the connection broke (%s); the pool reconnects",
            where,
            first_line,
            extra={"action": "store.reconnect"},
        )
        return StoreUnavailable(f"PostgreSQL at {where} cannot serve or the connection broke ({first_line})")
    return StoreError(f"database error: {first_line}")


def _check_connection(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The pool's health check, which says so when it replaces a broken connection."""
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        log.warning(
            "a pooled PostgreSQL connection broke (server restart or terminated backend); reconnecting",
            extra={"action": "store.reconnect"},
        )
        raise


def _version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)"
    )
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    conn.commit()
    return int(row[0]) if row else 0  # type: ignore[call-overload]
