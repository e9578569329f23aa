"""PostgreSQL for the multi-engine benchmark: a fresh database per configuration, the raw commit rate,
and a sampler of what the engines' backends wait on.

The server is `$STEPSTONE_TEST_POSTGRES_DSN`, or `postgresql://postgres@127.0.0.1:5432/test` (trust auth);
databases are created and dropped through it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import conninfo

from bench import procs

T = TypeVar("T")
ENV = "STEPSTONE_TEST_POSTGRES_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
SAMPLE_SECONDS = 0.05


def server_dsn() -> str:
    return os.environ.get(ENV) or DEFAULT_DSN


def describe(dsn: str) -> str:
    """host:port/dbname of a DSN, never its password."""
    parts = conninfo.conninfo_to_dict(dsn)
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def with_params(dsn: str, **params: str) -> str:
    """`dsn` with some connection parameters replaced (`dbname`, `application_name`)."""
    return conninfo.make_conninfo(dsn, **params)


def execute(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement.encode())


@contextlib.contextmanager
def database(server: str) -> Iterator[str]:
    """A new, empty database (`bench_<random>`) for the block; dropped afterwards, also on errors and Ctrl-C."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    execute(server, f"CREATE DATABASE {name}")
    try:
        yield with_params(server, dbname=name)
    finally:
        with procs.uninterrupted():  # FORCE: ends the connections of engines still running after an error
            execute(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def commit_rate(dsn: str, *, connections: int, seconds: float) -> float:
    """Commits/s of single-row INSERT + COMMIT loops, one per connection, each in its own thread."""
    execute(dsn, "CREATE TABLE IF NOT EXISTS commits (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)")
    counts = [0] * connections
    start = threading.Barrier(connections + 1)

    def loop(index: int) -> None:
        with psycopg.connect(dsn) as conn:
            start.wait()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                conn.execute("INSERT INTO commits (payload) VALUES (%s)", ('{"data": 1}',))
                conn.commit()
                counts[index] += 1

    threads = [threading.Thread(target=loop, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def dbname(dsn: str) -> str:
    return str(conninfo.conninfo_to_dict(dsn).get("dbname", ""))


def write_position(server: str) -> tuple[int, int]:
    """(transaction ids assigned, WAL bytes written) by the whole server so far.

    Only a transaction that writes is assigned an id, so the difference of two readings counts the
    write transactions in between (plus this call's own), each one commit that waits for its WAL flush.
    """
    with psycopg.connect(server, autocommit=True) as conn:
        row = conn.execute("SELECT txid_current(), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


class WaitSampler:
    """Samples `pg_stat_activity` of one database every `SAMPLE_SECONDS` in a thread, while running.

    Each sample counts the backends by state and wait event (`active: Lock/advisory`, `idle in transaction:
    Client/ClientRead`, ...); `mean()` gives the mean count of each per sample over a window.
    """

    QUERY = (
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'"
    )

    def __init__(self, server: str, dbname: str) -> None:
        self.server = server  # not the database sampled, whose transaction counts stay the engines' own
        self.dbname = dbname
        self.samples: list[tuple[float, Counter[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as conn:
            while not self._stop.wait(SAMPLE_SECONDS):
                rows = conn.execute(self.QUERY, (self.dbname,)).fetchall()
                found = Counter(
                    f"{state}: {kind}/{event}" if kind else f"{state}: on CPU" for state, kind, event in rows
                )
                self.samples.append((time.time(), found))

    def mean(self, start: float, end: float) -> dict[str, float]:
        """Mean backends per sample in each state from `start` to `end` (`time.time()`), most frequent first."""
        window = [found for at, found in self.samples if start <= at <= end]
        total: Counter[str] = Counter()
        for found in window:
            total.update(found)
        return {what: count / len(window) for what, count in total.most_common()}


def guarded(work: Callable[[], T], work_dir: Path) -> T | int:
    """`procs.guarded`, and exit code 1 with the server named when PostgreSQL cannot be reached."""
    try:
        return procs.guarded(work, work_dir)
    except psycopg.OperationalError as err:
        print(f"error: PostgreSQL at {describe(server_dsn())}: {err}; set ${ENV} to a server's DSN", file=sys.stderr)
        return 1
