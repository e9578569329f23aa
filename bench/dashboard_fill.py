"""A big history for the dashboard benchmark, written straight into the store's tables.

`plan_history` decides every run (function, status, times, steps) from a seed; `fill` writes them with the
driver's bulk path (`executemany` in one SQLite transaction, `COPY` on PostgreSQL), into a store whose schema
and `apps`/`functions` rows the engine made by syncing `bench.dashboard_app`. What goes in is what the engine
itself writes for such runs (row by row the same columns and JSON shapes, see `runs/transitions.py` and
`runs/lifecycle.py`):

- runs spread evenly over the last `days` days, by the functions' shares (`dashboard_app.FUNCTIONS`); older
  than a few hours they have ended, Completed, Failed (the failing step's attempts, with tracebacks) or
  Cancelled; recent `process-order` runs wait for an event (a pause and its timeout) and `weekly-digest` runs
  sleep (a wake-up item), both due hours after the fill; recent `sync-inventory` runs are Queued behind their
  throttle (a limiter row, queue items due in an hour), so nothing falls due while the pages are measured;
- steps: each run's `step.run`s with their outputs, sleeps and waits, `steps` in all, one run of
  `big_run_steps` steps among them;
- events: each run's trigger, the `inngest/function.finished` (and `.failed` / `.cancelled`) event each ended
  run emits, idempotent duplicates with their skips, and events no function listens to; numbered in the
  order they were received; the `nightly-report` cron runs with their `inngest/scheduled.timer` events.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from ulid import ULID

from bench import dashboard_app
from bench.procs import progress

DAY_MS = 86_400_000
MINUTE_MS = 60_000
CHUNK = 5_000  # runs per batch of rows written
CRON = "TZ=UTC 0 2 * * *"
IDEMPOTENT = "idempotent duplicate: the function's idempotency key was seen within 24 h"
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/shop/payments.py", line 88, in charge\n'
    "    receipt = await gateway.charge(account, amount)\n"
    '  File "/srv/shop/gateway.py", line 41, in charge\n    raise CardDeclined(reply.reason)\n'
    "payments.CardDeclined: the card was declined (insufficient funds)\n"
)

RUN_COLUMNS = (
    "id, function_id, function_slug, function_version, app_version, event_id, status, reason, output, created_at, "
    "started_at, ended_at, parent, cron, batch_id, original_run_id, force_plan, request_version, pending, "
    "constraints, change_seq"
)
TABLES: dict[str, str] = {
    "events": "seq, internal_id, name, user_id, payload, ts, received_at, source",
    "runs": RUN_COLUMNS,
    "run_events": "run_id, position, event_seq",
    "steps": "run_id, hashed_id, user_id, idx, op, status, memo, size, finished_seq, started_at, ended_at, attempts",
    "attempts": "run_id, step_id, attempt, error, at, user_id",
    "queue": "id, kind, run_id, function_id, target, payload, run_at, priority, constraints, attempt, attempt_step, "
    "generation, job_key, created_at, partition, score",
    "pauses": "id, run_id, kind, step_id, event_name, expression, correlation_id, trigger_event, min_seq, expires_at, "
    "created_at",
    "skips": "event_internal_id, function_id, function_slug, reason, at",
    "limiters": "key, tat, expires_at",
}
Row = tuple[Any, ...]
HEAD = "SELECT change_seq, id FROM runs ORDER BY change_seq DESC, id DESC LIMIT 1"


@dataclass(frozen=True)
class Scale:
    runs: int = 100_000
    steps: int = 1_000_000
    days: int = 30
    big_run_steps: int = 1_000
    seed: int = 13


@dataclass(frozen=True)
class Function:
    """A function as the engine stored it at the sync."""

    id: str
    slug: str
    version: int


@dataclass
class Run:
    """One run of the history, decided before any row is written."""

    id: str
    fn: str  # the key in `dashboard_app.FUNCTIONS`
    status: str
    created: int
    steps: int  # step.run calls (sleeps and waits come on top)
    data: dict[str, Any]
    event_id: str
    ended: int | None = None
    waits: str | None = None  # "sleep" / "wait": Running, asleep or waiting now
    failed_at: int | None = None  # index of the failing step
    event_seq: int = 0
    change_seq: int = 0
    times: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of each step


class Ids:
    """ULIDs of given milliseconds, increasing within one millisecond, as `core.ids` makes them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.last = 0

    def new(self, millis: int) -> str:
        value = (millis << 80) | self.rng.getrandbits(80)
        if value >> 80 == self.last >> 80 and value <= self.last:
            value = self.last + 1
        self.last = max(self.last, value)
        return str(ULID.from_int(value))


def step_hash(user_id: str, _cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate memo
    found = _cache.get(user_id)
    if found is None:
        found = _cache[user_id] = hashlib.sha1(user_id.encode()).hexdigest()
    return found


def event_data(fn: str, index: int, rng: random.Random) -> dict[str, Any]:
    """What a trigger event of `fn` carries; account ids are skewed (a few big customers)."""
    account = f"a-{int(rng.paretovariate(1.2)) % 500}"
    if fn in ("process-order", "fraud-check"):
        return {"order_id": f"O-{index:06d}", "account_id": account, "amount": round(rng.uniform(5, 400), 2)}
    if fn == "send-receipt":
        return {"order_id": f"O-{index:06d}", "account_id": account, "reference": f"ch_{index:08x}"}
    if fn == "sync-inventory":
        return {"warehouse": f"w-{rng.randrange(8)}", "sku": f"sku-{rng.randrange(5000)}", "delta": rng.randint(-9, 30)}
    if fn == "charge-subscription":
        return {"subscription_id": f"sub-{index:06d}", "account_id": account, "plan": rng.choice(["basic", "pro"])}
    if fn == "import-catalog":
        return {"account_id": account, "rows": 40, "file": f"s3://catalogs/{account}/{index}.csv"}
    if fn == "send-email":
        return {"to": f"user{index % 9000}@example.com", "template": "receipt", "urgent": rng.random() < 0.05}
    if fn == "weekly-digest":
        return {"account_id": account, "week": 49}
    return {"cron": CRON}


def plan_history(scale: Scale, now: int) -> list[Run]:
    """Every run of the history, oldest first, with its status, times and step count."""
    rng = random.Random(scale.seed)
    ids = Ids(rng)
    names = [name for name in dashboard_app.FUNCTIONS if name != "nightly-report"]
    weights = [dashboard_app.FUNCTIONS[name].share for name in names]
    span = scale.days * DAY_MS
    crons = [now - day * DAY_MS - (now % DAY_MS) + 2 * 3_600_000 for day in range(1, scale.days)]
    crons = [at for at in crons if at > now - span][: scale.runs // 1000]
    created = sorted([now - rng.randrange(span) for _ in range(scale.runs - len(crons))] + crons)
    cron_set = set(crons)
    big_at = now - 2 * DAY_MS
    big_index = bisect.bisect_left(created, big_at) if scale.runs >= 10 else -1
    runs = []
    for index, at in enumerate(created):
        fn = "nightly-report" if at in cron_set else rng.choices(names, weights)[0]
        if index == big_index:
            fn = dashboard_app.BIG_RUN_FUNCTION
        data = event_data(fn, index, rng)
        event_id = ids.new(at)
        run = Run(ids.new(at), fn, "Completed", at, 0, data, event_id)
        decide(run, rng, now)
        if index == big_index:
            run.status, run.steps, run.failed_at = "Completed", scale.big_run_steps, None
            run.data["rows"] = scale.big_run_steps
        runs.append(run)
    fit_steps(runs, scale, rng, big_index)
    for run in runs:
        timeline(run, rng, now)
    return runs


def decide(run: Run, rng: random.Random, now: int) -> None:
    """Status and step count of a run, by its function's shape and its age."""
    shape = dashboard_app.FUNCTIONS[run.fn]
    age = now - run.created
    run.steps = max(1, round(rng.gauss(shape.steps, shape.steps / 4))) if run.fn == "import-catalog" else shape.steps
    if shape.waits == "sleep":
        run.steps -= 1
    if shape.waits == "wait":
        run.steps -= 2
    if shape.waits and 20 * MINUTE_MS < age < 20 * 3_600_000 and rng.random() < 0.5:
        run.status, run.waits = "Running", shape.waits
        return
    if shape.queued and age < 2 * 3_600_000 and rng.random() < 0.5:
        run.status = "Queued"
        return
    draw = rng.random()
    if draw < shape.failed:
        run.status, run.failed_at = "Failed", rng.randrange(run.steps)
    elif draw < shape.failed + shape.cancelled:
        run.status, run.failed_at = "Cancelled", rng.randrange(run.steps)


def fit_steps(runs: list[Run], scale: Scale, rng: random.Random, big_index: int) -> None:
    """Make the step rows add up to `scale.steps`, by lengthening or shortening `import-catalog` runs."""
    total = sum(step_rows(run) for run in runs)
    flexible = [
        run
        for index, run in enumerate(runs)
        if run.fn == "import-catalog" and run.status == "Completed" and index != big_index
    ]
    if not flexible:
        return
    gap = scale.steps - total
    while gap:
        run = flexible[rng.randrange(len(flexible))]
        if gap > 0:
            run.steps += 1
            gap -= 1
        elif run.steps > 1:
            run.steps -= 1
            gap += 1
        elif all(other.steps <= 1 for other in flexible):
            return


def step_rows(run: Run) -> int:
    """How many step rows a run has: steps run (up to the failing one), plus its sleep and wait."""
    if run.status == "Queued":
        return 0
    waits = {"sleep": 1, "wait": 2}.get(dashboard_app.FUNCTIONS[run.fn].waits or "", 0)
    if run.waits:
        return 1 if run.waits == "sleep" else 2
    done = run.steps if run.failed_at is None else run.failed_at + (1 if run.status == "Failed" else 0)
    return waits + done


def timeline(run: Run, rng: random.Random, now: int) -> None:
    """Each step's (start, end) and the run's end: tens of ms a step, retries minutes apart."""
    if run.status == "Queued":
        return
    at = run.created + rng.randint(2, 40)
    shape = dashboard_app.FUNCTIONS[run.fn]
    if shape.waits == "sleep":
        wake = at + DAY_MS
        run.times.append((at, wake))
        at = wake + rng.randint(2, 40)
    elif shape.waits == "wait":
        woke = at + 10 * MINUTE_MS
        run.times.append((at, woke))
        shipped = woke + rng.randint(MINUTE_MS, 6 * 3_600_000)
        run.times.append((woke + 3, shipped))
        at = shipped + rng.randint(2, 40)
    if run.waits:
        run.times[-1] = (run.times[-1][0], 0)
        run.times = run.times[: 1 if run.waits == "sleep" else 2]
        return
    for index in range(step_rows(run) - len(run.times)):
        took = rng.randint(2, 120)
        if run.status == "Failed" and index == run.failed_at:
            took += 15_000 + 30_000 + 60_000  # three retries, Inngest's backoff
        run.times.append((at, at + took))
        at += took + rng.randint(1, 5)
    if run.status == "Cancelled":
        at += rng.randint(MINUTE_MS, 30 * MINUTE_MS)
    run.ended = min(at + rng.randint(1, 5), now - 1)


# -- rows --------------------------------------------------------------------------------------------------


def trigger_event(run: Run) -> dict[str, Any]:
    name = dashboard_app.FUNCTIONS[run.fn].event or "inngest/scheduled.timer"
    return {"name": name, "data": run.data, "id": run.event_id, "ts": run.created, "user": {}}


def output(run: Run) -> Any:
    if run.status == "Completed":
        return sum(range(run.steps))
    if run.status == "Failed":
        return error_body(run)
    return None


def error_body(run: Run) -> dict[str, Any]:
    account = run.data.get("account_id", "a-0")
    return {"name": "CardDeclined", "message": f"the card of {account} was declined", "stack": TRACEBACK}


def event_rows(runs: Sequence[Run], scale: Scale, now: int, fns: dict[str, Function]) -> tuple[list[Row], list[Row]]:
    """Every event, numbered in the order received, and the skips recorded for some; sets each run's
    `event_seq`."""
    rng = random.Random(scale.seed + 1)
    ids = Ids(rng)
    arrivals: list[tuple[int, int, Any]] = []  # (received_at, order, what)
    for order, run in enumerate(runs):
        arrivals.append((run.created, order, run))
        if run.ended is not None:
            arrivals.append((run.ended, order, ("finished", run)))
    for index in range(scale.runs // 10):  # events no function listens to
        at = now - rng.randrange(scale.days * DAY_MS)
        arrivals.append((at, -1, ("other", {"cart": f"c-{index}", "items": index % 7})))
    subscriptions = [run for run in runs if run.fn == "charge-subscription"]
    for run in subscriptions[:: max(1, len(subscriptions) * 30 // max(1, scale.runs))]:
        arrivals.append((run.created + 2_000, -2, ("duplicate", run)))  # a renewal sent twice: skipped
    arrivals.sort(key=lambda entry: (entry[0], entry[1]))
    events: list[Row] = []
    skips: list[Row] = []
    subscription = fns["charge-subscription"]
    for at, _, what in arrivals:
        if isinstance(what, Run):
            what.event_seq = len(events) + 1
            events.append(event_row(len(events) + 1, what.event_id, trigger_event(what), at))
        elif what[0] == "finished":
            for event_id, payload in finished_events(what[1], ids, fns):
                events.append(event_row(len(events) + 1, ids.new(at), payload, at, user_id=event_id))
        elif what[0] == "duplicate":
            internal = ids.new(at)
            payload = {**trigger_event(what[1]), "id": internal, "ts": at}
            events.append(event_row(len(events) + 1, internal, payload, at))
            skips.append((internal, subscription.id, subscription.slug, IDEMPOTENT, at))
        else:
            internal = ids.new(at)
            payload = {"name": "shop/cart.viewed", "data": what[1], "id": internal, "ts": at, "user": {}}
            events.append(event_row(len(events) + 1, internal, payload, at))
    return events, skips


def event_row(seq: int, internal_id: str, payload: dict[str, Any], at: int, *, user_id: str = "") -> Row:
    """An `events` row; `user_id` is the event's own `id` where it has one that differs (system events)."""
    return (seq, internal_id, payload["name"], user_id, orjson.dumps(payload).decode(), at, at, "api")


def finished_events(run: Run, ids: Ids, fns: dict[str, Function]) -> list[tuple[str, dict[str, Any]]]:
    """The system events an ended run emits (`lifecycle._system_events`), as (event id, payload)."""
    assert run.ended is not None
    data: dict[str, Any] = {
        "function_id": fns[run.fn].slug,
        "run_id": run.id,
        "event": trigger_event(run),
        "events": [trigger_event(run)],
        "_inngest": {"status": run.status},
    }
    if run.status == "Completed":
        data["result"] = output(run)
    else:
        data["error"] = error_body(run) if run.status == "Failed" else {"error": "function cancelled"}
    found = [("inngest/function.finished", ids.new(run.ended))]
    if run.status != "Completed":
        found.append((f"inngest/function.{run.status.lower()}", run.id))
    return [(event_id, {"name": name, "data": data, "id": event_id, "ts": run.ended}) for name, event_id in found]


def run_rows(run: Run, fn: Function, now: int) -> Row:
    pending = {}
    constraints = "{}"
    if run.waits:
        step = "until-monday" if run.waits == "sleep" else "wait-for-shipping"
        pending = {step_hash(step): "wait"}
    if run.status == "Queued":
        constraints = orjson.dumps({"throttle": throttle(run)}).decode()
    started = None if run.status == "Queued" else run.times[0][0] - 1 if run.times else run.created
    out = output(run)
    reason = "cancelled by event shop/order.cancelled" if run.status == "Cancelled" else None
    return (
        run.id, fn.id, fn.slug, fn.version, None, run.event_id, run.status, reason,
        None if out is None else orjson.dumps(out).decode(), run.created, started, run.ended, None,
        CRON if run.fn == "nightly-report" else None, None, None, False, 2 if started else -1,
        orjson.dumps(pending).decode(), constraints, run.change_seq,
    )  # fmt: skip


def throttle(run: Run) -> dict[str, Any]:
    return {"key": f"throttle:{run.fn}:{run.data.get('warehouse')}", "limit": 10, "period_ms": MINUTE_MS, "burst": 1}


def step_rows_of(run: Run) -> Iterator[Row]:
    """The run's step rows, in the order they were saved."""
    shape = dashboard_app.FUNCTIONS[run.fn]
    names: list[tuple[str, str]] = []
    if shape.waits == "sleep":
        names.append(("until-monday", "Sleep"))
    elif shape.waits == "wait":
        names += [("cooling-off", "Sleep"), ("wait-for-shipping", "WaitForEvent")]
    names += [(f"step-{index}", "StepRun") for index in range(len(run.times) - len(names))]
    finished = 0
    for position, ((user_id, op), (start, end)) in enumerate(zip(names, run.times, strict=False)):
        memo: str | None = step_memo(run, user_id, op, position)
        status, attempts = "Completed", 1
        if end == 0:
            status, memo = ("Sleeping" if op == "Sleep" else "Waiting"), None
        elif run.status == "Failed" and position == len(run.times) - 1:
            status, memo, attempts = "Failed", orjson.dumps({"error": error_body(run)}).decode(), 4
        if memo is not None:
            finished += 1
        yield (
            run.id, step_hash(user_id), user_id, 0, op, status, memo, len(memo.encode()) if memo else 0,
            finished if memo is not None else None, start, end or None, attempts,
        )  # fmt: skip


def step_memo(run: Run, user_id: str, op: str, position: int) -> str:
    if op == "Sleep":
        return "null"
    if op == "WaitForEvent":
        order = run.data.get("order_id")
        shipped = {"name": "shop/order.shipped", "data": {"order_id": order, "carrier": "ups"}, "ts": run.created}
        return orjson.dumps(shipped).decode()
    index = int(user_id.rsplit("-", 1)[1])
    if run.fn == "import-catalog":
        value: Any = {"row": index, "sku": f"sku-{index:05d}", "price": round(9.5 + index % 50, 2), "ok": True}
    else:
        value = index
    return orjson.dumps({"data": value}).decode()


def attempt_rows(run: Run) -> list[Row]:
    if run.status != "Failed":
        return []
    user_id = f"step-{run.failed_at}"
    error = orjson.dumps(error_body(run)).decode()
    start, _ = run.times[-1]
    delays = (0, 15_000, 45_000, 105_000)
    return [(run.id, step_hash(user_id), attempt, error, start + delays[attempt] + 50, user_id) for attempt in range(4)]


def live_rows(run: Run, fn: Function, ids: Ids, now: int) -> tuple[list[Row], list[Row]]:
    """(queue items, pauses) of a run that has not ended."""
    if run.status == "Queued":
        due = now + 3_600_000 + (run.created % 3_600_000)  # behind its throttle, due after the measurements
        payload = orjson.dumps({"throttle": throttle(run)}).decode()
        return [queue_row(ids.new(run.created), "call", run, fn, "", payload, due, None, run.created, "")], []
    start = run.times[-1][0]
    if run.waits == "sleep":
        target = step_hash("until-monday")
        key = f"{run.id}:wake:{target}"
        return [queue_row(ids.new(start), "wake", run, fn, target, "{}", start + DAY_MS, key, start, "~timers")], []
    trigger = orjson.dumps(trigger_event(run)).decode()
    condition = "async.data.order_id == event.data.order_id"
    pause_id, expires = ids.new(start), start + DAY_MS
    wait = step_hash("wait-for-shipping")
    year = run.created + 365 * DAY_MS
    cancel_id, seq = ids.new(run.created), run.event_seq
    pauses = [
        (pause_id, run.id, "wait", wait, "shop/order.shipped", condition, None, trigger, seq, expires, start),
        (cancel_id, run.id, "cancel", "", "shop/order.cancelled", condition, None, trigger, seq, year, run.created),
    ]
    payload = orjson.dumps({"pause_id": pause_id}).decode()
    timeout = queue_row(ids.new(start), "pause-timeout", run, fn, "", payload, expires, f"{pause_id}:timeout", start)
    return [timeout], pauses


def queue_row(
    item_id: str,
    kind: str,
    run: Run,
    fn: Function,
    target: str,
    payload: str,
    due: int,
    key: str | None,
    created: int,
    partition: str = "~timers",
) -> Row:
    """A `queue` row, unleased; its score is its due time (no priority)."""
    return (item_id, kind, run.id, fn.id, target, payload, due, 0, "[]", 0, "", 0, key, created, partition, due)


# -- writing -------------------------------------------------------------------------------------------------


class Writer:
    """Bulk inserts into one store; `functions` reads what the sync stored."""

    def functions(self) -> dict[str, Function]:
        raise NotImplementedError

    def write(self, table: str, rows: Sequence[Row]) -> None:
        raise NotImplementedError

    def stamp(self) -> int | None:
        """The change-feed stamp of the transaction writing now (PostgreSQL), None where the fill numbers runs."""
        return None

    def commit(self) -> None:
        raise NotImplementedError

    def head(self) -> str:
        """The change feed's cursor after the last change written (`<change_seq>:<run id>`)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def by_name(found: Iterable[tuple[str, str, int]]) -> dict[str, Function]:
    """The synced functions by their key in `dashboard_app.FUNCTIONS` (the slug is `<app>-<key>`)."""
    functions = {}
    for fn_id, slug, version in found:
        key = slug.split("-", 1)[1]
        if key in dashboard_app.FUNCTIONS:
            functions[key] = Function(fn_id, slug, version)
    missing = set(dashboard_app.FUNCTIONS) - set(functions)
    if missing:
        raise RuntimeError(f"the store lacks synced functions: {', '.join(sorted(missing))}")
    return functions


class SqliteWriter(Writer):
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("BEGIN")

    def functions(self) -> dict[str, Function]:
        return by_name(self.db.execute("SELECT id, slug, version FROM functions WHERE archived_at IS NULL"))

    def write(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            columns = TABLES[table]
            marks = ", ".join("?" * len(columns.split(",")))
            self.db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def commit(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("BEGIN")

    def head(self) -> str:
        seq, run_id = self.db.execute(HEAD).fetchone()
        return f"{seq}:{run_id}"

    def close(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("ANALYZE")  # what `PRAGMA optimize` would find on a store this size
        self.db.close()


class PostgresWriter(Writer):
    def __init__(self, dsn: str) -> None:
        import psycopg

        self.db = psycopg.connect(dsn)

    def functions(self) -> dict[str, Function]:
        return by_name(self.db.execute("SELECT id, slug, version FROM functions WHERE archived_at IS NULL").fetchall())

    def write(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            with self.db.cursor().copy(f"COPY {table} ({TABLES[table]}) FROM STDIN".encode()) as copy:
                for row in rows:
                    copy.write_row(row)

    def stamp(self) -> int:
        row = self.db.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
        assert row is not None
        return int(row[0])

    def commit(self) -> None:
        self.db.commit()

    def head(self) -> str:
        row = self.db.execute(HEAD).fetchone()
        assert row is not None
        return f"{row[0]}:{row[1]}"

    def close(self) -> None:
        self.db.execute("SELECT setval(pg_get_serial_sequence('events', 'seq'), (SELECT max(seq) FROM events))")
        self.db.commit()
        self.db.autocommit = True
        self.db.execute("VACUUM ANALYZE")
        self.db.close()


@dataclass
class Filled:
    """What went into the store: counts per table and the runs the benchmark asks for by id."""

    counts: dict[str, int]
    big_run: str
    big_steps: int
    failed_run: str
    sample_event: str
    feed_head: str
    seconds: float


def fill(writer: Writer, scale: Scale, now: int | None = None) -> Filled:
    """Write the history into the store behind `writer`; progress on stderr."""
    started = time.monotonic()
    now = now or int(time.time() * 1000)
    fns = writer.functions()
    runs = plan_history(scale, now)
    progress(f"planned {len(runs):,} runs, {sum(len(run.times) for run in runs):,} steps")
    events, skips = event_rows(runs, scale, now, fns)
    counts = dict.fromkeys(TABLES, 0)
    for start in range(0, len(events), 50_000):
        writer.write("events", events[start : start + 50_000])
    writer.write("skips", skips)
    counts["events"], counts["skips"] = len(events), len(skips)
    writer.commit()
    progress(f"wrote {len(events):,} events ({time.monotonic() - started:.0f} s)")
    number_changes(runs)
    ids = Ids(random.Random(scale.seed + 2))
    for start in range(0, len(runs), CHUNK):
        chunk = runs[start : start + CHUNK]
        tables = chunk_rows(chunk, fns, ids, now, writer.stamp())
        for table, rows in tables.items():
            writer.write(table, rows)
            counts[table] += len(rows)
        writer.commit()
        done = start + len(chunk)
        if done % (CHUNK * 4) == 0 or done == len(runs):
            progress(f"wrote {done:,} runs, {counts['steps']:,} steps ({time.monotonic() - started:.0f} s)")
    limiters = {throttle(run)["key"] for run in runs if run.status == "Queued"}
    writer.write("limiters", [(key, now + 3_600_000, now + 2 * 3_600_000) for key in sorted(limiters)])
    counts["limiters"] = len(limiters)
    writer.commit()
    head = writer.head()
    writer.close()
    big = max(runs, key=lambda run: len(run.times))
    failed = next(run for run in reversed(runs) if run.status == "Failed")
    sample = next(run for run in reversed(runs) if run.status == "Completed")
    return Filled(counts, big.id, len(big.times), failed.id, sample.event_id, head, time.monotonic() - started)


def number_changes(runs: list[Run]) -> None:
    """SQLite's change-feed stamps: 1.. in the order the runs were last written."""
    for seq, run in enumerate(sorted(runs, key=last_write), start=1):
        run.change_seq = seq


def last_write(run: Run) -> int:
    if run.ended is not None:
        return run.ended
    return max([run.created, *(start for start, _ in run.times)])


def chunk_rows(
    chunk: Sequence[Run], fns: dict[str, Function], ids: Ids, now: int, stamp: int | None
) -> dict[str, list[Row]]:
    tables: dict[str, list[Row]] = {name: [] for name in ("runs", "run_events", "steps", "attempts", "queue", "pauses")}
    for run in chunk:
        fn = fns[run.fn]
        if stamp is not None:
            run.change_seq = stamp
        tables["runs"].append(run_rows(run, fn, now))
        tables["run_events"].append((run.id, 0, run.event_seq))
        tables["steps"].extend(step_rows_of(run))
        tables["attempts"].extend(attempt_rows(run))
        if run.status in ("Queued", "Running"):
            queue, pauses = live_rows(run, fn, ids, now)
            tables["queue"].extend(queue)
            tables["pauses"].extend(pauses)
    return tables
