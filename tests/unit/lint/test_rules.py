"""Each rule: code it must flag, and near misses it must not (inside a step, helpers, shadowed names, aliases)."""

from __future__ import annotations

import pytest

from stepstone.lint.rules import RULES
from tests.unit.lint.helpers import PRELUDE, codes, in_function


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rules_wrong_example_is_flagged_and_its_right_one_is_clean(code: str) -> None:
    rule = RULES[code]
    assert code in codes(rule.wrong), rule.wrong
    assert codes(rule.right) == [], rule.right


FLAGGED = [
    ("STP001", "now = datetime.now()"),
    ("STP001", "now = datetime_module.datetime.utcnow()"),
    ("STP001", "today = datetime_module.date.today()"),
    ("STP001", "started = time.monotonic()"),
    ("STP001", "import time as t\nx = t.time()"),
    ("STP001", "from datetime import datetime as dt\nx = dt.now()"),
    ("STP001", "if time.time() > 5:\n    await ctx.step.run('a', lambda: 1)"),
    ("STP002", "n = random.randint(1, 6)"),
    ("STP002", "token = uuid.uuid4().hex"),
    ("STP002", "salt = os.urandom(8)"),
    ("STP002", "import secrets\ntoken = secrets.token_hex()"),
    ("STP003", "page = httpx.get('https://example.com')"),
    ("STP003", "async with httpx.AsyncClient() as http:\n    await http.get('https://example.com')"),
    ("STP003", "import requests\nrequests.post('https://example.com')"),
    ("STP003", "import urllib.request\nurllib.request.urlopen('https://example.com')"),
    ("STP004", "import sqlite3\nconn = sqlite3.connect('db')"),
    ("STP004", "rows = cursor.execute('select 1')"),
    ("STP004", "db.session.commit()"),
    ("STP004", "orders = Order.objects.filter(paid=True)"),
    ("STP005", "text = open('a.txt').read()"),
    ("STP005", "Path('a.txt').write_text('x')"),
    ("STP005", "os.remove('a.txt')"),
    ("STP005", "import shutil\nshutil.rmtree('build')"),
    ("STP006", "time.sleep(1)"),
    ("STP006", "await asyncio.sleep(1)"),
    ("STP007", "subprocess.run(['ls'])"),
    ("STP007", "import threading\nthreading.Thread(target=print).start()"),
    ("STP007", "await asyncio.to_thread(print)"),
    ("STP007", "loop = asyncio.get_running_loop()\nawait loop.run_in_executor(None, print)"),
    ("STP007", "from concurrent.futures import ThreadPoolExecutor\nThreadPoolExecutor()"),
    ("STP008", "ctx.step.run('a', lambda: 1)"),
    ("STP008", "step = ctx.step\nstep.sleep('nap', '1s')"),
    ("STP008", "ctx.step.send_event('s', stepstone.Event(name='x'))"),
    ("STP009", "asyncio.create_task(asyncio.sleep(0))"),
    ("STP009", "async def h() -> None:\n    asyncio.ensure_future(asyncio.sleep(0))\nawait ctx.step.run('a', h)"),
    ("STP010", "client.send(stepstone.Event(name='x'))"),
    ("STP010", "async def h() -> None:\n    client.send(stepstone.Event(name='x'))\nawait ctx.step.run('a', h)"),
    ("STP011", "await client.send(stepstone.Event(name='x'))"),
    ("STP012", "await ctx.step.run('a', lambda: ctx.step.run('b', lambda: 1))"),
    ("STP012", "async def h() -> None:\n    await ctx.step.sleep('nap', '1s')\nawait ctx.step.run('a', h)"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept:\n    pass"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept (ValueError, BaseException):\n    pass"),
    ("STP014", "with contextlib.suppress(BaseException):\n    await ctx.step.run('a', lambda: 1)"),
    ("STP016", "await ctx.step.run(f'a-{time.time()}', lambda: 1)"),
    ("STP016", "await ctx.step.run('a-' + str(uuid.uuid4()), lambda: 1)"),
    ("STP016", "await ctx.step.run(f'a-{id(ctx)}', lambda: 1)"),
    ("STP016", "await ctx.step.sleep(step_id=f'nap-{random.random()}', duration='1s')"),
    ("STP019", "async def fetch() -> int:\n    return 1\nawait ctx.step.run('a', await fetch())"),
    ("STP019", "def fetch() -> int:\n    return 1\nawait ctx.step.run('a', fetch())"),
    ("STP023", "print('hello')"),
    ("STP023", "logging.info('hello')"),
    ("STP023", "log.warning('hello')"),
]


@pytest.mark.parametrize(("code", "body"), FLAGGED)
def test_flags(code: str, body: str) -> None:
    assert code in codes(in_function(body), code)


NOT_FLAGGED = [
    # the same calls inside a step handler: a lambda, an inner def, a module function by name
    ("STP001", "await ctx.step.run('now', lambda: datetime.now().isoformat())"),
    ("STP001", "def stamp() -> str:\n    return datetime.now().isoformat()\nawait ctx.step.run('now', stamp)"),
    ("STP002", "await ctx.step.run('id', lambda: str(uuid.uuid4()))"),
    ("STP003", "await ctx.step.run('get', lambda: httpx.get('https://example.com').text)"),
    ("STP004", "await ctx.step.run('q', lambda: cursor.execute('select 1').fetchall())"),
    ("STP005", "await ctx.step.run('read', lambda: Path('a.txt').read_text())"),
    ("STP006", "async def h() -> None:\n    await asyncio.sleep(1)\nawait ctx.step.run('a', h)"),
    ("STP007", "await ctx.step.run('ls', lambda: subprocess.run(['ls']).returncode)"),
    ("STP011", "async def h() -> None:\n    await client.send(stepstone.Event(name='x'))\nawait ctx.step.run('a', h)"),
    ("STP023", "await ctx.step.run('p', lambda: print('once'))"),
    # a helper that is not a handler is not followed
    ("STP001", "def helper() -> float:\n    return time.time()"),
    ("STP012", "async def helper() -> None:\n    await ctx.step.run('b', lambda: 1)\nawait helper()"),
    # shadowed names
    ("STP001", "time = ctx.event.data\nx = time.time()"),
    ("STP001", "def work(datetime: object) -> None:\n    datetime.now()\nawait ctx.step.run('a', work, 1)"),
    ("STP005", "open = ctx.event.data.get\nx = open('a')"),
    ("STP011", "client = object()\nclient.send(1)"),
    ("STP023", "log = ctx.logger\nlog.info('x')"),
    # near misses of each rule
    ("STP001", "stamp = datetime.fromisoformat(ctx.event.data['at'])"),
    ("STP002", "rng = random.Random(42)"),
    ("STP003", "timeout = httpx.Timeout(5)"),
    ("STP004", "rows = payload.execute"),
    ("STP004", "ctx.logger.info('query')"),
    ("STP006", "await ctx.step.sleep('nap', timedelta(seconds=1))"),
    ("STP008", "await ctx.step.run('a', lambda: 1)"),
    ("STP008", "result = await ctx.group.parallel((lambda: ctx.step.run('a', lambda: 1),))"),
    ("STP009", "task = asyncio.create_task(asyncio.sleep(0))\nawait task"),
    ("STP010", "await ctx.step.run('s', lambda: client.send(stepstone.Event(name='x')))"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept Exception:\n    pass"),
    ("STP014", "try:\n    await ctx.step.run('a', lambda: 1)\nexcept BaseException:\n    raise"),
    ("STP014", "try:\n    x = 1\nexcept:\n    pass"),
    ("STP016", "for n in range(3):\n    await ctx.step.run(f'a-{n}', lambda: 1)"),
    ("STP016", "await ctx.step.run(f\"a-{ctx.event.data['id']}\", lambda: 1)"),
    ("STP019", "import functools\nawait ctx.step.run('a', functools.partial(print, 1))"),
    ("STP019", "def make():\n    return lambda: 1\nawait ctx.step.run('a', make())"),
    ("STP023", "ctx.logger.info('hello')"),
]


@pytest.mark.parametrize(("code", "body"), NOT_FLAGGED)
def test_does_not_flag(code: str, body: str) -> None:
    assert codes(in_function(body), code) == []


def test_sync_functions() -> None:
    assert codes(in_function("ctx.step.run('a', lambda: 1)", sync=True)) == []  # sync steps return values
    assert codes(in_function("client.send_sync(stepstone.Event(name='x'))", sync=True)) == ["STP011"]
    assert codes(in_function("time.sleep(1)", sync=True)) == ["STP006"]


def test_sync_async_mismatch() -> None:
    wrong_sync = in_function("ctx.step.run('a', lambda: 1)", sync=True).replace("ContextSync", "Context")
    wrong_async = in_function("await ctx.step.run('a', lambda: 1)").replace("Context", "ContextSync")
    assert codes(wrong_sync) == ["STP026"]
    assert codes(wrong_async) == ["STP026"]
    assert codes(in_function("ctx.step.run('a', lambda: 1)", sync=True)) == []


def test_prelude_alone_is_clean() -> None:
    assert codes("") == [] and "client" in PRELUDE
