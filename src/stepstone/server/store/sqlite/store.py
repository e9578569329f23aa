"""The SQLite store: one writer thread with group commit, a few reader threads, WAL mode.

Transaction scripts run on one writer connection, on the writer thread: scripts that arrive together
share one database transaction (each inside its own SAVEPOINT, so one failing script rolls back
alone) and one commit, so under load a commit's cost is spread over many scripts. When the engine is
quiet (`set_quiet_check`: at most one call and one request in flight) and nothing waits for the
writer, a script runs and commits at once on the caller's thread instead: a lone run's step then
costs no thread hand-offs (about a tenth of a millisecond each way), while a busy engine keeps group
commit and the event loop free during commits. Either way a script's caller hears back only after
the commit. Reads run on their own connections and never wait for the writer.

Only one engine process may open a database file: an exclusive lock on `<db>.lock` guarantees it,
which also lets a restarted engine release the dead process's queue leases at once.

Driver errors leave as the store's own (`store/errors.py`, see `store_error`): a script that fails in
the database raises the same class as on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from stepstone.server.store import migrations, sql
from stepstone.server.store.base import Tx
from stepstone.server.store.errors import (
    UPGRADE_HINT,
    Conflict,
    SchemaError,
    StoreError,
    StoreUnavailable,
    UnstorableValueError,
)
from stepstone.server.store.sqlite.tx import QUERIES, sqlite_tx

T = TypeVar("T")
log = logging.getLogger("stepstone.store")

MIGRATIONS = Path(__file__).with_name("migrations")
Synchronous = Literal["full", "normal", "off"]
_GROUP_LIMIT = 128
_STOP = object()
# Primary result codes (https://sqlite.org/rescode.html) of a store that cannot serve now: busy, locked,
# out of memory, read-only, disk I/O error, disk full, cannot open the file, locking protocol error.
_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
_CONSTRAINT = 19  # SQLITE_CONSTRAINT: unique, foreign key, check, not null, primary key
_UNSTORABLE = (18, 20)  # SQLITE_TOOBIG, SQLITE_MISMATCH
_MISSING = ("no such table", "no such column", "has no column named")


def store_error(err: sqlite3.Error, doing: str = "database error") -> StoreError:
    """The store's error for a driver error (raise it `from err`)."""
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = str(err)
    if primary == _CONSTRAINT:
        return Conflict(f"{doing}: {message}")
    if primary in _UNSTORABLE or isinstance(err, sqlite3.DataError):
        return UnstorableValueError(f"a value cannot be stored: {message}")
    if isinstance(err, sqlite3.OperationalError) and any(missing in message for missing in _MISSING):
        return SchemaError(f"{UPGRADE_HINT} ({message})")
    if primary in _UNAVAILABLE or message == "Cannot operate on a closed database.":
        return StoreUnavailable(f"{doing}: {message}")
    return StoreError(f"{doing}: {message}")


def _from(cause: BaseException, error: StoreError) -> StoreError:
    """`error`, caused by `cause` (as `raise error from cause` would say, for an error handed over, not raised)."""
    error.__cause__ = cause
    return error


def _connect(path: str, synchronous: Synchronous) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous.upper()}")
    connection.execute("PRAGMA busy_timeout=30000")
    connection.execute("PRAGMA temp_store=MEMORY")
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL)"
    )
    row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0])


def read_schema_status(path: str | Path) -> migrations.SchemaStatus:
    """The schema status of an existing database file, read without writing anything (`stepstone db status`).

    Opened read-only, so a missing file is an error and never becomes a new database; without a
    `-wal` file (no engine has it open, and it was closed cleanly) the file is read as immutable,
    which leaves no `-wal`/`-shm` behind, whereas a read-only open of a WAL database creates both.
    Needs no lock: it may run next to the engine that owns the file.
    """
    file = Path(path)
    if not file.is_file():
        raise StoreUnavailable(f"no database at {file}")
    immutable = "" if Path(f"{file}-wal").exists() else "&immutable=1"
    try:
        connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro{immutable}", uri=True)
        try:
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            row = (0,)
            if ("schema_migrations",) in tables:
                row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            current = int(row[0])
        finally:
            connection.close()
    except sqlite3.Error as err:
        raise store_error(err, f"cannot read {file}") from err
    return migrations.status(current, MIGRATIONS)


def apply_migrations(connection: sqlite3.Connection) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction; return their versions."""
    current = schema_version(connection)
    files = sql.migration_files(MIGRATIONS)
    if current > len(files):
        raise SchemaError(migrations.too_new(current, len(files), "the database"))
    applied = []
    for version, name, path in files[current:]:
        script = path.read_text(encoding="utf-8")
        stamp = int(time.time() * 1000)
        connection.executescript(
            f"BEGIN;\n{script}\nINSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({version}, '{name}', {stamp});\nCOMMIT;"
        )
        applied.append(version)
    return applied


class _Job:
    __slots__ = ("future", "script")

    def __init__(self, script: Callable[[Tx], Any]) -> None:
        self.script = script
        self.future: Future[Any] = Future()


def _deliver(outcomes: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in outcomes:
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


class SqliteStore:
    """A `Store` on one SQLite file (or `:memory:` for a throwaway engine)."""

    def __init__(
        self, path: str | Path, *, synchronous: Synchronous = "full", readers: int = 2, migrate: bool = True
    ) -> None:
        self.path = str(path)
        self.synchronous = synchronous
        self._lock_fd = self._lock_file()
        try:
            self._writer = _connect(self._shared_path(), synchronous)
            self.applied_migrations = apply_migrations(self._writer) if migrate else []
        except (sqlite3.Error, StoreError) as err:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            if isinstance(err, StoreError):
                raise
            raise store_error(err, f"cannot open the database {self.path}") from err
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._tx = sqlite_tx(self._writer)
        self._change_seq: int | None = None  # the last run stamp handed out (read from the file when first needed)
        self._write_lock = threading.Lock()  # held while a group runs on the writer connection
        self._quiet: Callable[[], bool] = lambda: False
        self._queued = 0  # scripts handed to the writer thread and not yet answered (event-loop thread only)
        self._thread = threading.Thread(target=self._write_loop, name="stepstone-sqlite-writer", daemon=True)
        self._thread.start()
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="stepstone-sqlite-reader")
        self._reader_connections: list[sqlite3.Connection] = []
        self._closed = False

    def _shared_path(self) -> str:
        if self.path == ":memory:":
            # One in-memory database shared by the writer and the readers.
            self.path = f"file:stepstone-{id(self)}?mode=memory&cache=shared"
        return self.path

    def _lock_file(self) -> int | None:
        if self.path == ":memory:":
            return None
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise StoreUnavailable(f"cannot open the database {self.path}: {err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreUnavailable(
                f"the database {self.path} is in use by another Stepstone process; stop it, or pass a "
                "different --db (several engine processes need PostgreSQL)"
            ) from None
        return fd

    def describe(self) -> str:
        return f"SQLite {self.path} (synchronous={self.synchronous})"

    # writes
    async def transact(self, script: Callable[[Tx], T]) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        job = _Job(script)
        if not self._queued and self._quiet() and self._write_lock.acquire(blocking=False):
            try:
                outcomes = self._commit_group([job])
            finally:
                self._write_lock.release()
            _deliver(outcomes)
            await asyncio.sleep(0)  # still a suspension point: a caller looping on writes lets others run
            return cast(T, job.future.result())
        self._queued += 1
        self._jobs.put(job)
        try:
            return cast(T, await asyncio.wrap_future(job.future))
        finally:
            self._queued -= 1

    def _write_loop(self) -> None:
        while True:
            first = self._jobs.get()
            if first is _STOP:
                return
            batch: list[_Job] = [first]
            stop = False
            while len(batch) < _GROUP_LIMIT:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            with self._write_lock:
                outcomes = self._commit_group(batch)
            _deliver(outcomes)  # once the connection is free, so a caller that hears back may use it at once
            if stop:
                return

    def _commit_group(self, batch: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        """Run the scripts in one transaction; each job's outcome: (job, succeeded, value or exception)."""
        # A caller that gave up (its task was cancelled) cancelled its job's future: skip that job.
        batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if not batch:
            return []
        try:
            self._writer.execute("BEGIN IMMEDIATE")
            self._tx.change_seq = self._next_change_seq()
            # A lone script needs no savepoint: its failure rolls back the whole transaction.
            results = [self._run_script(job, savepoint=len(batch) > 1) for job in batch]
            if self._writer.in_transaction:
                self._writer.execute("COMMIT")
        except (sqlite3.Error, StoreError) as err:  # the whole transaction failed (or the database rolled it back)
            if self._writer.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._writer.execute("ROLLBACK")
            log.exception("sqlite commit failed", extra={"action": "store.commit_failed"})
            failure = err if isinstance(err, StoreError) else _from(err, store_error(err, "database write failed"))
            return [(job, False, failure) for job in batch]
        return results

    def _next_change_seq(self) -> int:
        """The stamp of this transaction's run writes (the change feed's order): one writer commits one
        transaction at a time, so a counter kept here orders them; it resumes above what the file holds."""
        if self._change_seq is None:
            try:
                row = self._writer.execute(QUERIES["change_seq_high"]).fetchone()
            except sqlite3.OperationalError:  # a schema before the feed (`stepstone db upgrade`): no run is written
                return 0
            self._change_seq = int(row[0] or 0)
        self._change_seq += 1
        return self._change_seq

    def _run_script(self, job: _Job, *, savepoint: bool) -> tuple[_Job, bool, Any]:
        if savepoint:
            self._writer.execute("SAVEPOINT script")
        try:
            value = job.script(cast(Tx, self._tx))
        except BaseException as err:  # the script failed (itself, or in the database): undo it alone
            failure = _from(err, store_error(err)) if isinstance(err, sqlite3.Error) else err
            if not self._writer.in_transaction:  # the database rolled back the whole transaction (disk full, I/O)
                if savepoint:  # and with it the group's other scripts: each of them fails
                    lost = failure if isinstance(failure, StoreError) else _from(err, StoreUnavailable("write lost"))
                    raise lost from lost.__cause__
            elif savepoint:
                self._writer.execute("ROLLBACK TO script")
                self._writer.execute("RELEASE script")
            else:
                self._writer.execute("ROLLBACK")
            return job, False, failure
        if savepoint:
            self._writer.execute("RELEASE script")
        return job, True, value

    # reads
    async def read(self, script: Callable[[Tx], T]) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, script)

    def _read(self, script: Callable[[Tx], T]) -> T:
        try:
            connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
            if connection is None:
                connection = _connect(self.path, self.synchronous)
                self._local.connection = connection
                self._reader_connections.append(connection)
            connection.execute("BEGIN")
            try:
                return script(cast(Tx, sqlite_tx(connection)))
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")
        except sqlite3.Error as err:
            raise store_error(err) from err

    def schema_status(self) -> migrations.SchemaStatus:
        return migrations.status(self._run_on_writer(schema_version), MIGRATIONS)

    def upgrade(self) -> list[int]:
        return self._run_on_writer(apply_migrations)

    def set_quiet_check(self, quiet: Callable[[], bool]) -> None:
        self._quiet = quiet

    def _run_on_writer(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation` on the writer connection, from outside the event loop (CLI commands)."""
        job = _Job(lambda _tx: operation(self._writer))
        self._jobs.put(job)
        return cast(T, job.future.result())

    async def listen(self, on_work: Callable[[], None]) -> None:
        """One engine process per file: it is woken in memory, there is nothing to listen to."""

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._readers.shutdown(wait=True)
        for connection in self._reader_connections:
            connection.close()
        self._writer.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
